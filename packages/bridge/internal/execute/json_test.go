package execute

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// JSON equality on SQLite (SPEC §4.4, decision 0015) over what another
// program may have stored in a JSON column: other key orders and white
// space, scalars that the column's NUMERIC affinity turned into SQLite
// numbers, and text that is not JSON at all. The planner's SQL runs on a
// real database; a row that is not valid JSON, like NULL, matches neither
// $eq nor $ne nor their $not, and never fails the statement. (The
// conformance cases check the same answers against PostgreSQL for what
// both engines can store.)
func TestJSONEqualityOnForeignSQLiteText(t *testing.T) {
	d := newDB(t, dbpool.SQLite, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100})
	d.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, doc JSON)`)
	d.exec(`INSERT INTO docs VALUES
		(1, '{ "b" : [1, 2.50, {"y": null, "x": "s"}], "a": true }'),
		(2, '5'),
		(3, '1.0'),
		(4, 'not json'),
		(5, NULL),
		(6, '"\u00e9"'),
		(7, '{"a": {}}'),
		(8, '{"a": []}')`)
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  docs:\n    select: [reader]\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	snap := schema.Snapshot{ID: "snap_1", Connection: "main", Engine: schema.EngineSQLite, Tables: []schema.Table{{
		Name: "docs", PrimaryKey: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: schema.Bigint, DBType: "INTEGER"},
			{Name: "doc", Type: schema.JSON, DBType: "JSON", Nullable: true}},
	}}}
	env, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Release:     &bundle.Release{ID: "rel_1", Snapshots: map[string]schema.Snapshot{"main": snap}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EngineSQLite, URL: d.url}},
	}, plan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	target, err := plan.ParsePath("db/main/docs/select")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ where, ids string }{
		{`{"doc":{"$eq":{"a":true,"b":[1,2.5,{"x":"s","y":null}]}}}`, "1"},
		{`{"doc":{"$eq":{"a":true,"b":[1,2.5,{"x":"s"}]}}}`, ""},
		{`{"doc":{"$eq":{"a":true,"b":[2.5,1,{"x":"s","y":null}]}}}`, ""},
		{`{"doc":5}`, "2"},
		{`{"doc":5.0}`, "2"},
		{`{"doc":1}`, "3"},
		{`{"doc":"5"}`, ""},
		{`{"doc":"é"}`, "6"},
		{`{"doc":{"$eq":{"a":{}}}}`, "7"},
		{`{"doc":{"$eq":{"a":[]}}}`, "8"},
		{`{"doc":{"$ne":5}}`, "1,3,6,7,8"},
		{`{"$not":{"doc":{"$eq":5}}}`, "1,3,6,7,8"},
		{`{"$not":{"doc":{"$ne":5}}}`, "2"},
		{`{"doc":{"$isNull":true}}`, "5"},
	} {
		p, err := env.Plan(plan.Caller{Superuser: true}, target, []byte(`{"select":["id"],"where":`+tc.where+`}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.where, err)
		}
		var ids []string
		for _, part := range strings.Split(d.ok(p), `"id":`)[1:] {
			ids = append(ids, part[:strings.IndexAny(part, ",}")])
		}
		if got := strings.Join(ids, ","); got != tc.ids {
			t.Errorf("where %s: ids %q, want %q", tc.where, got, tc.ids)
		}
	}
}
