package permissions

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/schema"
)

func cols(names ...string) []schema.Column {
	out := make([]schema.Column, len(names))
	for i, n := range names {
		out[i] = schema.Column{Name: n, Type: schema.Text}
	}
	return out
}

// testSnaps is a main connection with users, posts and audit, and an
// analytics connection with events.
func testSnaps() map[string]*schema.Snapshot {
	return map[string]*schema.Snapshot{
		"main": {Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{
			{Name: "users", Columns: cols("id", "name", "avatar_url", "password_hash"), PrimaryKey: []string{"id"}},
			{Name: "posts", Columns: cols("id", "author_id", "title", "body"), PrimaryKey: []string{"id"},
				Indexes: []schema.Index{{Name: "posts_title_author", Columns: []string{"title", "author_id"}}}},
			{Name: "audit", Columns: cols("id", "actor", "payload")},
		}},
		"analytics": {Connection: "analytics", Engine: schema.EngineSQLite, Tables: []schema.Table{
			{Name: "events", Columns: cols("id", "kind", "user_id", "ip"),
				Indexes: []schema.Index{{Name: "events_user", Columns: []string{"user_id", "kind"}}}},
		}},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []wantProblem
	}{
		{"spec example", specExample, nil},
		{"valid connection table", "version: 1\ntables:\n  analytics.events:\n    owner: user_id\n    select:\n      - roles: [a]\n        columns: {deny: [ip]}\n", nil},
		{"default not checked", "version: 1\ntables:\n  _default:\n    select:\n      - roles: [a]\n        columns: [nowhere]\n", nil},
		{"unknown connection", "version: 1\ntables:\n  billing.invoices:\n    select: [a]\n", []wantProblem{{`tables["billing.invoices"]`, 3, `unknown connection "billing"`}}},
		{"unknown table", "version: 1\ntables:\n  users: {}\n  comments:\n    select: [a]\n", []wantProblem{{"tables.comments", 4, `unknown table "comments" on connection "main"`}}},
		{"table on other connection", "version: 1\ntables:\n  analytics.users: {}\n", []wantProblem{{`tables["analytics.users"]`, 3, `unknown table "users" on connection "analytics"`}}},
		{"unknown owner", "version: 1\ntables:\n  users:\n    owner: user_id\n", []wantProblem{{"tables.users.owner", 4, `unknown owner column "user_id"`}}},
		{"unknown allow column", "version: 1\ntables:\n  users:\n    select:\n      - roles: [a]\n      - roles: [b]\n        columns:\n          - id\n          - email\n", []wantProblem{{"tables.users.select[1].columns[1]", 9, `unknown column "email" in table "users"`}}},
		{"unknown deny column", "version: 1\ntables:\n  posts:\n    update:\n      - roles: [a]\n        columns: {deny: [id, secret]}\n", []wantProblem{{"tables.posts.update[0].columns.deny[1]", 6, `unknown column "secret"`}}},
		{"in line order", `version: 1
tables:
  posts:
    delete:
      - roles: [a]
        columns: [nope]
  ghosts: {}
  users:
    owner: uid
    select:
      - roles: [a]
        columns: [x, y]
  x.y: {}
`, []wantProblem{
			{"tables.posts.delete[0].columns[0]", 6, `"nope"`},
			{"tables.ghosts", 7, `unknown table "ghosts"`},
			{"tables.users.owner", 9, `"uid"`},
			{"tables.users.select[0].columns[0]", 12, `"x"`},
			{"tables.users.select[0].columns[1]", 12, `"y"`},
			{`tables["x.y"]`, 13, `unknown connection "x"`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParse(t, tc.src)
			checkProblems(t, d.Validate(testSnaps()), tc.want)
		})
	}
}

func TestValidateWithoutPositions(t *testing.T) {
	// A document read back from a bundle has lost the exact positions;
	// problems fall back to the rule's or the table's line.
	d := public(t, mustParse(t, "version: 1\ntables:\n  users:\n    owner: uid\n    select:\n      - roles: [a]\n        columns: [x]\n"))
	checkProblems(t, d.Validate(testSnaps()), []wantProblem{
		{"tables.users.owner", 3, "uid"},
		{"tables.users.select[0].columns[0]", 6, `"x"`},
	})
}

func TestValidateNoSnapshots(t *testing.T) {
	d := mustParse(t, specExample)
	checkProblems(t, d.Validate(nil), []wantProblem{
		{"tables.users", 8, `unknown connection "main"`},
		{"tables.posts", 19, `unknown connection "main"`},
	})
}

func TestIndexWarnings(t *testing.T) {
	d := mustParse(t, `version: 1
tables:
  users:
    owner: id
  posts:
    owner: author_id
  audit:
    owner: actor
  analytics.events:
    owner: user_id
  ghosts:
    owner: id
  x.y:
    owner: id
`)
	got := IndexWarnings(d, testSnaps())
	// users.id leads the primary key and events.user_id leads an index;
	// posts.author_id is only the second column of an index.
	want := []Warning{
		{Connection: "main", Table: "posts", Column: "author_id", Line: 6},
		{Connection: "main", Table: "audit", Column: "actor", Line: 8},
	}
	if len(got) != len(want) {
		b, _ := json.Marshal(got)
		t.Fatalf("warnings = %s", b)
	}
	for i, w := range want {
		g := got[i]
		if g.Connection != w.Connection || g.Table != w.Table || g.Column != w.Column || g.Line != w.Line ||
			!strings.Contains(g.Message, "no index") {
			t.Errorf("warning %d = %+v, want %+v", i, g, w)
		}
	}
}
