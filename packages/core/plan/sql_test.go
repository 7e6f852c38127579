package plan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

type golden struct {
	sql       string
	args      []any
	countSQL  string
	countArgs []any
	columns   string // "name:type,…"
}

func columnsString(cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type
	}
	return strings.Join(parts, ",")
}

// TestGoldenSQL pins the SQL text and args of each op on both engines.
func TestGoldenSQL(t *testing.T) {
	e := fixtureEnv(t)
	const uuid1 = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	for _, tc := range []struct {
		name       string
		c          Caller
		path       string // without db/{conn}/
		params     string
		pg, sqlite golden
		write, cap bool
	}{
		{
			name: "select by primary key", c: writer, path: "posts/select",
			params: `{"where":{"id":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}}`,
			pg: golden{
				sql:     `SELECT "id","author_id","title","body" FROM "posts" WHERE "id" = $1`,
				args:    []any{uuid1},
				columns: "id:uuid,author_id:text,title:text,body:text",
			},
			// posts.id is TEXT on the SQLite side of the fixture: no UUID
			// canonicalization.
			sqlite: golden{
				sql:     `SELECT "id","author_id","title","body" FROM "posts" WHERE "id" = ?`,
				args:    []any{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
				columns: "id:text,author_id:text,title:text,body:text",
			},
		},
		{
			name: "select with every clause", c: writer, path: "posts/select",
			params: `{"select":["title","id"],"where":{"title":{"$like":"a\\%b_c*d?[e]%"},"$or":[{"body":null},{"body":{"$ilike":"%x%"}},{"$not":{"author_id":{"$in":["u1","u2"]}}}],"id":{"$nin":[]}},"orderBy":[{"title":"desc"},{"body":"asc"}],"limit":10,"offset":20,"count":true}`,
			pg: golden{
				sql:       `SELECT "title","id" FROM "posts" WHERE "title"::text LIKE $1 AND ("body" IS NULL OR "body"::text ILIKE $2 OR NOT ("author_id" = ANY($3))) AND "id" <> ALL($4) ORDER BY "title" DESC, "body" ASC, "id" ASC LIMIT $5 OFFSET $6`,
				args:      []any{`a\%b_c*d?[e]%`, "%x%", `{"u1","u2"}`, "{}", int64(10), int64(20)},
				countSQL:  `SELECT count(*) FROM "posts" WHERE "title"::text LIKE $1 AND ("body" IS NULL OR "body"::text ILIKE $2 OR NOT ("author_id" = ANY($3))) AND "id" <> ALL($4)`,
				countArgs: []any{`a\%b_c*d?[e]%`, "%x%", `{"u1","u2"}`, "{}"},
				columns:   "title:text,id:uuid",
			},
			sqlite: golden{
				sql:       `SELECT "title","id" FROM "posts" WHERE "title" GLOB ? AND ("body" IS NULL OR "body" LIKE ? ESCAPE '\' OR NOT ("author_id" IN (SELECT value FROM json_each(?)))) AND "id" NOT IN (SELECT value FROM json_each(?)) ORDER BY "title" DESC NULLS FIRST, "body" ASC NULLS LAST, "id" ASC NULLS LAST LIMIT ? OFFSET ?`,
				args:      []any{"a%b?c[*]d[?][[]e]*", "%x%", `["u1","u2"]`, "[]", int64(10), int64(20)},
				countSQL:  `SELECT count(*) FROM "posts" WHERE "title" GLOB ? AND ("body" IS NULL OR "body" LIKE ? ESCAPE '\' OR NOT ("author_id" IN (SELECT value FROM json_each(?)))) AND "id" NOT IN (SELECT value FROM json_each(?))`,
				countArgs: []any{"a%b?c[*]d[?][[]e]*", "%x%", `["u1","u2"]`, "[]"},
				columns:   "title:text,id:text",
			},
		},
		{
			name: "select count without where, no primary key", c: Caller{KeyID: "k", Roles: []string{"auditor"}}, path: "logs/select",
			params: `{"count":true,"limit":0}`,
			pg: golden{
				sql:       `SELECT "msg","at" FROM "logs" LIMIT $1 OFFSET $2`,
				args:      []any{int64(0), int64(0)},
				countSQL:  `SELECT count(*) FROM "logs"`,
				countArgs: []any{},
				columns:   "msg:text,at:timestamptz",
			},
			sqlite: golden{
				sql:       `SELECT "msg","at" FROM "logs" LIMIT ? OFFSET ?`,
				args:      []any{int64(0), int64(0)},
				countSQL:  `SELECT count(*) FROM "logs"`,
				countArgs: []any{},
				columns:   "msg:text,at:timestamptz",
			},
		},
		{
			name: "insert one row", c: writer, path: "posts/insert",
			params: `{"data":{"title":"T","author_id":"u1","id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","body":null}}`,
			write:  true,
			pg: golden{
				sql:     `INSERT INTO "posts" ("id","author_id","title","body") SELECT "id","author_id","title","body" FROM json_to_recordset($1::json) AS x("id" uuid,"author_id" text,"title" text,"body" text) RETURNING "id","author_id","title","body"`,
				args:    []any{`[{"id":"` + uuid1 + `","author_id":"u1","title":"T","body":null}]`},
				columns: "id:uuid,author_id:text,title:text,body:text",
			},
			sqlite: golden{
				sql:     `INSERT INTO "posts" ("id","author_id","title","body") SELECT json_extract(j.value, '$[0]'),json_extract(j.value, '$[1]'),json_extract(j.value, '$[2]'),json_extract(j.value, '$[3]') FROM json_each(?) AS j RETURNING "id","author_id","title","body"`,
				args:    []any{`[["` + uuid1 + `","u1","T",null]]`},
				columns: "id:text,author_id:text,title:text,body:text",
			},
		},
		{
			name: "insert batch", c: writer, path: "posts/insert",
			params: `{"data":[{"title":"T1","author_id":"u1","id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},{"title":"T2\"\n","author_id":"u2","id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"}],"returning":["id"]}`,
			write:  true,
			pg: golden{
				sql:     `INSERT INTO "posts" ("id","author_id","title") SELECT "id","author_id","title" FROM json_to_recordset($1::json) AS x("id" uuid,"author_id" text,"title" text) RETURNING "id"`,
				args:    []any{`[{"id":"` + uuid1 + `","author_id":"u1","title":"T1"},{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12","author_id":"u2","title":"T2\"\n"}]`},
				columns: "id:uuid",
			},
			sqlite: golden{
				sql:     `INSERT INTO "posts" ("id","author_id","title") SELECT json_extract(j.value, '$[0]'),json_extract(j.value, '$[1]'),json_extract(j.value, '$[2]') FROM json_each(?) AS j RETURNING "id"`,
				args:    []any{`[["` + uuid1 + `","u1","T1"],["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12","u2","T2\"\n"]]`},
				columns: "id:text",
			},
		},
		{
			name: "insert every type", c: admin, path: "users/insert",
			params: `{"data":{"name":"n","age":3,"score":2.5,"balance":"1.10","active":true,"created_at":"2024-05-01T10:00:00+02:00","born":"2000-02-29","wake":"07:30","seen":"2024-05-01T10:00:00","ext":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","meta":{"a":"<x>"},"doc":[1],"avatar":"AAEC/w==","tags":["a",null],"nums":[1],"iv":"1 day"},"returning":false}`,
			write:  true,
			pg: golden{
				sql:  `INSERT INTO "users" ("name","age","score","balance","active","created_at","born","wake","seen","ext","meta","doc","avatar","tags","nums","iv") SELECT "name","age","score","balance","active","created_at","born","wake","seen","ext","meta","doc","avatar","tags","nums","iv" FROM json_to_recordset($1::json) AS x("name" text,"age" integer,"score" double precision,"balance" numeric(12,2),"active" boolean,"created_at" timestamp with time zone,"born" date,"wake" time without time zone,"seen" timestamp without time zone,"ext" uuid,"meta" jsonb,"doc" json,"avatar" bytea,"tags" text[],"nums" integer[],"iv" interval)`,
				args: []any{`[{"name":"n","age":3,"score":2.5,"balance":"1.10","active":true,"created_at":"2024-05-01T08:00:00Z","born":"2000-02-29","wake":"07:30:00","seen":"2024-05-01T10:00:00","ext":"` + uuid1 + `","meta":{"a":"<x>"},"doc":[1],"avatar":"\\x000102ff","tags":["a",null],"nums":[1],"iv":"1 day"}]`},
			},
			sqlite: golden{
				sql:  `INSERT INTO "users" ("name","age","score","balance","active","created_at","born","wake","seen","ext","meta","doc","avatar","tags","nums","iv") SELECT json_extract(j.value, '$[0]'),json_extract(j.value, '$[1]'),json_extract(j.value, '$[2]'),json_extract(j.value, '$[3]'),json_extract(j.value, '$[4]'),json_extract(j.value, '$[5]'),json_extract(j.value, '$[6]'),json_extract(j.value, '$[7]'),json_extract(j.value, '$[8]'),json_extract(j.value, '$[9]'),json_extract(j.value, '$[10]'),json_extract(j.value, '$[11]'),unhex(json_extract(j.value, '$[12]')),json_extract(j.value, '$[13]'),json_extract(j.value, '$[14]'),json_extract(j.value, '$[15]') FROM json_each(?) AS j`,
				args: []any{`[["n",3,2.5,1.1,1,"2024-05-01 08:00:00","2000-02-29","07:30:00","2024-05-01 10:00:00","` + uuid1 + `","{\"a\":\"<x>\"}","[1]","000102ff","[\"a\",null]","[1]","1 day"]]`},
			},
		},
		{
			name: "update every type", c: admin, path: "users/update",
			params: `{"data":{"age":3,"score":2.5,"balance":"1.10","active":true,"created_at":"2024-05-01T10:00:00+02:00","born":"2000-02-29","wake":"07:30","seen":"2024-05-01T10:00:00.1234567","ext":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","meta":{"b":[1,2],"a":"<x>"},"doc":null,"avatar":"AAEC/w==","tags":["a","b\"c",null],"nums":[[1,2],[3,4]],"iv":"1 day","email":"e"},"where":{"id":{"$gte":"9007199254740993"}},"returning":["id","iv"]}`,
			write:  true, cap: true,
			pg: golden{
				sql: `UPDATE "users" SET "email" = $1, "age" = $2, "score" = $3, "balance" = $4, "active" = $5, "created_at" = $6, "born" = $7, "wake" = $8, "seen" = $9, "ext" = $10, "meta" = $11, "doc" = $12, "avatar" = $13, "tags" = $14, "nums" = $15, "iv" = $16 WHERE "id" >= $17 RETURNING "id","iv"::text AS "iv"`,
				args: []any{"e", int64(3), 2.5, "1.10", true, "2024-05-01T08:00:00Z", "2000-02-29", "07:30:00", "2024-05-01T10:00:00.123457",
					uuid1, `{"a":"<x>","b":[1,2]}`, nil, []byte{0, 1, 2, 0xff}, `{"a","b\"c",NULL}`, "{{1,2},{3,4}}", "1 day", int64(9007199254740993)},
				columns: "id:bigint,iv:other",
			},
			sqlite: golden{
				sql: `UPDATE "users" SET "email" = ?, "age" = ?, "score" = ?, "balance" = ?, "active" = ?, "created_at" = ?, "born" = ?, "wake" = ?, "seen" = ?, "ext" = ?, "meta" = ?, "doc" = ?, "avatar" = ?, "tags" = ?, "nums" = ?, "iv" = ? WHERE "id" >= ? RETURNING "id",CAST("iv" AS TEXT) AS "iv"`,
				args: []any{"e", int64(3), 2.5, 1.1, int64(1), "2024-05-01 08:00:00", "2000-02-29", "07:30:00", "2024-05-01 10:00:00.123457",
					uuid1, `{"a":"<x>","b":[1,2]}`, nil, []byte{0, 1, 2, 0xff}, `["a","b\"c",null]`, "[[1,2],[3,4]]", "1 day", int64(9007199254740993)},
				columns: "id:bigint,iv:other",
			},
		},
		{
			name: "delete without returning", c: admin, path: "users/delete",
			params: `{"where":{"created_at":{"$lt":"2024-01-01T00:00:00Z"},"active":false},"returning":false}`,
			write:  true, cap: true,
			pg: golden{
				sql:  `DELETE FROM "users" WHERE "created_at" < $1 AND "active" = $2`,
				args: []any{"2024-01-01T00:00:00Z", false},
			},
			sqlite: golden{
				sql:  `DELETE FROM "users" WHERE "created_at" < ? AND "active" = ?`,
				args: []any{"2024-01-01 00:00:00", int64(0)},
			},
		},
		{
			name: "delete returning default (readable columns)", c: admin, path: "posts/delete",
			params: `{"where":{"title":{"$ne":"x"},"body":{"$isNull":false}}}`,
			write:  true, cap: true,
			pg: golden{
				sql:     `DELETE FROM "posts" WHERE "title" <> $1 AND "body" IS NOT NULL RETURNING "id","author_id","title","body"`,
				args:    []any{"x"},
				columns: "id:uuid,author_id:text,title:text,body:text",
			},
			sqlite: golden{
				sql:     `DELETE FROM "posts" WHERE "title" <> ? AND "body" IS NOT NULL RETURNING "id","author_id","title","body"`,
				args:    []any{"x"},
				columns: "id:text,author_id:text,title:text,body:text",
			},
		},
		{
			name: "quoted identifiers", c: admin, path: `we"ird/select`,
			params: `{"where":{"co\"l":"x"}}`,
			pg: golden{
				sql:     `SELECT "co""l","k" FROM "we""ird" WHERE "co""l" = $1 ORDER BY "k" LIMIT $2 OFFSET $3`,
				args:    []any{"x", int64(100), int64(0)},
				columns: `co"l:text,k:integer`,
			},
			sqlite: golden{
				sql:     `SELECT "co""l","k" FROM "we""ird" WHERE "co""l" = ? ORDER BY "k" LIMIT ? OFFSET ?`,
				args:    []any{"x", int64(100), int64(0)},
				columns: `co"l:text,k:integer`,
			},
		},
		{
			name: "array and bytea equality, comparisons", c: admin, path: "users/select",
			params: `{"select":["id"],"where":{"tags":["a"],"avatar":{"$ne":"AA=="},"born":{"$gt":"2000-01-01","$lte":"2001-01-01"},"wake":{"$gte":"08:00:00.5"},"score":{"$in":[1,2.5]},"active":{"$nin":[true]}}}`,
			pg: golden{
				sql:     `SELECT "id" FROM "users" WHERE "tags" = $1 AND "avatar" <> $2 AND "born" > $3 AND "born" <= $4 AND "wake" >= $5 AND "score" = ANY($6) AND "active" <> ALL($7) ORDER BY "id" LIMIT $8 OFFSET $9`,
				args:    []any{`{"a"}`, []byte{0}, "2000-01-01", "2001-01-01", "08:00:00.5", "{1,2.5}", "{t}", int64(100), int64(0)},
				columns: "id:bigint",
			},
			sqlite: golden{
				sql:     `SELECT "id" FROM "users" WHERE json("tags") = json(?) AND "avatar" <> ? AND "born" > ? AND "born" <= ? AND "wake" >= ? AND "score" IN (SELECT value FROM json_each(?)) AND "active" NOT IN (SELECT value FROM json_each(?)) ORDER BY "id" LIMIT ? OFFSET ?`,
				args:    []any{`["a"]`, []byte{0}, "2000-01-01", "2001-01-01", "08:00:00.5", "[1,2.5]", "[1]", int64(100), int64(0)},
				columns: "id:bigint",
			},
		},
		{
			// Whole JSON values (SPEC §4.4): jsonb on PostgreSQL (json cast,
			// having no equality), minified JSON text on SQLite; keys bound
			// sorted, integral numbers as integers.
			name: "json and jsonb equality", c: admin, path: "users/select",
			params: `{"select":["id"],"where":{"meta":{"$eq":{"b":[1,{"d":null,"c":"x"}],"a":true}},"doc":{"$ne":"s"},"$not":{"meta":{"$isNull":true}},"age":1e1}}`,
			pg: golden{
				sql:     `SELECT "id" FROM "users" WHERE "meta" = $1::jsonb AND "doc"::jsonb <> $2::jsonb AND NOT ("meta" IS NULL) AND "age" = $3 ORDER BY "id" LIMIT $4 OFFSET $5`,
				args:    []any{`{"a":true,"b":[1,{"c":"x","d":null}]}`, `"s"`, int64(10), int64(100), int64(0)},
				columns: "id:bigint",
			},
			sqlite: golden{
				sql: `SELECT "id" FROM "users" WHERE (CASE WHEN json_valid("meta") THEN NOT EXISTS (SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree("meta") EXCEPT SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree(?)) AND NOT EXISTS (SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree(?) EXCEPT SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree("meta")) END)` +
					` AND NOT (CASE WHEN json_valid("doc") THEN NOT EXISTS (SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree("doc") EXCEPT SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree(?)) AND NOT EXISTS (SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree(?) EXCEPT SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree("doc")) END)` +
					` AND NOT ("meta" IS NULL) AND "age" = ? ORDER BY "id" LIMIT ? OFFSET ?`,
				args:    []any{`{"a":true,"b":[1,{"c":"x","d":null}]}`, `{"a":true,"b":[1,{"c":"x","d":null}]}`, `"s"`, `"s"`, int64(10), int64(100), int64(0)},
				columns: "id:bigint",
			},
		},
	} {
		for _, conn := range []string{"main", "lite"} {
			want := tc.pg
			engine := "postgres"
			if conn == "lite" {
				want, engine = tc.sqlite, "sqlite"
			}
			p, err := e.Plan(tc.c, mustTarget(t, "db/"+conn+"/"+tc.path), []byte(tc.params))
			if err != nil {
				t.Errorf("%s [%s]: %v", tc.name, conn, err)
				continue
			}
			if p.SQL != want.sql {
				t.Errorf("%s [%s]: SQL\n got %s\nwant %s", tc.name, conn, p.SQL, want.sql)
			}
			if !reflect.DeepEqual(p.Args, want.args) {
				t.Errorf("%s [%s]: args\n got %#v\nwant %#v", tc.name, conn, p.Args, want.args)
			}
			if p.CountSQL != want.countSQL {
				t.Errorf("%s [%s]: count SQL\n got %s\nwant %s", tc.name, conn, p.CountSQL, want.countSQL)
			}
			if want.countArgs != nil && !reflect.DeepEqual(p.CountArgs, want.countArgs) || want.countArgs == nil && p.CountArgs != nil {
				t.Errorf("%s [%s]: count args %#v; want %#v", tc.name, conn, p.CountArgs, want.countArgs)
			}
			if got := columnsString(p.Columns); got != want.columns {
				t.Errorf("%s [%s]: columns %s; want %s", tc.name, conn, got, want.columns)
			}
			if p.Engine != engine || p.Write != tc.write || p.CapAffected != tc.cap || p.Connection != conn {
				t.Errorf("%s [%s]: engine %s write %v cap %v conn %s", tc.name, conn, p.Engine, p.Write, p.CapAffected, p.Connection)
			}
			if n := strings.Count(p.SQL, "?"); conn == "lite" && n != len(p.Args) {
				t.Errorf("%s [%s]: %d placeholders for %d args", tc.name, conn, n, len(p.Args))
			}
			if conn == "main" && len(p.Args) > 0 && !strings.Contains(p.SQL, fmt.Sprintf("$%d", len(p.Args))) {
				t.Errorf("%s [%s]: no $%d placeholder", tc.name, conn, len(p.Args))
			}
		}
	}
}

// TestCountArgsIndependent: appending to CountArgs never changes Args.
func TestCountArgsIndependent(t *testing.T) {
	e := fixtureEnv(t)
	p, err := e.Plan(admin, mustTarget(t, "db/main/users/select"), []byte(`{"where":{"id":{"$gt":1}},"count":true}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.CountArgs, "x")
	if p.Args[1] != int64(100) {
		t.Fatalf("Args changed: %v", p.Args)
	}
}

// TestSQLStability: the SQL text depends on the request's shape only —
// values, list lengths and batch sizes change the args, never the text.
func TestSQLStability(t *testing.T) {
	e := fixtureEnv(t)
	groups := []struct {
		c      Caller
		path   string
		params []string
	}{
		{admin, "users/select", []string{
			`{"where":{"id":1}}`,
			`{"where":{"id":987654321}}`,
			`{"where":{"id":"9223372036854775807"}}`,
		}},
		{admin, "users/select", []string{
			`{"where":{"name":{"$in":[]}},"limit":1}`,
			`{"where":{"name":{"$in":["a"]}},"limit":1000,"offset":3}`,
			`{"where":{"name":{"$in":["a","b","c","d","e","f","g","h","i","j","k","l"]}}}`,
		}},
		{admin, "users/select", []string{
			`{"where":{"$or":[{"age":{"$nin":[1]}},{"name":{"$like":"x"}}]},"orderBy":{"age":"desc"},"count":true}`,
			`{"where":{"$or":[{"age":{"$nin":[1,2,3,4]}},{"name":{"$like":"%'; DROP TABLE users; --"}}]},"orderBy":{"age":"desc"},"count":true}`,
		}},
		{admin, "users/select", []string{
			`{"where":{"tags":[]}}`,
			`{"where":{"tags":["a","b",null]}}`,
		}},
		{admin, "users/insert", []string{
			`{"data":{"name":"a","age":1}}`,
			`{"data":[{"name":"a","age":1}]}`,
			`{"data":[{"age":1,"name":"a"},{"name":"b","age":null},{"name":"c","age":3}]}`,
		}},
		{enduser, "posts/insert", []string{
			`{"data":{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t"}}`,
			`{"data":[{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t"},{"title":"u","id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"}]}`,
		}},
		{admin, "users/update", []string{
			`{"data":{"age":1,"name":"a"},"where":{"id":{"$in":[1]}}}`,
			`{"data":{"name":"zzz","age":null},"where":{"id":{"$in":[1,2,3]}}}`,
		}},
		{admin, "users/delete", []string{
			`{"where":{"created_at":{"$gte":"2024-01-01T00:00:00Z"}}}`,
			`{"where":{"created_at":{"$gte":"1999-12-31 23:59:59.999-05:00"}}}`,
		}},
	}
	for _, conn := range []string{"main", "lite"} {
		for _, g := range groups {
			var first string
			for i, params := range g.params {
				p, err := e.Plan(g.c, mustTarget(t, "db/"+conn+"/"+g.path), []byte(params))
				if err != nil {
					t.Fatalf("[%s] %s %s: %v", conn, g.path, params, err)
				}
				if i == 0 {
					first = p.SQL
				} else if p.SQL != first {
					t.Errorf("[%s] %s: SQL changed with values\n %s\n %s", conn, g.path, first, p.SQL)
				}
			}
		}
	}
}

// TestInjection: user text in names yields 400/404 (it is only ever looked
// up in the snapshot); user text in values is bound, never in the SQL text.
func TestInjection(t *testing.T) {
	e := fixtureEnv(t)
	payloads := []string{
		`x"; DROP TABLE users; --`,
		`users" WHERE 1=1 --`,
		`id" OR "1"="1`,
		`'; DELETE FROM users; --`,
		`id) UNION SELECT secret FROM users --`,
		`*`,
		`id, secret`,
		`"id"`,
		`$1`,
		`?`,
		"id\x00",
		`id\`,
		`1; SELECT pg_sleep(10)`,
		"\u2028id",
	}
	check := func(t *testing.T, where, path, params string, allowed ...apierr.Code) {
		t.Helper()
		tg, err := ParsePath(path)
		if err != nil {
			if code(t, err) != apierr.BadRequest {
				t.Errorf("%s: ParsePath: %v", where, err)
			}
			return
		}
		p, err := e.Plan(admin, tg, []byte(params))
		if err == nil {
			t.Errorf("%s: %s %s planned: %s", where, path, params, p.SQL)
			return
		}
		got := code(t, err)
		for _, a := range allowed {
			if got == a {
				return
			}
		}
		t.Errorf("%s: %s %s: %v; want one of %v", where, path, params, err, allowed)
	}
	q := func(s string) string { b, _ := jsonString(s); return b }
	for _, conn := range []string{"main", "lite"} {
		for _, pl := range payloads {
			check(t, "table", "db/"+conn+"/"+pl+"/select", `{}`, apierr.NotFound, apierr.BadRequest)
			check(t, "connection", "db/"+pl+"/users/select", `{}`, apierr.NotFound, apierr.BadRequest)
			base := "db/" + conn + "/users/"
			check(t, "select", base+"select", `{"select":["id",`+q(pl)+`]}`, apierr.BadRequest)
			check(t, "where", base+"select", `{"where":{`+q(pl)+`:1}}`, apierr.BadRequest)
			check(t, "where nested", base+"select", `{"where":{"$or":[{"id":1},{`+q(pl)+`:{"$in":[1]}}]}}`, apierr.BadRequest)
			check(t, "orderBy", base+"select", `{"orderBy":{`+q(pl)+`:"asc"}}`, apierr.BadRequest)
			check(t, "orderBy direction", base+"select", `{"orderBy":{"id":`+q(pl)+`}}`, apierr.BadRequest)
			check(t, "returning", base+"delete", `{"where":{"id":1},"returning":[`+q(pl)+`]}`, apierr.BadRequest)
			check(t, "data", base+"insert", `{"data":{"name":"a",`+q(pl)+`:1}}`, apierr.BadRequest)
			check(t, "param name", base+"select", `{`+q(pl)+`:1}`, apierr.BadRequest)
			check(t, "operator", base+"select", `{"where":{"id":{`+q(pl)+`:1}}}`, apierr.BadRequest)

			// Values are bound: the SQL text is the same as for a plain
			// value, and the payload is in the args.
			for _, params := range []string{
				`{"where":{"name":%s}}`,
				`{"where":{"name":{"$in":[%s]}}}`,
				`{"where":{"name":{"$like":%s}}}`,
				`{"where":{"name":{"$ilike":%s}}}`,
				`{"where":{"tags":[%s]}}`,
				`{"where":{"iv":null,"name":{"$gte":%s}}}`,
			} {
				plain, err := e.Plan(admin, mustTarget(t, base+"select"), []byte(fmt.Sprintf(params, `"zz"`)))
				if err != nil && code(t, err) != apierr.BadRequest {
					t.Fatalf("plain %s: %v", params, err)
				}
				p, err := e.Plan(admin, mustTarget(t, base+"select"), []byte(fmt.Sprintf(params, q(pl+"x"))))
				if err != nil {
					if code(t, err) != apierr.BadRequest {
						t.Errorf("value %s: %v", params, err)
					}
					continue
				}
				if plain == nil || p.SQL != plain.SQL {
					t.Errorf("value %q changed the SQL: %s", pl, p.SQL)
				}
			}
			p, err := e.Plan(admin, mustTarget(t, base+"insert"), []byte(`{"data":{"name":`+q(pl)+`,"iv":`+q(pl)+`}}`))
			plain, _ := e.Plan(admin, mustTarget(t, base+"insert"), []byte(`{"data":{"name":"a","iv":"b"}}`))
			if err != nil {
				if code(t, err) != apierr.BadRequest {
					t.Errorf("data value %q: %v", pl, err)
				}
			} else if p.SQL != plain.SQL || !strings.Contains(p.Args[0].(string), q(pl)) {
				t.Errorf("data value %q: %s %v", pl, p.SQL, p.Args)
			}
		}
	}
}

func jsonString(s string) (string, error) {
	return string(jsonscan.AppendString(nil, s)), nil
}

// A select that pins the primary key with $eq at the top level reads at
// most one row: it has no ORDER BY, LIMIT or OFFSET (PostgreSQL then keeps
// one generic plan), unless limit 0 or an offset could change the answer.
func TestSelectByPrimaryKeyHasNoLimit(t *testing.T) {
	e := fixtureEnv(t)
	const id = `"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"`
	for _, tc := range []struct {
		params string
		bare   bool
	}{
		{`{"where":{"id":` + id + `}}`, true},
		{`{"where":{"id":{"$eq":` + id + `},"title":"x"},"limit":5,"orderBy":{"title":"desc"}}`, true},
		{`{"where":{"$and":[{"id":` + id + `},{"body":{"$isNull":true}}]}}`, true},
		{`{"where":{"id":` + id + `},"count":true}`, true},
		{`{"where":{"id":` + id + `},"limit":0}`, false},
		{`{"where":{"id":` + id + `},"offset":1}`, false},
		{`{"where":{"$or":[{"id":` + id + `},{"title":"x"}]}}`, false},
		{`{"where":{"id":{"$ne":` + id + `}}}`, false},
		{`{"where":{"id":{"$in":[` + id + `]}}}`, false},
		{`{"where":{"title":"x"}}`, false},
	} {
		for _, conn := range []string{"main", "lite"} {
			p, err := e.Plan(writer, mustTarget(t, "db/"+conn+"/posts/select"), []byte(tc.params))
			if err != nil {
				t.Fatalf("%s [%s]: %v", tc.params, conn, err)
			}
			if bare := !strings.Contains(p.SQL, "LIMIT"); bare != tc.bare {
				t.Errorf("%s [%s]: %s", tc.params, conn, p.SQL)
			}
			if tc.bare && (strings.Contains(p.SQL, "ORDER BY") || strings.Contains(p.SQL, "OFFSET")) {
				t.Errorf("%s [%s]: %s", tc.params, conn, p.SQL)
			}
		}
	}
}
