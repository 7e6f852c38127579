package execute

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// Row-level rules on real databases (SPEC §5.2, §5.3): conditions filter
// the rows of select/update/delete, a check refuses (403) and rolls back a
// write whose rows do not all satisfy it, the owner shorthand scopes end
// users — the same answers on PostgreSQL and SQLite. The test compiles the
// permissions with the Hub's CEL compiler, as a release does.

const rowRules = `version: 1
tables:
  docs:
    select:
      - roles: [admin]
      - roles: [editor, authenticated]
        condition: resource.owner_id == request.auth.sub || resource.published
    insert:
      - roles: [editor, authenticated]
        check: resource.owner_id == request.auth.sub && resource.level < 10
    update:
      - roles: [editor, authenticated]
        condition: resource.owner_id == request.auth.sub
        check: resource.level < 10
    delete:
      - roles: [editor]
        condition: resource.org in ["acme", "globex"] && "editor" in request.auth.roles
  notes:
    owner: owner_id
    select: [authenticated, editor]
    insert: [authenticated, editor]
    update: [authenticated, editor]
    delete: [authenticated, editor]
`

type rowEnv struct {
	d   *db
	env *plan.Env
}

func newRowEnv(t *testing.T, engine string) *rowEnv {
	d := newDB(t, engine, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 3})
	pg := engine == dbpool.Postgres
	pick := func(p, s string) string {
		if pg {
			return p
		}
		return s
	}
	d.exec(`CREATE TABLE docs (id ` + pick("bigint", "INTEGER") + ` PRIMARY KEY, owner_id TEXT NOT NULL, org TEXT,
		level INTEGER, published BOOLEAN NOT NULL DEFAULT FALSE, title TEXT NOT NULL)`)
	d.exec(`INSERT INTO docs VALUES (1, 'alice', 'acme', 1, FALSE, 'a1'), (2, 'alice', NULL, 2, TRUE, 'a2'),
		(3, 'bob', 'globex', 3, FALSE, 'b1'), (4, 'bob', 'initech', 4, TRUE, 'b2')`)
	d.exec(`CREATE TABLE notes (id ` + pick("bigint", "INTEGER") + ` PRIMARY KEY, owner_id TEXT NOT NULL, body TEXT)`)
	d.exec(`INSERT INTO notes VALUES (1, 'alice', 'x'), (2, 'bob', 'y')`)
	c := func(name, typ, db string, nullable bool) schema.Column {
		return schema.Column{Name: name, Type: typ, DBType: db, Nullable: nullable}
	}
	snap := &schema.Snapshot{ID: "snap_1", Connection: "main", Engine: engine, Tables: schema.Normalize([]schema.Table{{
		Name: "docs", PrimaryKey: []string{"id"},
		Columns: []schema.Column{c("id", schema.Bigint, pick("bigint", "INTEGER"), false), c("owner_id", schema.Text, "text", false),
			c("org", schema.Text, "text", true), c("level", schema.Integer, "integer", true),
			c("published", schema.Boolean, "boolean", false), c("title", schema.Text, "text", false)},
	}, {
		Name: "notes", PrimaryKey: []string{"id"},
		Columns: []schema.Column{c("id", schema.Bigint, pick("bigint", "INTEGER"), false), c("owner_id", schema.Text, "text", false),
			c("body", schema.Text, "text", true)},
	}})}
	doc, problems := condition.Document([]byte(rowRules), map[string]*schema.Snapshot{"main": snap})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	env, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Release:     &bundle.Release{ID: "rel_1", Snapshots: map[string]schema.Snapshot{"main": *snap}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: engine, URL: d.url}},
	}, plan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return &rowEnv{d: d, env: env}
}

func (r *rowEnv) plan(c plan.Caller, path, params string) (*plan.Plan, error) {
	r.d.t.Helper()
	target, err := plan.ParsePath(path)
	if err != nil {
		r.d.t.Fatal(err)
	}
	return r.env.Plan(c, target, []byte(params))
}

