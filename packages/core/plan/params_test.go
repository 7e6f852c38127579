package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

func mustTarget(t testing.TB, path string) Target {
	t.Helper()
	tg, err := ParsePath(path)
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", path, err)
	}
	return tg
}

type errCase struct {
	name   string
	c      Caller
	path   string // default db/main/users/select
	params string
	want   apierr.Code
	msg    string // substring of the message
	at     string // details.problems[0].path, when set
}

func runErrCases(t *testing.T, e *Env, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		c := tc.c
		if c.KeyID == "" && !c.Anonymous && !c.EndUser && !c.Superuser {
			c = admin
		}
		path := tc.path
		if path == "" {
			path = "db/main/users/select"
		}
		for _, conn := range []string{"main", "lite"} {
			p := strings.Replace(path, "db/main/", "db/"+conn+"/", 1)
			plan, err := e.Plan(c, mustTarget(t, p), []byte(tc.params))
			if got := code(t, err); got != tc.want {
				t.Errorf("%s [%s]: Plan(%s, %s) = %v; want %s", tc.name, conn, p, tc.params, err, tc.want)
				continue
			}
			if tc.want == "" {
				if plan == nil || plan.SQL == "" {
					t.Errorf("%s [%s]: empty plan", tc.name, conn)
				}
				continue
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s [%s]: error %q does not contain %q", tc.name, conn, err, tc.msg)
			}
			if tc.at != "" {
				var ae *apierr.Error
				errors.As(err, &ae)
				probs, _ := ae.Details["problems"].([]apierr.Problem)
				if len(probs) == 0 || probs[0].Path != tc.at {
					t.Errorf("%s [%s]: problems %v; want path %q", tc.name, conn, ae.Details, tc.at)
				}
			}
		}
	}
}

