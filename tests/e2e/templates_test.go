package e2e

// The templates of `stk init --template` (issue #18 item 1, SPEC §11, §14),
// each run through the real stk binary: `stk init`, `stk dev` on the
// template's schema.sql, end-user tokens from `stk dev token` for users of
// different roles and orgs, and a scripted set of /call requests — on
// SQLite (stk dev's data.db) and on PostgreSQL (--db) — proving
// what the template's README promises: owner isolation (todo), public
// reads, authors' own posts and a moderator's power (blog), tenant
// isolation and an admin role (saas), and each template's logic.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

// templateStep is one scripted call: who calls (a user key of the
// template's tokens, "key" for stk dev's API key, "" for no credential),
// the request, the status wanted and, for a 200, the values of one column
// of the rows returned, in order (nil: not checked) or the rows affected.
type templateStep struct {
	who    string
	body   string
	status int
	col    string
	want   []string
	// affected, when not -1, is meta.affected (a write).
	affected int
}

// step builds a templateStep without an affected check.
func step(who string, status int, body, col string, want ...string) templateStep {
	return templateStep{who: who, body: body, status: status, col: col, want: want, affected: -1}
}

// write builds a templateStep of a write answered 200 with affected rows.
func write(who, body string, affected int) templateStep {
	return templateStep{who: who, body: body, status: 200, affected: affected}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		template string
		// users are the end users: name → stk dev token arguments after --sub.
		users map[string][]string
		steps []templateStep
	}{
		{
			template: "todo",
			users:    map[string][]string{"alice": nil, "bob": nil},
			steps: []templateStep{
				step("alice", 200, `{"path":"db/main/notes/select"}`, "author", "alice", "alice"),
				step("bob", 200, `{"path":"db/main/notes/select"}`, "body", "Water the plants"),
				step("", 401, `{"path":"db/main/notes/select"}`, ""),
				// Owner isolation: an insert is the caller's, another
				// author is refused, another's rows are out of reach.
				step("bob", 200, `{"path":"db/main/notes/insert","params":{"data":{"body":"Call Alice"}}}`, "author", "bob"),
				step("bob", 403, `{"path":"db/main/notes/insert","params":{"data":{"body":"x","author":"alice"}}}`, ""),
				write("bob", `{"path":"db/main/notes/update","params":{"where":{"id":1},"data":{"body":"mine"}}}`, 0),
				write("bob", `{"path":"db/main/notes/delete","params":{"where":{"id":2}}}`, 0),
				step("key", 200, `{"path":"db/main/notes/select"}`, "author", "alice", "alice", "bob", "bob"),
				// The logic: a write as the caller, an aggregate for
				// API keys only, a private one for nobody.
				write("alice", `{"path":"logics/notes/add","params":{"body":"Read the README"}}`, 1),
				step("alice", 200, `{"path":"db/main/notes/select"}`, "body", "Buy milk", "Call Bob back", "Read the README"),
				step("key", 200, `{"path":"logics/todos/stats"}`, "name", "Ada Lovelace", "Alan Turing"),
				step("alice", 403, `{"path":"logics/todos/stats"}`, ""),
				step("key", 403, `{"path":"logics/_admin/clear-done"}`, ""),
			},
		},
		{
			template: "blog",
			users:    map[string][]string{"alice": nil, "bob": nil, "carol": nil, "mo": {"--role", "moderator"}},
			steps: []templateStep{
				// Public reads: published posts only, and the feed.
				step("", 200, `{"path":"db/main/posts/select"}`, "id", "1", "3"),
				step("", 200, `{"path":"logics/feed"}`, "comments", "1", "2"),
				step("", 200, `{"path":"db/main/comments/select"}`, "author", "bob", "carol", "alice"),
				step("", 401, `{"path":"db/main/posts/insert","params":{"data":{"author":"x","title":"x"}}}`, ""),
				// An author sees their drafts; others do not.
				step("alice", 200, `{"path":"db/main/posts/select"}`, "id", "1", "2", "3"),
				step("bob", 200, `{"path":"db/main/posts/select"}`, "id", "1", "3"),
				// Authors write their own posts only.
				step("alice", 200, `{"path":"db/main/posts/insert","params":{"data":{"author":"alice","title":"New"}}}`, "id", "4"),
				step("bob", 403, `{"path":"db/main/posts/insert","params":{"data":{"author":"alice","title":"Forged"}}}`, ""),
				write("bob", `{"path":"db/main/posts/update","params":{"where":{"id":1},"data":{"title":"Mine now"}}}`, 0),
				write("bob", `{"path":"db/main/posts/delete","params":{"where":{"id":1}}}`, 0),
				write("alice", `{"path":"db/main/posts/update","params":{"where":{"id":1},"data":{"title":"Hello again"}}}`, 1),
				step("alice", 403, `{"path":"db/main/posts/update","params":{"where":{"id":1},"data":{"author":"bob"}}}`, ""),
				step("alice", 200, `{"path":"logics/posts/mine"}`, "id", "4", "2", "1"),
				step("", 401, `{"path":"logics/posts/mine"}`, ""),
				// Moderators by role: every post, drafts included.
				step("mo", 200, `{"path":"db/main/posts/select"}`, "id", "1", "2", "3", "4"),
				write("mo", `{"path":"db/main/posts/update","params":{"where":{"id":2},"data":{"published":true}}}`, 1),
				step("", 200, `{"path":"db/main/posts/select"}`, "id", "1", "2", "3"),
				write("mo", `{"path":"db/main/posts/delete","params":{"where":{"id":3}}}`, 1),
				// Comments: anyone reads, each writes and deletes their own.
				step("carol", 200, `{"path":"db/main/comments/insert","params":{"data":{"post_id":1,"author":"carol","body":"Again"}}}`, "author", "carol"),
				step("carol", 403, `{"path":"db/main/comments/insert","params":{"data":{"post_id":1,"author":"bob","body":"Forged"}}}`, ""),
				step("carol", 403, `{"path":"db/main/comments/update","params":{"where":{"id":2},"data":{"body":"x"}}}`, ""),
				write("bob", `{"path":"db/main/comments/delete","params":{"where":{"author":"carol"}}}`, 0),
				write("mo", `{"path":"db/main/comments/delete","params":{"where":{"author":"carol"}}}`, 2),
			},
		},
		{
			template: "saas",
			users: map[string][]string{
				"alice": {"--claim", "org=acme"},
				"ada":   {"--claim", "org=acme", "--role", "admin"},
				"gina":  {"--claim", "org=globex", "--role", "admin"},
				"eve":   nil, // no org claim
			},
			steps: []templateStep{
				// Tenant isolation by the org claim.
				step("alice", 200, `{"path":"db/main/tasks/select"}`, "org", "acme", "acme", "acme"),
				step("gina", 200, `{"path":"db/main/tasks/select"}`, "title", "Book the venue"),
				step("eve", 200, `{"path":"db/main/tasks/select"}`, "id"),
				step("", 401, `{"path":"db/main/tasks/select"}`, ""),
				step("alice", 200, `{"path":"db/main/tasks/select","params":{"where":{"org":"globex"}}}`, "id"),
				step("alice", 200, `{"path":"db/main/tasks/insert","params":{"data":{"org":"acme","project_id":2,"title":"Push notifications"}}}`, "id", "5"),
				step("alice", 403, `{"path":"db/main/tasks/insert","params":{"data":{"org":"globex","project_id":3,"title":"Sneak in"}}}`, ""),
				step("alice", 409, `{"path":"db/main/tasks/insert","params":{"data":{"org":"acme","project_id":3,"title":"Sneak in"}}}`, ""),
				write("alice", `{"path":"db/main/tasks/update","params":{"where":{"id":4},"data":{"done":true}}}`, 0),
				write("alice", `{"path":"db/main/tasks/update","params":{"where":{"id":3},"data":{"done":true}}}`, 1),
				step("alice", 403, `{"path":"db/main/tasks/update","params":{"where":{"id":3},"data":{"org":"globex"}}}`, ""),
				// The admin role: projects and deletes.
				step("alice", 403, `{"path":"db/main/projects/insert","params":{"data":{"org":"acme","name":"X"}}}`, ""),
				step("alice", 403, `{"path":"db/main/tasks/delete","params":{"where":{"id":1}}}`, ""),
				step("ada", 200, `{"path":"db/main/projects/insert","params":{"data":{"org":"acme","name":"Docs"}}}`, "name", "Docs"),
				step("ada", 403, `{"path":"db/main/projects/insert","params":{"data":{"org":"globex","name":"Takeover"}}}`, ""),
				write("gina", `{"path":"db/main/tasks/delete","params":{"where":{"id":1}}}`, 0),
				write("ada", `{"path":"db/main/tasks/delete","params":{"where":{"id":1}}}`, 1),
				step("eve", 403, `{"path":"db/main/projects/insert","params":{"data":{"org":"acme","name":"X"}}}`, ""),
				// The aggregate logic: admins only, each their own org.
				step("ada", 200, `{"path":"logics/org/summary"}`, "tasks", "1", "2", "0"),
				step("ada", 200, `{"path":"logics/org/summary"}`, "done", "0", "1", "0"),
				step("gina", 200, `{"path":"logics/org/summary"}`, "name", "Launch"),
				step("alice", 403, `{"path":"logics/org/summary"}`, ""),
				// stk dev's API key (roles admin, service): reads every
				// org, writes none (it has no org claim).
				step("key", 200, `{"path":"db/main/projects/select"}`, "org", "acme", "acme", "globex", "acme"),
				step("key", 403, `{"path":"db/main/projects/insert","params":{"data":{"org":"acme","name":"X"}}}`, ""),
			},
		},
	} {
		for _, engine := range []string{"sqlite", "postgres"} {
			t.Run(tc.template+"/"+engine, func(t *testing.T) {
				t.Parallel()
				runTemplate(t, tc.template, engine, tc.users, tc.steps)
			})
		}
	}
}

