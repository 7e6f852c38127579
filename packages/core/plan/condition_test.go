package plan_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// These tests (an external test package, since the CEL compiler of
// packages/core/condition imports the planner) write conditions as users do;
// the planner itself never links cel-go (deps_test.go).

func col(name, typ, db string, nullable bool) schema.Column {
	return schema.Column{Name: name, Type: typ, DBType: db, Nullable: nullable}
}

func mustTarget(t testing.TB, path string) plan.Target {
	t.Helper()
	tg, err := plan.ParsePath(path)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func code(t testing.TB, err error) apierr.Code {
	t.Helper()
	e, ok := err.(*apierr.Error)
	if !ok {
		t.Fatalf("not an *apierr.Error: %v", err)
	}
	return e.Code
}

func docsTable(eng string) schema.Table {
	pg := eng == schema.EnginePostgres
	pick := func(p, s string) string {
		if pg {
			return p
		}
		return s
	}
	return schema.Normalize([]schema.Table{{
		Name: "docs",
		Columns: []schema.Column{
			col("id", schema.Bigint, pick("bigint", "INTEGER"), false),
			col("owner_id", schema.Text, pick("text", "TEXT"), false),
			col("org", schema.Text, pick("text", "TEXT"), true),
			col("level", schema.Integer, pick("integer", "INTEGER"), true),
			col("published", schema.Boolean, pick("boolean", "BOOLEAN"), false),
			col("title", schema.Text, pick("text", "TEXT"), false),
		},
		PrimaryKey: []string{"id"},
	}})[0]
}

// condEnv compiles a bundle whose docs table (on main, PostgreSQL, and
// lite, SQLite) grants select/update/delete to role editor and
// authenticated under cond, and insert/update under check.
func condEnv(t *testing.T, cond, check string) *plan.Env {
	t.Helper()
	src := "version: 1\ntables:\n"
	for _, conn := range []string{"", "lite."} {
		src += "  " + conn + "docs:\n"
		for _, op := range []string{"select", "update", "delete", "insert"} {
			src += "    " + op + ":\n      - roles: [editor, authenticated, public]\n"
			if cond != "" && op != "insert" {
				src += "        condition: " + fmt.Sprintf("%q", cond) + "\n"
			}
			if check != "" && (op == "insert" || op == "update") {
				src += "        check: " + fmt.Sprintf("%q", check) + "\n"
			}
		}
	}
	snaps := map[string]*schema.Snapshot{
		"main": {Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{docsTable(schema.EnginePostgres)}},
		"lite": {Connection: "lite", Engine: schema.EngineSQLite, Tables: []schema.Table{docsTable(schema.EngineSQLite)}},
	}
	doc, problems := condition.Document([]byte(src), snaps)
	if len(problems) > 0 {
		t.Fatalf("permissions: %v\n%s", problems, src)
	}
	b := &bundle.Bundle{Project: "p", Env: "dev", Release: &bundle.Release{ID: "rel_1",
		Snapshots: map[string]schema.Snapshot{"main": *snaps["main"], "lite": *snaps["lite"]}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres}, {Name: "lite", Engine: schema.EngineSQLite}}}
	e, err := plan.Compile(b, plan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	apiEditor = plan.Caller{KeyID: "key_1", Roles: []string{"editor"}}
	apiOther  = plan.Caller{KeyID: "key_1", Roles: []string{"editor", "x"}}
	alice     = plan.Caller{EndUser: true, Subject: "alice", Roles: []string{"editor"},
		Claims: map[string]any{"org": "acme", "level": float64(3), "groups": []any{"a", "b"}, "admin": true}}
	anonymous = plan.Caller{Anonymous: true}
	bob       = plan.Caller{EndUser: true, Subject: "bob", Roles: []string{"viewer"}, Claims: map[string]any{}}
	carol     = plan.Caller{EndUser: true, Subject: "carol", Roles: []string{"viewer"}, Claims: map[string]any{"org": nil}}
)

// whereOf is what follows WHERE in a select, without ORDER BY and paging.
func whereOf(sql string) string {
	_, w, found := strings.Cut(sql, " WHERE ")
	if !found {
		return ""
	}
	w, _, _ = strings.Cut(w, " ORDER BY")
	return w
}

// TestConditionSQL: each operator of SPEC §5.2, as SQL text and bound
// arguments on both engines, for API-key and end-user callers.
func TestConditionSQL(t *testing.T) {
	for _, tc := range []struct {
		cond   string
		caller plan.Caller
		pg     string
		lite   string // "" = pg with ? placeholders
		args   []any  // PostgreSQL's; SQLite's differ only for booleans and lists
	}{
		{`resource.owner_id == request.auth.sub`, alice, `"owner_id" = $1`, "", []any{"alice"}},
		{`resource.owner_id == request.auth.sub`, apiEditor, `FALSE`, "", nil},
		{`resource.owner_id != request.auth.sub`, alice, `"owner_id" <> $1`, "", []any{"alice"}},
		// An absent request.auth.* makes the whole condition false, under ! and ||.
		{`!(resource.owner_id == request.auth.sub)`, apiEditor, `FALSE`, "", nil},
		{`resource.published || resource.owner_id == request.auth.sub`, apiEditor, `FALSE`, "", nil},
		{`!(request.auth.claims.missing == "x") || resource.published`, alice, `FALSE`, "", nil},
		{`resource.org == request.auth.claims.org`, bob, `FALSE`, "", nil},
		// A claim present as null is absent too, not "org IS NULL".
		{`resource.org == request.auth.claims.org`, carol, `FALSE`, "", nil},
		{`!(resource.org != request.auth.claims.org) || resource.published`, carol, `FALSE`, "", nil},
		// An anonymous caller (matched through public) has no request.auth at all.
		{`resource.published`, anonymous, `"published" = $1`, "", []any{true}},
		{`resource.owner_id == request.auth.sub || resource.published`, anonymous, `FALSE`, "", nil},
		{`"editor" in request.auth.roles || resource.published`, anonymous, `FALSE`, "", nil},
		{`"admin" in request.auth.claims.missing || true`, alice, `FALSE`, "", nil},
		// request-only parts are decided here.
		{`"editor" in request.auth.roles || resource.published`, apiEditor, ``, "", nil},
		{`"editor" in request.auth.roles || resource.published`, bob, `"published" = $1`, "", []any{true}},
		{`"editor" in request.auth.roles && resource.published`, bob, `FALSE`, "", nil},
		{`request.auth.claims.level > 2 && resource.published`, alice, `"published" = $1`, "", []any{true}},
		{`request.auth.claims.admin`, alice, ``, "", nil},
		{`request.auth.sub == "alice"`, alice, ``, "", nil},
		{`request.auth.sub in ["x", "y"]`, alice, `FALSE`, "", nil},
		// resource parts become SQL with bound values.
		{`resource.org == request.auth.claims.org`, alice, `"org" = $1`, "", []any{"acme"}},
		{`resource.org != "x"`, alice, `("org" <> $1 OR "org" IS NULL)`, "", []any{"x"}},
		{`resource.org == null`, alice, `"org" IS NULL`, "", nil},
		{`!(resource.org == null)`, alice, `"org" IS NOT NULL`, "", nil},
		{`resource.org != null`, alice, `"org" IS NOT NULL`, "", nil},
		{`resource.level >= request.auth.claims.level && resource.level < 10`, alice, `("level" >= $1 AND "level" < $2)`, "", []any{int64(3), int64(10)}},
		{`resource.level <= 1 || resource.level > 5`, alice, `("level" <= $1 OR "level" > $2)`, "", []any{int64(1), int64(5)}},
		{`!(resource.level > 5)`, alice, `"level" <= $1`, "", []any{int64(5)}},
		{`!(resource.level < 5 || resource.published)`, alice, `("level" >= $1 AND "published" <> $2)`, ``, []any{int64(5), true}},
		{`5 < resource.level`, alice, `"level" > $1`, "", []any{int64(5)}},
		{`resource.id in [1, 2]`, alice, `"id" = ANY($1)`, `"id" IN (SELECT value FROM json_each(?))`, []any{"{1,2}"}},
		{`!(resource.id in [1, 2])`, alice, `"id" <> ALL($1)`, `"id" NOT IN (SELECT value FROM json_each(?))`, []any{"{1,2}"}},
		{`!(resource.org in ["a"])`, alice, `("org" <> ALL($1) OR "org" IS NULL)`, `("org" NOT IN (SELECT value FROM json_each(?)) OR "org" IS NULL)`, []any{`{"a"}`}},
		{`resource.org in request.auth.claims.groups`, alice, `"org" = ANY($1)`, `"org" IN (SELECT value FROM json_each(?))`, []any{`{"a","b"}`}},
		{`resource.title in request.auth.roles`, apiOther, `"title" = ANY($1)`, `"title" IN (SELECT value FROM json_each(?))`, []any{`{"editor","x"}`}},
		{`resource.owner_id == resource.org`, alice, `"owner_id" IS NOT DISTINCT FROM "org"`, `"owner_id" IS "org"`, nil},
		{`resource.owner_id != resource.org`, alice, `"owner_id" IS DISTINCT FROM "org"`, `"owner_id" IS NOT "org"`, nil},
		{`resource.published`, alice, `"published" = $1`, "", []any{true}},
		{`!resource.published`, alice, `"published" <> $1`, "", []any{true}},
		// A claim that is no value of the column: the whole condition is false.
		{`resource.level == request.auth.claims.org || true`, alice, ``, "", nil},
		{`resource.level == request.auth.claims.org || resource.published`, alice, `FALSE`, "", nil},
	} {
		e := condEnv(t, tc.cond, "")
		for _, conn := range []string{"main", "lite"} {
			p, err := e.Plan(tc.caller, mustTarget(t, "db/"+conn+"/docs/select"), nil)
			if err != nil {
				t.Errorf("%s [%s]: %v", tc.cond, conn, err)
				continue
			}
			want, args := tc.pg, tc.args
			if conn == "lite" {
				if tc.lite != "" {
					want = tc.lite
				} else {
					for n := 9; n >= 1; n-- {
						want = strings.ReplaceAll(want, fmt.Sprintf("$%d", n), "?")
					}
				}
				args = make([]any, len(tc.args))
				for i, a := range tc.args {
					switch a := a.(type) {
					case bool:
						args[i] = int64(0)
						if a {
							args[i] = int64(1)
						}
					case string:
						args[i] = strings.NewReplacer("{", "[", "}", "]").Replace(a)
					default:
						args[i] = a
					}
				}
			}
			if got := whereOf(p.SQL); got != want {
				t.Errorf("%s [%s] as %v:\n got WHERE %s\nwant WHERE %s", tc.cond, conn, tc.caller.Roles, got, want)
			}
			gotArgs := p.Args[:len(p.Args)-2] // LIMIT, OFFSET
			if len(args) == 0 {
				args = []any{}
			}
			if !reflect.DeepEqual(gotArgs, args) {
				t.Errorf("%s [%s]: args %#v, want %#v", tc.cond, conn, gotArgs, args)
			}
		}
	}
}

// TestConditionWithFilterAndCount: the condition is AND-ed after the
// request's where, and the count uses it too.
func TestConditionWithFilterAndCount(t *testing.T) {
	e := condEnv(t, `resource.owner_id == request.auth.sub || resource.published`, "")
	p, err := e.Plan(alice, mustTarget(t, "db/main/docs/select"), []byte(`{"where":{"$or":[{"title":"a"},{"title":"b"}]},"count":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `WHERE ("title" = $1 OR "title" = $2) AND ("owner_id" = $3 OR "published" = $4) ORDER BY`
	if !strings.Contains(p.SQL, want) || !strings.HasSuffix(p.CountSQL, `WHERE ("title" = $1 OR "title" = $2) AND ("owner_id" = $3 OR "published" = $4)`) || len(p.CountArgs) != 4 {
		t.Errorf("got %s / %s %v", p.SQL, p.CountSQL, p.CountArgs)
	}
	// The SQL text depends on the request's shape, not on who calls.
	p2, err := e.Plan(plan.Caller{EndUser: true, Subject: "zed", Roles: []string{"editor"}}, mustTarget(t, "db/main/docs/select"), []byte(`{"where":{"$or":[{"title":"c"},{"title":"d"}]},"count":true}`))
	if err != nil || p2.SQL != p.SQL || p2.Args[2] != "zed" {
		t.Errorf("not stable: %v %v", p2, err)
	}
	for _, op := range []string{"update", "delete"} {
		params := `{"where":{"id":1}}`
		if op == "update" {
			params = `{"data":{"title":"t"},"where":{"id":1}}`
		}
		p, err := e.Plan(alice, mustTarget(t, "db/lite/docs/"+op), []byte(params))
		if err != nil || !strings.Contains(p.SQL, `WHERE "id" = ? AND ("owner_id" = ? OR "published" = ?) RETURNING`) {
			t.Errorf("%s: %v %v", op, p, err)
		}
	}
}

// TestCheckSQL: a check is an extra RETURNING value the executor reads; a
// check the request already decides is no SQL (true) or 403 (false).
func TestCheckSQL(t *testing.T) {
	e := condEnv(t, "", `resource.owner_id == request.auth.sub && resource.level < 10`)
	p, err := e.Plan(alice, mustTarget(t, "db/main/docs/insert"), []byte(`{"data":{"id":1,"owner_id":"alice","title":"t","published":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Check || !strings.HasSuffix(p.SQL, `,CASE WHEN ("owner_id" = $2 AND "level" < $3) THEN 1 ELSE 0 END`) ||
		len(p.Columns) != 6 || p.Args[1] != "alice" || p.Args[2] != int64(10) || !strings.Contains(p.CheckMessage, "check of the insert rule") {
		t.Errorf("insert: %+v", p)
	}
	p, err = e.Plan(alice, mustTarget(t, "db/lite/docs/insert"), []byte(`{"data":{"id":1,"owner_id":"alice","title":"t","published":true},"returning":false}`))
	if err != nil || !p.Check || !strings.HasSuffix(p.SQL, `) AS j RETURNING CASE WHEN ("owner_id" = ? AND "level" < ?) THEN 1 ELSE 0 END`) || len(p.Columns) != 0 {
		t.Errorf("insert returning false: %+v %v", p, err)
	}
	p, err = e.Plan(alice, mustTarget(t, "db/main/docs/update"), []byte(`{"data":{"level":3},"where":{"id":1}}`))
	if err != nil || !p.Check || !strings.Contains(p.SQL, `WHERE "id" = $2 RETURNING `) || !strings.HasSuffix(p.SQL, `,CASE WHEN ("owner_id" = $3 AND "level" < $4) THEN 1 ELSE 0 END`) {
		t.Errorf("update: %+v %v", p, err)
	}
	// An API key has no sub: the check is false before any row.
	_, err = e.Plan(apiEditor, mustTarget(t, "db/main/docs/insert"), []byte(`{"data":{"id":1,"owner_id":"alice","title":"t","published":true}}`))
	if code(t, err) != apierr.Forbidden || !strings.Contains(err.Error(), "check") {
		t.Errorf("API key insert: %v", err)
	}
	// Deletes and selects have no check.
	p, err = e.Plan(alice, mustTarget(t, "db/main/docs/delete"), []byte(`{"where":{"id":1}}`))
	if err != nil || p.Check || strings.Contains(p.SQL, "CASE") {
		t.Errorf("delete: %+v %v", p, err)
	}
	e = condEnv(t, "", `"editor" in request.auth.roles`)
	p, err = e.Plan(alice, mustTarget(t, "db/main/docs/insert"), []byte(`{"data":{"id":1,"owner_id":"a","title":"t","published":true}}`))
	if err != nil || p.Check || strings.Contains(p.SQL, "CASE") {
		t.Errorf("a check true for the caller adds nothing: %+v %v", p, err)
	}
	if _, err := e.Plan(bob, mustTarget(t, "db/main/docs/insert"), []byte(`{"data":{"id":1,"owner_id":"a","title":"t","published":true}}`)); code(t, err) != apierr.Forbidden {
		t.Errorf("a check false for the caller: %v", err)
	}
}