func TestParamErrors(t *testing.T) {
	e := fixtureEnv(t)
	const bad = apierr.BadRequest
	ins := "db/main/users/insert"
	upd := "db/main/users/update"
	del := "db/main/users/delete"
	runErrCases(t, e, []errCase{
		// The params object.
		{name: "no params", params: ``},
		{name: "null params", params: `null`},
		{name: "empty params", params: ` { } `},
		{name: "invalid JSON", params: `{"limit":`, want: bad, msg: "not valid JSON", at: "params.limit"},
		{name: "array params", params: `[]`, want: bad, msg: "params must be an object", at: "params"},
		{name: "string params", params: `"x"`, want: bad, msg: "params must be an object"},
		{name: "unknown param", params: `{"limt":1}`, want: bad, msg: `unknown param "limt" for select`, at: "params.limt"},
		{name: "escaped param name", params: `{"li\u006dit":1}`},
		{name: "param of another op", params: `{"data":{}}`, want: bad, msg: `unknown param "data" for select`},
		{name: "select param on insert", path: ins, params: `{"data":{"name":"x"},"limit":1}`, want: bad, msg: `unknown param "limit" for insert`},
		{name: "count on delete", path: del, params: `{"where":{"id":1},"count":true}`, want: bad, msg: `unknown param "count" for delete`},
		{name: "duplicate param", params: `{"limit":1,"limit":2}`, want: bad, msg: `duplicate key "limit" in params`},
		{name: "null param is absent", params: `{"limit":null,"where":null,"select":null,"orderBy":null,"offset":null,"count":null}`},

		// select.
		{name: "select star", params: `{"select":"*"}`},
		{name: "select string", params: `{"select":"id"}`, want: bad, msg: `select must be "*" or an array`, at: "select"},
		{name: "select object", params: `{"select":{}}`, want: bad, msg: `select must be "*"`},
		{name: "select empty", params: `{"select":[]}`, want: bad, msg: "at least one column"},
		{name: "select number", params: `{"select":[1]}`, want: bad, msg: "column names", at: "select[0]"},
		{name: "select empty name", params: `{"select":["id",""]}`, want: bad, msg: "column names", at: "select[1]"},
		{name: "select twice", params: `{"select":["id","id"]}`, want: bad, msg: `names column "id" twice`},
		{name: "select unknown", params: `{"select":["id","nope"]}`, want: bad, msg: `unknown column "nope" of`, at: "select[1]"},

		// where: grammar (core/filter), columns, operators, types.
		{name: "where grammar", params: `{"where":{"age":{"$foo":1}}}`, want: bad, msg: "$foo"},
		{name: "where array", params: `{"where":[]}`, want: bad},
		{name: "where unknown column", params: `{"where":{"nope":1}}`, want: bad, msg: `unknown column "nope"`, at: "where.nope"},
		{name: "where odd column", params: `{"where":{"a b":1}}`, want: bad, at: `where["a b"]`},
		{name: "integer string", params: `{"where":{"age":"1"}}`, want: bad, msg: `column "age" (integer): expected an integer`, at: "where.age"},
		{name: "integer fraction", params: `{"where":{"age":1.5}}`, want: bad, msg: "expected an integer"},
		{name: "integer exponent", params: `{"where":{"age":1e3}}`},
		{name: "integer point zero", params: `{"where":{"age":{"$in":[1.0,-0,1.5e1]}}}`},
		{name: "integer exponent fraction", params: `{"where":{"age":1e-1}}`, want: bad, msg: `column "age" (integer): expected an integer`},
		{name: "integer huge exponent", params: `{"where":{"age":1e400}}`, want: bad, msg: `column "age" (integer): expected an integer`},
		{name: "integer in fraction", params: `{"where":{"age":{"$in":[1,2.5]}}}`, want: bad, msg: `column "age" (integer): expected an integer`, at: "where.age[1]"},
		{name: "bigint exponent range", params: `{"where":{"id":1e19}}`, want: bad, msg: `column "id" (bigint): expected an integer`},
		{name: "bigint exponent", params: `{"where":{"id":9.2e18}}`},
		{name: "integer range", params: `{"where":{"age":2147483648}}`, want: bad, msg: "between -2147483648 and 2147483647"},
		{name: "integer min", params: `{"where":{"age":-2147483648}}`},
		{name: "bigint string", params: `{"where":{"id":"9007199254740993"}}`},
		{name: "bigint bad string", params: `{"where":{"id":"12a"}}`, want: bad, msg: "expected an integer"},
		{name: "bigint range", params: `{"where":{"id":9223372036854775808}}`, want: bad, msg: "expected an integer"},
		{name: "boolean string", params: `{"where":{"active":"true"}}`, want: bad, msg: "expected true or false"},
		{name: "boolean number", params: `{"where":{"active":1}}`, want: bad, msg: "expected true or false"},
		{name: "float string", params: `{"where":{"score":"1"}}`, want: bad, msg: "expected a number"},
		{name: "float range", params: `{"where":{"score":1e400}}`, want: bad, msg: "range of a double"},
		{name: "numeric string", params: `{"where":{"balance":"-1.5e3"}}`},
		{name: "numeric bad", params: `{"where":{"balance":"abc"}}`, want: bad, msg: "numeric"},
		{name: "numeric NaN", params: `{"where":{"balance":"NaN"}}`, want: bad, msg: "numeric"},
		{name: "numeric bool", params: `{"where":{"balance":true}}`, want: bad, msg: "numeric"},
		{name: "text number", params: `{"where":{"name":1}}`, want: bad, msg: "expected a string"},
		{name: "text object", params: `{"where":{"name":{"$eq":{"a":1}}}}`, want: bad, msg: "expected a string"},
		{name: "text NUL", params: `{"where":{"name":"a\u0000b"}}`, want: bad, msg: "NUL"},
		{name: "timestamptz no offset", params: `{"where":{"created_at":"2024-01-01T00:00:00"}}`, want: bad, msg: "RFC 3339"},
		{name: "timestamptz date only", params: `{"where":{"created_at":"2024-01-01"}}`, want: bad, msg: "RFC 3339"},
		{name: "timestamptz garbage", params: `{"where":{"created_at":"yesterday"}}`, want: bad, msg: "RFC 3339"},
		{name: "timestamptz space", params: `{"where":{"created_at":"2024-01-01 10:00:00+02:00"}}`},
		{name: "timestamptz number", params: `{"where":{"created_at":1700000000}}`, want: bad, msg: "RFC 3339"},
		{name: "timestamp no offset", params: `{"where":{"seen":"2024-01-01T00:00:00.5"}}`},
		{name: "timestamp bad", params: `{"where":{"seen":"2024-02-30T00:00:00"}}`, want: bad, msg: "ISO 8601"},
		{name: "date bad", params: `{"where":{"born":"2024-13-01"}}`, want: bad, msg: "expected a date"},
		{name: "date year 0", params: `{"where":{"born":"0000-01-01"}}`, want: bad, msg: "expected a date"},
		{name: "time bad", params: `{"where":{"wake":"25:00"}}`, want: bad, msg: "time of day"},
		{name: "time offset", params: `{"where":{"wake":"10:00:00+02:00"}}`, want: bad, msg: "time of day"},
		{name: "time short", params: `{"where":{"wake":"10:00"}}`},
		{name: "uuid bad", params: `{"where":{"ext":"not-a-uuid"}}`, want: bad, msg: "expected a UUID"},
		{name: "uuid braces", params: `{"where":{"ext":"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"}}`, want: bad, msg: "expected a UUID"},
		{name: "bytea bad", params: `{"where":{"avatar":"!!"}}`, want: bad, msg: "base64"},
		{name: "bytea unpadded", params: `{"where":{"avatar":"aGVsbG8"}}`},
		{name: "array wrong elem", params: `{"where":{"tags":[1]}}`, want: bad, msg: "expected a string as array element"},
		{name: "array not array", params: `{"where":{"tags":{"$eq":"a"}}}`, want: bad, msg: "expected an array"},
		{name: "array too deep", params: `{"where":{"tags":[[[[[[["a"]]]]]]]}}`, want: bad, msg: "6 dimensions"},
		{name: "in element type", params: `{"where":{"age":{"$in":[1,"x"]}}}`, want: bad, msg: "expected an integer", at: "where.age[1]"},
		{name: "in empty", params: `{"where":{"age":{"$in":[]}}}`},
		{name: "like escape at end", params: `{"where":{"name":{"$like":"ab\\"}}}`, want: bad, msg: "escape character"},
		{name: "like escaped escape", params: `{"where":{"name":{"$like":"ab\\\\"}}}`},
		{name: "ilike NUL", params: `{"where":{"name":{"$ilike":"a\u0000"}}}`, want: bad, msg: "NUL"},
		{name: "like on integer", params: `{"where":{"age":{"$like":"1%"}}}`, want: bad, msg: "operator $like is not supported on column \"age\" (integer)"},
		{name: "gt on boolean", params: `{"where":{"active":{"$gt":false}}}`, want: bad, msg: "operator $gt is not supported"},
		{name: "in on array", params: `{"where":{"tags":{"$in":["a"]}}}`, want: bad, msg: "operator $in is not supported"},
		{name: "gt on bytea", params: `{"where":{"avatar":{"$gt":"AA=="}}}`, want: bad, msg: "operator $gt is not supported"},
		{name: "eq on jsonb", params: `{"where":{"meta":{"$eq":{"a":1}},"doc":{"$ne":[1,"x"]}}}`},
		{name: "eq on jsonb scalar", params: `{"where":{"meta":"a","doc":5}}`},
		{name: "in on jsonb", params: `{"where":{"meta":{"$in":["a"]}}}`, want: bad, msg: `operator $in is not supported on column "meta" (jsonb); it supports $eq, $ne, $isNull`},
		{name: "gt on json", params: `{"where":{"doc":{"$gt":1}}}`, want: bad, msg: `operator $gt is not supported on column "doc" (json); it supports $eq, $ne, $isNull`},
		{name: "jsonb NUL", params: `{"where":{"meta":{"$eq":{"a":["x\u0000"]}}}}`, want: bad, msg: `column "meta" (jsonb): a JSON string or key cannot contain \u0000`},
		{name: "jsonb NUL key", params: `{"where":{"doc":{"$eq":{"\u0000":1}}}}`, want: bad, msg: `column "doc" (json): a JSON string or key cannot contain \u0000`},
		{name: "jsonb NUL insert", path: ins, params: `{"data":[{"name":"a","meta":1},{"name":"b","meta":{"k":"\u0000"}}]}`, want: bad, msg: `column "meta" (jsonb)`, at: "data[1].meta"},
		{name: "integral insert", path: ins, params: `{"data":{"name":"a","age":4.0e1,"id":1e3}}`},
		{name: "integral insert fraction", path: ins, params: `{"data":{"name":"a","age":40.5}}`, want: bad, msg: `column "age" (integer): expected an integer`, at: "data.age"},
		{name: "integral update", path: upd, params: `{"data":{"age":-0.0},"where":{"id":1.0}}`},
		{name: "isNull on jsonb", params: `{"where":{"meta":null,"doc":{"$isNull":false}}}`},
		{name: "other not filterable", params: `{"where":{"iv":{"$isNull":true}}}`, want: bad, msg: `column "iv" (other) cannot be filtered`},

		// orderBy.
		{name: "orderBy object", params: `{"orderBy":{"name":"asc","id":"desc"}}`},
		{name: "orderBy array", params: `{"orderBy":[{"name":"asc"},{"id":"desc"}]}`},
		{name: "orderBy string", params: `{"orderBy":"name"}`, want: bad, msg: "orderBy must be", at: "orderBy"},
		{name: "orderBy direction", params: `{"orderBy":{"name":"up"}}`, want: bad, msg: `direction of "name" must be "asc" or "desc"`, at: "orderBy.name"},
		{name: "orderBy direction case", params: `{"orderBy":{"name":"ASC"}}`, want: bad, msg: "direction"},
		{name: "orderBy empty object", params: `{"orderBy":{}}`, want: bad, msg: "orderBy entries"},
		{name: "orderBy empty array", params: `{"orderBy":[]}`, want: bad, msg: "must not be empty"},
		{name: "orderBy two keys in array", params: `{"orderBy":[{"name":"asc","id":"asc"}]}`, want: bad, msg: "exactly one key", at: "orderBy[0]"},
		{name: "orderBy array of strings", params: `{"orderBy":["name"]}`, want: bad, at: "orderBy[0]"},
		{name: "orderBy twice", params: `{"orderBy":[{"name":"asc"},{"name":"desc"}]}`, want: bad, msg: "twice"},
		{name: "orderBy unknown", params: `{"orderBy":{"nope":"asc"}}`, want: bad, msg: `unknown column "nope"`, at: "orderBy.nope"},
		{name: "orderBy jsonb", params: `{"orderBy":{"meta":"asc"}}`, want: bad, msg: "cannot be ordered by"},
		{name: "orderBy other", params: `{"orderBy":[{"iv":"desc"}]}`, want: bad, msg: "cannot be ordered by", at: "orderBy[0].iv"},

		// limit, offset, count.
		{name: "limit 0", params: `{"limit":0}`},
		{name: "limit max", params: `{"limit":1000}`},
		{name: "limit over", params: `{"limit":1001}`, want: bad, msg: "limit must be an integer from 0 to 1000", at: "limit"},
		{name: "limit negative", params: `{"limit":-1}`, want: bad, msg: "limit must be"},
		{name: "limit fraction", params: `{"limit":1.5}`, want: bad, msg: "limit must be"},
		{name: "limit string", params: `{"limit":"10"}`, want: bad, msg: "limit must be"},
		{name: "limit huge", params: `{"limit":99999999999999999999}`, want: bad, msg: "limit must be"},
		{name: "offset", params: `{"offset":5000000000}`},
		{name: "offset negative", params: `{"offset":-1}`, want: bad, msg: "offset must be", at: "offset"},
		{name: "offset string", params: `{"offset":"1"}`, want: bad, msg: "offset must be"},
		{name: "count string", params: `{"count":"yes"}`, want: bad, msg: "count must be true or false", at: "count"},
		{name: "count number", params: `{"count":1}`, want: bad, msg: "count must be"},

		// insert.
		{name: "insert no data", path: ins, params: `{}`, want: bad, msg: "insert needs data", at: "data"},
		{name: "insert data number", path: ins, params: `{"data":5}`, want: bad, msg: "data must be an object or an array of objects"},
		{name: "insert empty batch", path: ins, params: `{"data":[]}`, want: bad, msg: "data must hold 1 to 1000 rows"},
		{name: "insert batch of numbers", path: ins, params: `{"data":[1]}`, want: bad, msg: "data rows must be objects", at: "data[0]"},
		{name: "insert empty row", path: ins, params: `{"data":{}}`, want: bad, msg: "at least one column"},
		{name: "insert rows differ (more)", path: ins, params: `{"data":[{"name":"a"},{"name":"b","age":1}]}`, want: bad, msg: "same columns", at: "data[1]"},
		{name: "insert rows differ (other)", path: ins, params: `{"data":[{"name":"a","age":1},{"name":"b","email":"x"}]}`, want: bad, msg: "same columns", at: "data[1]"},
		{name: "insert unknown column", path: ins, params: `{"data":{"name":"a","nope":1}}`, want: bad, msg: `unknown column "nope"`, at: "data.nope"},
		{name: "insert generated", path: ins, params: `{"data":{"name":"a","full_name":"x"}}`, want: bad, msg: `column "full_name" of`, at: "data.full_name"},
		{name: "insert identity", path: ins, params: `{"data":{"name":"a","id":5}}`},
		{name: "insert null into NOT NULL", path: ins, params: `{"data":{"name":null}}`, want: bad, msg: `column "name" of`, at: "data.name"},
		{name: "insert type in batch", path: ins, params: `{"data":[{"name":"a","age":1},{"name":"b","age":"x"}]}`, want: bad, msg: "expected an integer", at: "data[1].age"},
		{name: "insert nulls", path: ins, params: `{"data":{"name":"a","age":null,"tags":null,"meta":null}}`},
		{name: "insert other as text", path: ins, params: `{"data":{"name":"a","iv":"1 day"}}`},
		{name: "insert other not text", path: ins, params: `{"data":{"name":"a","iv":1}}`, want: bad, msg: "expected a string"},
		{name: "insert json any", path: ins, params: `{"data":{"name":"a","meta":[1,{"b":null}],"doc":"s"}}`},
		{name: "insert malformed row", path: ins, params: `{"data":[{"name":"a"},"x"]}`, want: bad, at: "data[1]"},

		// returning.
		{name: "returning string", path: del, params: `{"where":{"id":1},"returning":"id"}`, want: bad, msg: `returning must be "*"`},
		{name: "returning number", path: del, params: `{"where":{"id":1},"returning":5}`, want: bad, msg: `returning must be "*", an array of column names or false`},
		{name: "returning empty", path: del, params: `{"where":{"id":1},"returning":[]}`, want: bad, msg: "at least one column"},
		{name: "returning unknown", path: del, params: `{"where":{"id":1},"returning":["nope"]}`, want: bad, msg: `unknown column "nope"`, at: "returning[0]"},
		{name: "returning true", path: del, params: `{"where":{"id":1},"returning":true}`, want: bad, msg: `returning must be "*", an array of column names or false`},
		{name: "returning star", path: del, params: `{"where":{"id":1},"returning":"*"}`},

		// update.
		{name: "update no data", path: upd, params: `{"where":{"id":1}}`, want: bad, msg: "update needs data", at: "data"},
		{name: "update data array", path: upd, params: `{"data":[{"name":"a"}],"where":{"id":1}}`, want: bad, msg: "update needs data"},
		{name: "update empty data", path: upd, params: `{"data":{},"where":{"id":1}}`, want: bad, msg: "at least one column"},
		{name: "update no where", path: upd, params: `{"data":{"name":"a"}}`, want: bad, msg: "update needs a non-empty where", at: "where"},
		{name: "update empty where", path: upd, params: `{"data":{"name":"a"},"where":{}}`, want: bad, msg: "non-empty where"},
		{name: "update null where", path: upd, params: `{"data":{"name":"a"},"where":null}`, want: bad, msg: "non-empty where"},
		{name: "update generated", path: upd, params: `{"data":{"full_name":"a"},"where":{"id":1}}`, want: bad, msg: "generated"},
		{name: "update null NOT NULL", path: upd, params: `{"data":{"name":null},"where":{"id":1}}`, want: bad, msg: "cannot be null"},

		// delete.
		{name: "delete no where", path: del, params: `{}`, want: bad, msg: "delete needs a non-empty where"},
		{name: "delete empty where", path: del, params: `{"where":{}}`, want: bad, msg: "non-empty where"},
		{name: "delete data", path: del, params: `{"where":{"id":1},"data":{}}`, want: bad, msg: `unknown param "data" for delete`},
	})
}

