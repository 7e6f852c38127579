package permissions

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// specExample is the SPEC §5.1 example without its condition and check.
const specExample = `version: 1
tables:
  _default:                 # supplies every op a table does not define
    select: [reader, writer, admin]
    insert: [writer, admin]
    update: [writer, admin]
    delete: [admin]
  users:
    owner: id               # owner-based RLS shorthand (§5.3)
    select:
      - roles: [admin]      # first match wins: most privileged rules first
      - roles: [authenticated]
        columns: [id, name, avatar_url]
    update:
      - roles: [authenticated]
        columns: [name, avatar_url]
    insert: [admin]
    delete: [admin]
  posts:
    select: [public]
    insert:
      - roles: [authenticated]
    delete:
      - roles: [admin]
      - roles: [authenticated]
`

// mustParse parses src and fails the test on any problem.
func mustParse(t *testing.T, src string) *Document {
	t.Helper()
	d, problems := Parse([]byte(src))
	if len(problems) > 0 {
		t.Fatalf("Parse: unexpected problems: %+v", problems)
	}
	if d == nil {
		t.Fatal("Parse: nil document without problems")
	}
	return d
}

// public strips the unexported source positions so that documents compare
// by their exported (serialized) content.
func public(t *testing.T, d *Document) *Document {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out Document
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestParseSpecExample(t *testing.T) {
	d := mustParse(t, specExample)
	allow := func(cols ...string) *Columns { return &Columns{Allow: cols} }
	want := &Document{Version: 1, Tables: []Table{
		{Key: "_default", Line: 3, Ops: map[Op][]Rule{
			OpSelect: {{Roles: []string{"reader", "writer", "admin"}, Line: 4}},
			OpInsert: {{Roles: []string{"writer", "admin"}, Line: 5}},
			OpUpdate: {{Roles: []string{"writer", "admin"}, Line: 6}},
			OpDelete: {{Roles: []string{"admin"}, Line: 7}},
		}},
		{Key: "users", Connection: "main", Name: "users", Owner: "id", Line: 8, Ops: map[Op][]Rule{
			OpSelect: {
				{Roles: []string{"admin"}, Line: 11},
				{Roles: []string{"authenticated"}, Columns: allow("id", "name", "avatar_url"), Line: 12},
			},
			OpUpdate: {{Roles: []string{"authenticated"}, Columns: allow("name", "avatar_url"), Line: 15}},
			OpInsert: {{Roles: []string{"admin"}, Line: 17}},
			OpDelete: {{Roles: []string{"admin"}, Line: 18}},
		}},
		{Key: "posts", Connection: "main", Name: "posts", Line: 19, Ops: map[Op][]Rule{
			OpSelect: {{Roles: []string{"public"}, Line: 20}},
			OpInsert: {{Roles: []string{"authenticated"}, Line: 22}},
			OpDelete: {{Roles: []string{"admin"}, Line: 24}, {Roles: []string{"authenticated"}, Line: 25}},
		}},
	}}
	if got := public(t, d); !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		wb, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("document mismatch\n got: %s\nwant: %s", gb, wb)
	}
}

func TestParseForms(t *testing.T) {
	d := mustParse(t, `version: 1
tables:
  analytics.events:
    select: [reader]
    insert: []
    update:
      - roles: [writer, admin]
        columns: {deny: [secret]}
      - roles: [authenticated]
        columns: []
    delete:
      - {roles: [admin], columns: [id]}
  "main.user_profiles":
    owner: user_id
    select: &readers [reader, writer]
    update: *readers
  "2fa_codes": {}
  Orders$-x: {}
`)
	if len(d.Tables) != 4 {
		t.Fatalf("tables = %d, want 4", len(d.Tables))
	}
	ev := d.Tables[0]
	if ev.Key != "analytics.events" || ev.Connection != "analytics" || ev.Name != "events" || ev.Line != 3 {
		t.Errorf("events key parts = %q %q %q line %d", ev.Key, ev.Connection, ev.Name, ev.Line)
	}
	if r := ev.Ops[OpSelect]; len(r) != 1 || !reflect.DeepEqual(r[0].Roles, []string{"reader"}) || r[0].Columns != nil {
		t.Errorf("shorthand select = %+v", r)
	}
	if r, ok := ev.Ops[OpInsert]; !ok || len(r) != 0 {
		t.Errorf("insert: [] = %+v, %v; want defined and empty", r, ok)
	}
	up := ev.Ops[OpUpdate]
	if len(up) != 2 {
		t.Fatalf("update rules = %d", len(up))
	}
	if c := up[0].Columns; c == nil || c.Allow != nil || !reflect.DeepEqual(c.Deny, []string{"secret"}) {
		t.Errorf("deny form = %+v", c)
	}
	if c := up[1].Columns; c == nil || c.Allow == nil || len(c.Allow) != 0 {
		t.Errorf("columns: [] = %+v; want an empty non-nil allow list", c)
	}
	if r := ev.Ops[OpDelete]; len(r) != 1 || r[0].Line != 12 || !reflect.DeepEqual(r[0].Columns.Allow, []string{"id"}) {
		t.Errorf("flow rule = %+v", r)
	}
	up2 := d.Tables[1]
	if up2.Connection != "main" || up2.Name != "user_profiles" || up2.Owner != "user_id" {
		t.Errorf("quoted key = %+v", up2)
	}
	if !reflect.DeepEqual(up2.Ops[OpUpdate][0].Roles, []string{"reader", "writer"}) {
		t.Errorf("alias roles = %+v", up2.Ops[OpUpdate])
	}
	if d.Tables[2].Name != "2fa_codes" || d.Tables[3].Name != "Orders$-x" || len(d.Tables[2].Ops) != 0 {
		t.Errorf("names = %q %q", d.Tables[2].Name, d.Tables[3].Name)
	}
}