// call plans and runs; it returns the body or the error's code and message.
func (r *rowEnv) call(c plan.Caller, path, params string) (string, *apierr.Error) {
	r.d.t.Helper()
	p, err := r.plan(c, path, params)
	if err != nil {
		e, ok := err.(*apierr.Error)
		if !ok {
			r.d.t.Fatalf("%s: %v", path, err)
		}
		return "", e
	}
	return r.d.run(p)
}

// ids lists the ids of the table's rows as the admin sees them.
func (r *rowEnv) ids(table, where string) string {
	r.d.t.Helper()
	body, e := r.call(plan.Caller{Superuser: true}, "db/main/"+table+"/select", `{"select":["id"],"where":`+where+`}`)
	if e != nil {
		r.d.t.Fatal(e)
	}
	return idsOf(body)
}

func idsOf(body string) string {
	var ids []string
	for _, part := range strings.Split(body, `"id":`)[1:] {
		ids = append(ids, part[:strings.IndexAny(part, ",}")])
	}
	return strings.Join(ids, ",")
}

var (
	rowAlice  = plan.Caller{EndUser: true, Subject: "alice", Roles: []string{"viewer"}}
	rowBob    = plan.Caller{EndUser: true, Subject: "bob"}
	rowEditor = plan.Caller{KeyID: "key_1", Roles: []string{"editor"}}
)

func TestConditionsAndChecks(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			r := newRowEnv(t, engine)
			sel := func(c plan.Caller, params string) string {
				t.Helper()
				body, e := r.call(c, "db/main/docs/select", params)
				if e != nil {
					t.Fatalf("select: %v", e)
				}
				return idsOf(body)
			}
			// condition: own rows or published ones.
			if got := sel(rowAlice, `{}`); got != "1,2,4" {
				t.Errorf("alice sees %s", got)
			}
			if got := sel(rowBob, `{"count":true,"where":{"level":{"$gte":2}}}`); got != "2,3,4" {
				t.Errorf("bob sees %s", got)
			}
			body, _ := r.call(rowBob, "db/main/docs/select", `{"count":true,"limit":1}`)
			if !strings.Contains(body, `"total":3`) {
				t.Errorf("count under the condition: %s", body)
			}
			// An API key has no request.auth.sub: the whole condition is
			// false, even the published || part.
			if got := sel(rowEditor, `{}`); got != "" {
				t.Errorf("API key sees %s", got)
			}

			// check on insert: one bad row refuses and rolls back the batch.
			_, e := r.call(rowAlice, "db/main/docs/insert", `{"data":[{"id":10,"owner_id":"alice","level":1,"title":"ok"},{"id":11,"owner_id":"alice","level":50,"title":"too high"}]}`)
			if e == nil || e.Code != apierr.Forbidden || !strings.Contains(e.Message, "check of the insert rule") {
				t.Fatalf("insert with a failing row: %v", e)
			}
			if got := r.ids("docs", `{"id":{"$in":[10,11]}}`); got != "" {
				t.Errorf("rolled back insert left rows %s", got)
			}
			_, e = r.call(rowAlice, "db/main/docs/insert", `{"data":{"id":12,"owner_id":"bob","level":1,"title":"for bob"},"returning":false}`)
			if e == nil || e.Code != apierr.Forbidden {
				t.Fatalf("insert for another owner: %v", e)
			}
			if got := r.ids("docs", `{"id":12}`); got != "" {
				t.Errorf("refused insert left row %s", got)
			}
			body, e = r.call(rowAlice, "db/main/docs/insert", `{"data":[{"id":13,"owner_id":"alice","level":9,"title":"ok"},{"id":14,"owner_id":"alice","level":1,"title":"ok"}],"returning":["id","level"]}`)
			if e != nil {
				t.Fatalf("insert satisfying the check: %v", e)
			}
			sameJSON(t, body, `{"data":[{"id":13,"level":9},{"id":14,"level":1}],"meta":{"affected":2}}`)
			body, e = r.call(rowAlice, "db/main/docs/insert", `{"data":{"id":15,"owner_id":"alice","level":1,"title":"ok"},"returning":false}`)
			if e != nil {
				t.Fatalf("insert returning false: %v", e)
			}
			sameJSON(t, body, `{"data":[],"meta":{"affected":1}}`)
			// No sub: the check is false before the statement runs.
			if _, e := r.call(rowEditor, "db/main/docs/insert", `{"data":{"id":16,"owner_id":"alice","level":1,"title":"x"}}`); e == nil || e.Code != apierr.Forbidden {
				t.Errorf("API key insert under a sub check: %v", e)
			}

			// update: the condition picks alice's rows, the check holds
			// for the written rows or everything rolls back.
			body, e = r.call(rowAlice, "db/main/docs/update", `{"data":{"level":7},"where":{"id":{"$in":[1,3]}},"returning":["id","level"]}`)
			if e != nil {
				t.Fatal(e)
			}
			sameJSON(t, body, `{"data":[{"id":1,"level":7}],"meta":{"affected":1}}`)
			_, e = r.call(rowAlice, "db/main/docs/update", `{"data":{"level":70},"where":{"id":{"$in":[1,2]}},"returning":false}`)
			if e == nil || e.Code != apierr.Forbidden || !strings.Contains(e.Message, "check of the update rule") {
				t.Fatalf("update breaking the check: %v", e)
			}
			if got := r.ids("docs", `{"level":70}`); got != "" {
				t.Errorf("refused update left rows %s", got)
			}
			// The affected-row cap still applies (3 here) under a check.
			_, e = r.call(rowAlice, "db/main/docs/update", `{"data":{"level":5},"where":{"id":{"$gte":1}}}`)
			if e == nil || e.Code != apierr.BadRequest || !strings.Contains(e.Message, "more than 3 rows") {
				t.Fatalf("cap under a check: %v", e)
			}

			// delete: resource.org in [...] and a role test on the caller.
			body, e = r.call(rowEditor, "db/main/docs/delete", `{"where":{"id":{"$lte":4}},"returning":["id"]}`)
			if e != nil {
				t.Fatal(e)
			}
			if got := idsOf(body); got != "1,3" {
				t.Errorf("editor deleted %s", got)
			}
			if got := r.ids("docs", `{"id":{"$lte":4}}`); got != "2,4" {
				t.Errorf("left after delete: %s", got)
			}
		})
	}
}

