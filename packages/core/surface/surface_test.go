package surface

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

func def(s string) *string { return &s }

// fixture is a release: permissions, two connections' snapshots, logics.
// The generator's golden test (cli/internal/gentypes) renders it too.
func fixture(t testing.TB) Surface {
	t.Helper()
	doc, problems := permissions.Parse([]byte(`version: 1
tables:
  _default:
    select: [reader]
  todos:
    owner: owner
    select:
      - roles: [authenticated]
        columns: [id, title, done, owner]
      - roles: [admin]
    insert:
      - roles: [authenticated]
        columns: [title, done, owner]
      - roles: [admin]
        columns: { deny: [secret] }
    update:
      - roles: [authenticated]
        columns: [title, done]
    delete: [authenticated]
  hidden:
    select: []
  audit:
    select: []
    delete: [admin]
  analytics.events:
    select: [analyst]
    insert: [writer]
`))
	if len(problems) > 0 {
		t.Fatalf("permissions: %v", problems)
	}
	main := &schema.Snapshot{Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{
		{Name: "todos", Columns: []schema.Column{
			{Name: "id", Type: schema.Bigint, Identity: true, Default: def("identity")},
			{Name: "title", Type: schema.Text},
			{Name: "done", Type: schema.Boolean, Default: def("false")},
			{Name: "owner", Type: schema.Text, Nullable: true},
			{Name: "secret", Type: schema.Text, Nullable: true},
			{Name: "title_len", Type: schema.Integer, Nullable: true, Generated: true},
		}},
		{Name: "kinds", Columns: []schema.Column{
			{Name: "id", Type: schema.Integer},
			{Name: "price", Type: schema.Numeric, Nullable: true},
			{Name: "ratio", Type: schema.Float},
			{Name: "at", Type: schema.Timestamptz},
			{Name: "local", Type: schema.Timestamp, Nullable: true},
			{Name: "day", Type: schema.Date},
			{Name: "clock", Type: schema.Time},
			{Name: "uid", Type: schema.UUID},
			{Name: "doc", Type: schema.JSONB, Nullable: true},
			{Name: "raw", Type: schema.JSON},
			{Name: "blob", Type: schema.Bytea},
			{Name: "tags", Type: schema.ArrayOf(schema.Text)},
			{Name: "amounts", Type: schema.ArrayOf(schema.Numeric), Nullable: true},
			{Name: "weird", Type: schema.Other},
			{Name: "first name", Type: schema.Text},
			{Name: "class", Type: schema.Text},
		}},
		{Name: "hidden", Columns: []schema.Column{{Name: "id", Type: schema.Integer}}},
		{Name: "audit", Columns: []schema.Column{{Name: "id", Type: schema.Integer}}},
	}}
	analytics := &schema.Snapshot{Connection: "analytics", Engine: schema.EngineSQLite, Tables: []schema.Table{
		{Name: "events", Columns: []schema.Column{{Name: "id", Type: schema.Integer}, {Name: "name", Type: schema.Text}}},
	}}
	logics := []logic.Logic{
		{Name: "todos/mine", Auth: logic.AuthAuthenticated, Connection: "main", Readonly: true,
			Params:  []logic.Param{{Name: "status", Type: logic.TypeString}, {Name: "limit", Type: logic.TypeInteger, Default: "10"}},
			Columns: []logic.Column{{Name: "id", Type: schema.Bigint}, {Name: "title", Type: schema.Text}}},
		{Name: "_admin/purge", Auth: logic.AuthPrivate, Connection: "main"},
		{Name: "reports/bulk-close", Auth: logic.AuthRoles, Roles: []string{"admin"}, Connection: "main",
			Params: []logic.Param{{Name: "ids", Type: "array<integer>", Required: true}, {Name: "ratio", Type: logic.TypeNumber, Required: true},
				{Name: "meta", Type: logic.TypeJSON}, {Name: "when", Type: logic.TypeTimestamptz}, {Name: "ok", Type: logic.TypeBoolean},
				{Name: "who", Type: logic.TypeUUID}, {Name: "on", Type: logic.TypeDate}, {Name: "scores", Type: "array<number>"}}},
	}
	// _default applies to kinds, hidden has an empty select (denied) and
	// nothing else: it is left out; audit is listed for its delete.
	return Of("rel_01TEST", "shop", "dev", doc, map[string]*schema.Snapshot{"main": main, "analytics": analytics, "gone": nil}, logics)
}