func TestBatchLimit(t *testing.T) {
	b := fixtureBundle(t)
	e, err := Compile(b, Limits{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	runErrCases(t, e, []errCase{
		{name: "batch at max", path: "db/main/users/insert", params: `{"data":[{"name":"a"},{"name":"b"}]}`},
		{name: "batch over max", path: "db/main/users/insert", params: `{"data":[{"name":"a"},{"name":"b"},{"name":"c"}]}`, want: apierr.BadRequest, msg: "1 to 2 rows"},
	})
	e, err = Compile(b, Limits{MaxLimit: 10, DefaultLimit: 50})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(admin, mustTarget(t, "db/main/users/select"), nil)
	if err != nil || p.Args[0] != int64(10) {
		t.Fatalf("default limit is capped at max: %v %v", p, err)
	}
	runErrCases(t, e, []errCase{{name: "limit over configured max", params: `{"limit":11}`, want: apierr.BadRequest, msg: "from 0 to 10"}})
}

// TestColumnPermissions: columns read in select, where, orderBy and
// returning need the caller's select rule; columns in data the op's rule
// (SPEC §4.3). Unknown columns are 400 before any 403; a 403 comes before
// type checks so a hidden column's type does not leak.
func TestColumnPermissions(t *testing.T) {
	e := fixtureEnv(t)
	const forbid = apierr.Forbidden
	upd := "db/main/users/update"
	runErrCases(t, e, []errCase{
		{name: "select hidden", c: reader, params: `{"select":["id","secret"]}`, want: forbid, msg: `role reader may not read column "secret" of`},
		{name: "where hidden", c: reader, params: `{"where":{"secret":"x"}}`, want: forbid, msg: `"secret"`},
		{name: "where hidden nested", c: reader, params: `{"where":{"$or":[{"id":1},{"$not":{"secret":{"$like":"a%"}}}]}}`, want: forbid, msg: `"secret"`},
		{name: "where hidden isNull", c: reader, params: `{"where":{"secret":null}}`, want: forbid},
		{name: "orderBy hidden", c: reader, params: `{"orderBy":{"secret":"asc"}}`, want: forbid, msg: `"secret"`},
		{name: "where hidden before type", c: enduser, params: `{"where":{"email":5}}`, want: forbid, msg: `an end user without roles may not read column "email"`},
		{name: "unknown before hidden", c: enduser, params: `{"where":{"nope":5}}`, want: apierr.BadRequest},
		{name: "end user select list", c: enduser, params: `{"select":["id","email"]}`, want: forbid},
		{name: "end user allowed", c: enduser, params: `{"select":["id","name"],"where":{"name":"a"},"orderBy":{"id":"desc"}}`},
		{name: "returning hidden", c: writer, path: upd, params: `{"data":{"name":"a"},"where":{"id":1},"returning":["id","secret"]}`, want: forbid, msg: `role writer may not read column "secret"`},
		{name: "data not writable", c: writer, path: upd, params: `{"data":{"name":"a","active":true},"where":{"id":1}}`, want: forbid, msg: `role writer may not write column "active" of `},
		{name: "data writable", c: writer, path: upd, params: `{"data":{"name":"a","email":"e","age":3},"where":{"id":1}}`},
		{name: "unknown data before 403", c: writer, path: upd, params: `{"data":{"nope":1},"where":{"id":1}}`, want: apierr.BadRequest},
		{name: "no select rule: where", c: writer, path: "db/main/events/update", params: `{"data":{"kind":"a"},"where":{"id":1}}`, want: forbid, msg: "events, so may not use column \"id\""},
		{name: "no select rule: returning", c: ingest, path: "db/main/events/insert", params: `{"data":{"kind":"a"},"returning":["id"]}`, want: forbid, msg: `role ingest may not read `},
		{name: "no select rule: default returning", c: ingest, path: "db/main/events/insert", params: `{"data":{"kind":"a"}}`},
		{name: "no select rule: returning star", c: ingest, path: "db/main/events/insert", params: `{"data":{"kind":"a"},"returning":"*"}`},
		{name: "superuser hidden", c: super, params: `{"select":["secret"],"where":{"secret":"x"}}`},
	})

	// Default select and returning are the readable columns only.
	p, err := e.Plan(writer, mustTarget(t, upd), []byte(`{"data":{"name":"a"},"where":{"id":1}}`))
	if err != nil || hasColumn(p, "secret") || !hasColumn(p, "email") || strings.Contains(p.SQL, `"secret"`) {
		t.Fatalf("default returning: %v %v", p, err)
	}
	p, err = e.Plan(ingest, mustTarget(t, "db/main/events/insert"), []byte(`{"data":{"kind":"a"}}`))
	if err != nil || len(p.Columns) != 0 || strings.Contains(p.SQL, "RETURNING") {
		t.Fatalf("no select rule, no returning: %v %v", p, err)
	}
}

// TestOwner: the owner shorthand (SPEC §5.3) filters end users' select,
// update and delete by the owner column and sets it on insert; API keys are
// not restricted.
func TestOwner(t *testing.T) {
	e := fixtureEnv(t)
	for _, conn := range []string{"main", "lite"} {
		ph := func(n int) string {
			if conn == "main" {
				return fmt.Sprintf("$%d", n)
			}
			return "?"
		}
		p, err := e.Plan(enduser, mustTarget(t, "db/"+conn+"/posts/select"), []byte(`{"where":{"$or":[{"title":"a"},{"title":"b"}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		want := `WHERE ("title" = ` + ph(1) + ` OR "title" = ` + ph(2) + `) AND "author_id" = ` + ph(3) + ` ORDER BY`
		if !strings.Contains(p.SQL, want) || p.Args[2] != "u1" {
			t.Errorf("[%s] owner select: %s %v; want %s", conn, p.SQL, p.Args, want)
		}
		p, err = e.Plan(enduser, mustTarget(t, "db/"+conn+"/posts/select"), []byte(`{"count":true}`))
		if err != nil || !strings.Contains(p.SQL, `WHERE "author_id" = `+ph(1)+" ") || !strings.HasSuffix(p.CountSQL, `WHERE "author_id" = `+ph(1)) || len(p.CountArgs) != 1 {
			t.Errorf("[%s] owner without where: %v %v", conn, p, err)
		}
		p, err = e.Plan(anon, mustTarget(t, "db/"+conn+"/posts/select"), nil)
		if err != nil || strings.Contains(p.SQL, "author_id\" =") {
			t.Errorf("[%s] anonymous callers are not end users: %v %v", conn, p, err)
		}
		p, err = e.Plan(enduser, mustTarget(t, "db/"+conn+"/posts/insert"), []byte(`{"data":[{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t"},{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12","title":"u"}]}`))
		if err != nil || !strings.Contains(p.SQL, `("id","author_id","title")`) || strings.Count(p.Args[0].(string), `"u1"`) != 2 {
			t.Errorf("[%s] owner insert sets the column: %v %v", conn, p, err)
		}
		_, err = e.Plan(enduser, mustTarget(t, "db/"+conn+"/posts/insert"), []byte(`{"data":{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t","author_id":"u1"}}`))
		if err != nil {
			t.Errorf("[%s] own id: %v", conn, err)
		}
		_, err = e.Plan(enduser, mustTarget(t, "db/"+conn+"/posts/insert"), []byte(`{"data":{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t","author_id":"u2"}}`))
		if code(t, err) != apierr.Forbidden || !strings.Contains(err.Error(), "owner column") {
			t.Errorf("[%s] other owner: %v", conn, err)
		}
		_, err = e.Plan(writer, mustTarget(t, "db/"+conn+"/posts/insert"), []byte(`{"data":{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t","author_id":"u2"}}`))
		if err != nil {
			t.Errorf("[%s] API keys are not restricted by owner: %v", conn, err)
		}
		_, err = e.Plan(Caller{EndUser: true}, mustTarget(t, "db/"+conn+"/posts/select"), nil)
		if code(t, err) != apierr.Forbidden {
			t.Errorf("[%s] end user without subject: %v", conn, err)
		}
	}
	p, err := e.Plan(enduser, mustTarget(t, "db/main/posts/update"), []byte(`{"data":{"title":"x"},"where":{"title":"a"}}`))
	if err != nil || !strings.Contains(p.SQL, `SET "title" = $1 WHERE "title" = $2 AND "author_id" = $3 RETURNING`) {
		t.Errorf("owner update: %v %v", p, err)
	}
	if _, err := e.Plan(enduser, mustTarget(t, "db/main/posts/update"), []byte(`{"data":{"author_id":"u2"},"where":{"title":"a"}}`)); code(t, err) != apierr.Forbidden {
		t.Errorf("owner update giving the row away: %v", err)
	}
}