type wantProblem struct {
	path string
	line int
	msg  string
}

func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []wantProblem
	}{
		{"syntax error", "version: 1\ntables:\n  users: [\n", []wantProblem{{"", 3, "invalid YAML"}}},
		{"duplicate key", "version: 1\ntables:\n  users: {}\n  users: {}\n", []wantProblem{{"", 4, "already defined"}}},
		{"empty file", "", []wantProblem{{"", 1, "empty"}}},
		{"comments only", "# nothing\n", []wantProblem{{"", 1, "empty"}}},
		{"not a mapping", "- a\n- b\n", []wantProblem{{"", 1, "must be a mapping"}}},
		{"two documents", "version: 1\ntables: {}\n---\nversion: 1\n", []wantProblem{{"", 4, "only one YAML document"}}},
		{"version missing", "tables: {}\n", []wantProblem{{"version", 1, "version is required"}}},
		{"version 2", "version: 2\ntables: {}\n", []wantProblem{{"version", 1, "version must be 1"}}},
		{"version string", "tables: {}\nversion: \"1\"\n", []wantProblem{{"version", 2, "version must be 1"}}},
		{"version empty", "tables: {}\nversion:\n", []wantProblem{{"version", 2, "version must be 1"}}},
		{"unknown top key", "version: 1\ntables: {}\nroles: [a]\n", []wantProblem{{"roles", 3, `unknown key "roles"`}}},
		{"merge key", "version: 1\ntables: {}\n<<: {a: 1}\n", []wantProblem{{"", 3, "merge keys"}}},
		{"tables missing", "version: 1\n", []wantProblem{{"tables", 1, "tables is required"}}},
		{"tables a list", "version: 1\ntables:\n  - users\n", []wantProblem{{"tables", 3, "must be a mapping"}}},
		{"tables null", "version: 1\ntables:\n", []wantProblem{{"tables", 2, "must be a mapping"}}},
		{"key with space", "version: 1\ntables:\n  \"user profiles\": {}\n", []wantProblem{{`tables["user profiles"]`, 3, "invalid table key"}}},
		{"key with quote", "version: 1\ntables:\n  \"users'\": {}\n", []wantProblem{{`tables["users'"]`, 3, "invalid table key"}}},
		{"two dots", "version: 1\ntables:\n  a.b.c: {}\n", []wantProblem{{`tables["a.b.c"]`, 3, "one dot at most"}}},
		{"bad connection", "version: 1\ntables:\n  Main.users: {}\n", []wantProblem{{`tables["Main.users"]`, 3, "connection"}}},
		{"empty table name", "version: 1\ntables:\n  main.: {}\n", []wantProblem{{`tables["main."]`, 3, "empty"}}},
		{"empty connection", "version: 1\ntables:\n  .users: {}\n", []wantProblem{{`tables[".users"]`, 3, "connection"}}},
		{"prefixed default", "version: 1\ntables:\n  main._default: {}\n", []wantProblem{{`tables["main._default"]`, 3, "no connection prefix"}}},
		{"same table twice", "version: 1\ntables:\n  users: {}\n  main.users: {}\n", []wantProblem{{`tables["main.users"]`, 4, "listed twice (also at line 3)"}}},
		{"table not a map", "version: 1\ntables:\n  users: [admin]\n", []wantProblem{{"tables.users", 3, "must be a mapping of ops"}}},
		{"table null", "version: 1\ntables:\n  users:\n", []wantProblem{{"tables.users", 3, "must be a mapping of ops"}}},
		{"unknown table key", "version: 1\ntables:\n  users:\n    read: [admin]\n", []wantProblem{{"tables.users.read", 4, `unknown key "read"`}}},
		{"op a string", "version: 1\ntables:\n  users:\n    select: admin\n", []wantProblem{{"tables.users.select", 4, "must be a list of role names or a list of rules"}}},
		{"op null", "version: 1\ntables:\n  users:\n    select:\n", []wantProblem{{"tables.users.select", 4, "must be a list"}}},
		{"op a map", "version: 1\ntables:\n  users:\n    select: {roles: [a]}\n", []wantProblem{{"tables.users.select", 4, "must be a list"}}},
		{"op mixed", "version: 1\ntables:\n  users:\n    select:\n      - admin\n      - roles: [reader]\n", []wantProblem{{"tables.users.select", 5, "mixes role names and rules"}}},
		{"op nested list", "version: 1\ntables:\n  users:\n    select:\n      - [admin]\n", []wantProblem{{"tables.users.select[0]", 5, "role name or a rule"}}},
		{"shorthand bad role", "version: 1\ntables:\n  users:\n    select: [admin, Reader]\n", []wantProblem{{"tables.users.select[1]", 4, `invalid role name "Reader"`}}},
		{"shorthand non-string role", "version: 1\ntables:\n  users:\n    select: [admin, 12]\n", []wantProblem{{"tables.users.select[1]", 4, "must be a role name"}}},
		{"rule without roles", "version: 1\ntables:\n  users:\n    select:\n      - columns: [id]\n", []wantProblem{{"tables.users.select[0]", 5, "needs roles"}}},
		{"rule empty roles", "version: 1\ntables:\n  users:\n    select:\n      - roles: []\n", []wantProblem{{"tables.users.select[0].roles", 5, "must not be empty"}}},
		{"rule roles a string", "version: 1\ntables:\n  users:\n    select:\n      - roles: admin\n", []wantProblem{{"tables.users.select[0].roles", 5, "must be a list of role names"}}},
		{"rule bad role", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n      - roles:\n          - reader\n          - -x\n", []wantProblem{{"tables.users.select[1].roles[1]", 8, "invalid role name"}}},
		{"rule unknown key", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        filter: x\n", []wantProblem{{"tables.users.select[0].filter", 6, `unknown key "filter"`}}},
		{"columns a string", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        columns: id\n", []wantProblem{{"tables.users.select[0].columns", 6, "columns must be a list"}}},
		{"columns non-string", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        columns: [id, [x]]\n", []wantProblem{{"tables.users.select[0].columns[1]", 6, "column name"}}},
		{"columns allow map", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        columns: {allow: [id]}\n", []wantProblem{{"tables.users.select[0].columns.allow", 6, `unknown key "allow"`}}},
		{"columns empty map", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        columns: {}\n", []wantProblem{{"tables.users.select[0].columns", 6, "columns must be a list"}}},
		{"columns deny not list", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        columns:\n          deny: id\n", []wantProblem{{"tables.users.select[0].columns.deny", 7, "must be a list"}}},
		{"condition on insert", "version: 1\ntables:\n  users:\n    insert:\n      - roles: [authenticated]\n        condition: \"resource.id == request.auth.sub\"\n", []wantProblem{{"tables.users.insert[0].condition", 6, "not allowed on insert"}}},
		{"condition on default", "version: 1\ntables:\n  _default:\n    select:\n      - roles: [authenticated]\n        condition: \"resource.id == request.auth.sub\"\n", []wantProblem{{"tables._default.select[0].condition", 6, "not allowed on _default"}}},
		{"condition empty", "version: 1\ntables:\n  users:\n    select:\n      - roles: [authenticated]\n        condition: \"  \"\n", []wantProblem{{"tables.users.select[0].condition", 6, "non-empty string"}}},
		{"condition a list", "version: 1\ntables:\n  users:\n    select:\n      - roles: [authenticated]\n        condition: [a]\n", []wantProblem{{"tables.users.select[0].condition", 6, "non-empty string"}}},
		{"check on select", "version: 1\ntables:\n  users:\n    select:\n      - roles: [authenticated]\n        check: \"true\"\n", []wantProblem{{"tables.users.select[0].check", 6, "only allowed on insert and update"}}},
		{"check on delete", "version: 1\ntables:\n  users:\n    delete:\n      - roles: [authenticated]\n        check: \"true\"\n", []wantProblem{{"tables.users.delete[0].check", 6, "only allowed on insert and update"}}},
		{"owner on default", "version: 1\ntables:\n  _default:\n    owner: id\n", []wantProblem{{"tables._default.owner", 4, "not allowed on _default"}}},
		{"owner a list", "version: 1\ntables:\n  users:\n    owner: [id]\n", []wantProblem{{"tables.users.owner", 4, "owner must be a column name"}}},
		{"owner a number", "version: 1\ntables:\n  users:\n    owner: 1\n", []wantProblem{{"tables.users.owner", 4, "owner must be a column name"}}},
		{"unknown alias", "version: 1\ntables:\n  users:\n    select: *nope\n", []wantProblem{{"tables.users.select", 4, `unknown alias "nope"`}}},
		{"non-scalar key", "version: 1\ntables:\n  ? [a, b]\n  : {}\n", []wantProblem{{"", 4, "invalid YAML"}}},
		{"sequence value key", "version: 1\ntables:\n  users: {select: &k [a]}\n  ? *k\n  : {}\n", []wantProblem{{"tables", 4, "plain string"}}},
		{"explicit key", "version: 1\ntables:\n  ? users\n  : {select: [Bad]}\n", []wantProblem{{"tables.users.select[0]", 4, "invalid role name"}}},
		{"many problems collected", `version: 3
tables:
  users:
    owner: [x]
    select: [Admin]
    insert:
      - roles: [writer]
        check: 3
  bad key: {}
other: 1
`, []wantProblem{
			{"version", 1, "version must be 1"},
			{"tables.users.owner", 4, "owner must be a column name"},
			{"tables.users.select[0]", 5, "invalid role name"},
			{"tables.users.insert[0].check", 8, "non-empty string"},
			{`tables["bad key"]`, 9, "invalid table key"},
			{"other", 10, "unknown key"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := Parse([]byte(tc.src))
			checkProblems(t, got, tc.want)
		})
	}
}

func checkProblems(t *testing.T, got []apierr.Problem, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.path || g.Line != w.line || !strings.Contains(g.Message, w.msg) {
			t.Errorf("problem %d = {path %q line %d %q}, want {path %q line %d containing %q}",
				i, g.Path, g.Line, g.Message, w.path, w.line, w.msg)
		}
	}
}

func TestParseValidKeywords(t *testing.T) {
	d := mustParse(t, "version: 1\ntables:\n  _default:\n    select: [public, authenticated, read_only, a-b]\n")
	if got := d.Tables[0].Ops[OpSelect][0].Roles; !reflect.DeepEqual(got, []string{"public", "authenticated", "read_only", "a-b"}) {
		t.Errorf("roles = %v", got)
	}
}

func TestParseProblemColumns(t *testing.T) {
	_, got := Parse([]byte("version: 1\ntables:\n  users:\n    select: [admin, Bad]\n"))
	if len(got) != 1 || got[0].Line != 4 || got[0].Column != 21 {
		t.Fatalf("problems = %+v; want line 4 column 21", got)
	}
}

func TestParseAliasBudget(t *testing.T) {
	// Aliases are expanded, within a budget, so that a small file cannot make
	// Parse walk a huge tree.
	src := "version: 1\ntables:\n  users:\n    select: [&r admin" + strings.Repeat(", *r", maxAliases) + "]\n"
	d, got := Parse([]byte(src))
	if len(got) != 0 || len(d.Tables[0].Ops[OpSelect][0].Roles) != maxAliases+1 {
		t.Fatalf("within budget: problems %+v", got)
	}
	_, got = Parse([]byte(strings.Replace(src, "]", ", *r]", 1)))
	checkProblems(t, got, []wantProblem{{"tables.users.select[1001]", 4, "too many alias expansions"}})
}

func TestColumnsJSON(t *testing.T) {
	for _, c := range []*Columns{
		{Allow: []string{}},
		{Allow: []string{"id"}},
		{Deny: []string{"secret"}},
		{Deny: []string{}},
		nil,
	} {
		b, err := json.Marshal(Rule{Roles: []string{"r"}, Columns: c})
		if err != nil {
			t.Fatal(err)
		}
		var back Rule
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"id", "secret", "other"} {
			if c.Allows(col) != back.Columns.Allows(col) {
				t.Errorf("%s: Allows(%q) changed over JSON (%v)", b, col, c.Allows(col))
			}
		}
	}
}