func TestOf(t *testing.T) {
	s := fixture(t)
	got, _ := json.MarshalIndent(s, "", " ")
	conn := func(name string) *Connection {
		for i := range s.Connections {
			if s.Connections[i].Name == name {
				return &s.Connections[i]
			}
		}
		t.Fatalf("no connection %s in %s", name, got)
		return nil
	}
	tbl := func(c *Connection, name string) *Table {
		for i := range c.Tables {
			if c.Tables[i].Name == name {
				return &c.Tables[i]
			}
		}
		return nil
	}
	names := func(cols []Column) (out []string) {
		for _, c := range cols {
			n := c.Name
			if c.Optional {
				n += "?"
			}
			out = append(out, n)
		}
		return out
	}
	if len(s.Connections) != 2 || s.Connections[0].Name != "analytics" || s.Connections[1].Name != "main" {
		t.Fatalf("connections sorted, nil snapshots left out: %s", got)
	}
	main := conn("main")
	var tables []string
	for _, tb := range main.Tables {
		tables = append(tables, tb.Name)
	}
	if want := []string{"audit", "kinds", "todos"}; !equal(tables, want) {
		t.Fatalf("tables %v, want %v (hidden has no rule that grants anything)", tables, want)
	}
	todos := tbl(main, "todos")
	// Row: the union of both select rules (admin: every column).
	if want := []string{"done", "id", "owner", "secret", "title", "title_len"}; !equal(names(todos.Row), want) {
		t.Errorf("todos Row %v, want %v", names(todos.Row), want)
	}
	// Insert: union of both insert rules, minus the generated column; id
	// (identity), done (default), owner (nullable and the owner) optional.
	if want := []string{"done?", "id?", "owner?", "title"}; !equal(names(todos.Insert), want) {
		t.Errorf("todos Insert %v, want %v", names(todos.Insert), want)
	}
	if want := []string{"done?", "title?"}; !equal(names(todos.Update), want) {
		t.Errorf("todos Update %v, want %v", names(todos.Update), want)
	}
	if !todos.Delete {
		t.Error("todos delete not granted")
	}
	kinds := tbl(main, "kinds")
	if len(kinds.Row) != 16 || len(kinds.Insert) != 0 || len(kinds.Update) != 0 || kinds.Delete {
		t.Errorf("kinds (from _default: select only): %+v", kinds)
	}
	audit := tbl(main, "audit")
	if len(audit.Row) != 0 || !audit.Delete {
		t.Errorf("audit: %+v", audit)
	}
	events := tbl(conn("analytics"), "events")
	if events == nil || !equal(names(events.Row), []string{"id", "name"}) || !equal(names(events.Insert), []string{"id", "name"}) {
		t.Errorf("analytics.events: %+v", events)
	}
	// Owner optional on insert even when NOT NULL: the Bridge fills it.
	var ls []string
	for _, l := range s.Logics {
		ls = append(ls, l.Name)
	}
	if !equal(ls, []string{"reports/bulk-close", "todos/mine"}) {
		t.Fatalf("logics %v: sorted, private left out", ls)
	}
	mine := s.Logics[1]
	if !mine.Readonly || len(mine.Params) != 2 || mine.Params[0].Name != "limit" || !mine.Params[0].Optional || !mine.Params[1].Optional ||
		len(mine.Result) != 2 {
		t.Errorf("todos/mine %+v", mine)
	}
	if bulk := s.Logics[0]; bulk.Readonly || bulk.Params[0].Name != "ids" || bulk.Params[0].Optional || len(bulk.Result) != 0 {
		t.Errorf("reports/bulk-close %+v", bulk)
	}
	// Deterministic: the same input gives the same JSON.
	again, _ := json.MarshalIndent(fixture(t), "", " ")
	if string(again) != string(got) {
		t.Error("two runs differ")
	}
}

// No permissions (nil document) exposes no table; logics still count.
func TestOfNoPermissions(t *testing.T) {
	s := Of("rel_1", "p", "e", nil, map[string]*schema.Snapshot{"main": {Tables: []schema.Table{{Name: "t"}}}}, nil)
	if len(s.Connections) != 0 || s.Logics == nil {
		t.Fatalf("%+v", s)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The TypeScript generator's golden test renders this fixture's surface
// from cli/internal/gentypes/testdata/surface.json: the file must be what
// Of computes (UPDATE_GOLDEN=1 rewrites it).
func TestGeneratorInputIsThisSurface(t *testing.T) {
	path := filepath.Join("..", "..", "cli", "internal", "gentypes", "testdata", "surface.json")
	b, _ := json.MarshalIndent(fixture(t), "", "  ")
	b = append(b, '\n')
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(b) {
		t.Fatalf("%s is not the fixture's surface: run UPDATE_GOLDEN=1 go test ./packages/core/surface/", path)
	}
}