// TestOwnerForEndUsers: owner: owner_id scopes end users (matched through
// authenticated) to their rows and sets the column on insert; API keys are
// not restricted (SPEC §5.3).
func TestOwnerForEndUsers(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			r := newRowEnv(t, engine)
			body, e := r.call(rowBob, "db/main/notes/select", `{}`)
			if e != nil || idsOf(body) != "2" {
				t.Errorf("bob sees %s %v", body, e)
			}
			body, e = r.call(rowBob, "db/main/notes/insert", `{"data":{"id":3,"body":"mine"}}`)
			if e != nil {
				t.Fatal(e)
			}
			sameJSON(t, body, `{"data":[{"id":3,"owner_id":"bob","body":"mine"}],"meta":{"affected":1}}`)
			if _, e := r.call(rowBob, "db/main/notes/insert", `{"data":{"id":4,"owner_id":"alice","body":"not mine"}}`); e == nil || e.Code != apierr.Forbidden {
				t.Errorf("insert for another owner: %v", e)
			}
			body, e = r.call(rowBob, "db/main/notes/update", `{"data":{"body":"z"},"where":{"id":{"$in":[1,2]}}}`)
			if e != nil || !strings.Contains(body, `"affected":1`) || idsOf(body) != "2" {
				t.Errorf("bob updates %s %v", body, e)
			}
			body, e = r.call(rowBob, "db/main/notes/delete", `{"where":{"id":1}}`)
			if e != nil || !strings.Contains(body, `"affected":0`) {
				t.Errorf("bob deletes alice's note: %s %v", body, e)
			}
			body, e = r.call(rowEditor, "db/main/notes/select", `{}`)
			if e != nil || idsOf(body) != "1,2,3" {
				t.Errorf("an API key sees %s %v", body, e)
			}
		})
	}
}