// runTemplate copies a template with stk init, serves it with stk dev — on
// its schema.sql in SQLite, or with --db on a PostgreSQL database made from
// its schema.postgres.sql — and runs the steps.
func runTemplate(t *testing.T, template, engine string, users map[string][]string, steps []templateStep) {
	dir := t.TempDir()
	stkIn(t, dir, "init", ".", "--template", template)
	var d *stkDev
	if engine == "postgres" {
		d = startStkDev(t, dir, templateOnPostgres(t, filepath.Join(dir, "schema.postgres.sql")), "--db-stdin")
	} else {
		d = startStkDev(t, dir, "")
	}
	t.Cleanup(func() {
		// On failure, the servers' errors say why (dev.log: JSON lines).
		if b, err := os.ReadFile(filepath.Join(dir, ".santokit", "dev.log")); err == nil && t.Failed() {
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
					t.Log(l)
				}
			}
		}
	})
	headers := map[string]map[string]string{
		"":    {"X-Santokit-Project": "dev", "X-Santokit-Env": "dev"},
		"key": {"X-Santokit-Api-Key": d.key},
	}
	for user, args := range users {
		headers[user] = bearerHeaders(stkIn(t, dir, append([]string{"dev", "token", "--sub", user}, args...)...), "dev")
	}
	for i, s := range steps {
		code, body := bridgeCall(t, d.bridge, headers[s.who], s.body)
		if code != s.status {
			t.Errorf("step %d, %q %s: status %d, want %d: %s", i, s.who, s.body, code, s.status, body)
			continue
		}
		if code != 200 {
			if !strings.Contains(body, `"error"`) {
				t.Errorf("step %d: %d without an error envelope: %s", i, code, body)
			}
			continue
		}
		got, affected := columnOf(t, body, s.col)
		if s.col != "" && !slices.Equal(got, s.want) {
			t.Errorf("step %d, %q %s: %s = %q, want %q: %s", i, s.who, s.body, s.col, got, s.want, body)
		}
		if s.affected >= 0 && affected != s.affected {
			t.Errorf("step %d, %q %s: affected %d, want %d: %s", i, s.who, s.body, affected, s.affected, body)
		}
	}
}

// templateOnPostgres makes a database from a template's
// schema.postgres.sql and returns its URL.
func templateOnPostgres(t *testing.T, schemaFile string) string {
	t.Helper()
	src, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testpg.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, string(src)); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return dbURL
}

// columnOf lists one column of the rows of a /call answer, each value as
// fmt prints it (an absent column prints as ""), and meta.affected.
func columnOf(t *testing.T, body, col string) ([]string, int) {
	t.Helper()
	var out struct {
		Data []map[string]any `json:"data"`
		Meta struct {
			Affected int `json:"affected"`
		} `json:"meta"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	vals := []string{}
	for _, r := range out.Data {
		v, ok := r[col]
		if !ok {
			vals = append(vals, "")
			continue
		}
		vals = append(vals, fmt.Sprint(v))
	}
	return vals, out.Meta.Affected
}
