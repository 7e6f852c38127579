package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

func cond(col, op string, v any) *Node { return &Node{Kind: KindCond, Column: col, Op: op, Value: v} }
func and(kids ...*Node) *Node          { return &Node{Kind: KindAnd, Children: kids} }
func or(kids ...*Node) *Node           { return &Node{Kind: KindOr, Children: kids} }
func not(kid *Node) *Node              { return &Node{Kind: KindNot, Children: []*Node{kid}} }
func deepArray(n int) any {
	v := []any{}
	for i := 1; i < n; i++ {
		v = []any{v}
	}
	return v
}

func num(s string) json.Number { return json.Number(s) }

func TestParseOK(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Node
	}{
		{"absent", ``, nil},
		{"blank", " \n\t ", nil},
		{"null", `null`, nil},
		{"empty object", ` {} `, nil},
		{"shorthand string", `{"status":"active"}`, cond("status", OpEq, "active")},
		{"shorthand number", `{"age":18}`, cond("age", OpEq, num("18"))},
		{"shorthand float", `{"score":-1.5e3}`, cond("score", OpEq, num("-1.5e3"))},
		{"shorthand bool", `{"ok":false}`, cond("ok", OpEq, false)},
		{"shorthand null", `{"deleted_at":null}`, cond("deleted_at", OpIsNull, true)},
		{"shorthand array", `{"tags":["a",1,null,[true]]}`, cond("tags", OpEq, []any{"a", num("1"), nil, []any{true}})},
		{"shorthand empty array", `{"tags":[]}`, cond("tags", OpEq, []any{})},
		{"$eq", `{"a":{"$eq":"x"}}`, cond("a", OpEq, "x")},
		{"$eq null", `{"a":{"$eq":null}}`, cond("a", OpIsNull, true)},
		{"$eq json object", `{"meta":{"$eq":{"k":[1,{"$gt":2}],"z":null}}}`,
			cond("meta", OpEq, map[string]any{"k": []any{num("1"), map[string]any{"$gt": num("2")}}, "z": nil})},
		{"$eq empty json object", `{"meta":{"$eq":{}}}`, cond("meta", OpEq, map[string]any{})},
		{"json value repeated key keeps the last", `{"meta":{"$eq":{"k":1,"k":2}}}`, cond("meta", OpEq, map[string]any{"k": num("2")})},
		{"deep json value", `{"a":{"$eq":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, cond("a", OpEq, deepArray(100))},
		{"whitespace before operator object", "{\"a\" \n:\t {\"$gt\" : 1 } }", cond("a", OpGt, num("1"))},
		{"$ne", `{"a":{"$ne":3}}`, cond("a", OpNe, num("3"))},
		{"$ne null", `{"a":{"$ne":null}}`, cond("a", OpIsNull, false)},
		{"$gt", `{"a":{"$gt":1}}`, cond("a", OpGt, num("1"))},
		{"$gte", `{"a":{"$gte":"2024-01-01T00:00:00Z"}}`, cond("a", OpGte, "2024-01-01T00:00:00Z")},
		{"$lt", `{"a":{"$lt":true}}`, cond("a", OpLt, true)},
		{"$lte", `{"a":{"$lte":0}}`, cond("a", OpLte, num("0"))},
		{"$in", `{"role":{"$in":["admin","owner"]}}`, cond("role", OpIn, []any{"admin", "owner"})},
		{"$in mixed scalars", `{"x":{"$in":[1,"2",false]}}`, cond("x", OpIn, []any{num("1"), "2", false})},
		{"$in empty", `{"x":{"$in":[]}}`, cond("x", OpIn, []any{})},
		{"$nin", `{"x":{"$nin":[1]}}`, cond("x", OpNin, []any{num("1")})},
		{"$nin empty", `{"x":{"$nin":[]}}`, cond("x", OpNin, []any{})},
		{"$like", `{"n":{"$like":"a\\_%"}}`, cond("n", OpLike, `a\_%`)},
		{"$ilike", `{"n":{"$ilike":"a%"}}`, cond("n", OpIlike, "a%")},
		{"$isNull true", `{"n":{"$isNull":true}}`, cond("n", OpIsNull, true)},
		{"$isNull false", `{"n":{"$isNull":false}}`, cond("n", OpIsNull, false)},
		{"range is an and", `{"age":{"$gte":18,"$lt":65}}`,
			and(cond("age", OpGte, num("18")), cond("age", OpLt, num("65")))},
		{"top-level and in key order", `{"b":1,"a":2}`, and(cond("b", OpEq, num("1")), cond("a", OpEq, num("2")))},
		{"$and", `{"$and":[{"a":1},{"b":2}]}`, and(cond("a", OpEq, num("1")), cond("b", OpEq, num("2")))},
		{"$and one element keeps its node", `{"$and":[{"a":1}]}`, and(cond("a", OpEq, num("1")))},
		{"$or", `{"$or":[{"a":1},{"b":2,"c":3}]}`,
			or(cond("a", OpEq, num("1")), and(cond("b", OpEq, num("2")), cond("c", OpEq, num("3"))))},
		{"$not", `{"$not":{"a":1}}`, not(cond("a", OpEq, num("1")))},
		{"$not of several", `{"$not":{"a":1,"b":{"$isNull":false}}}`,
			not(and(cond("a", OpEq, num("1")), cond("b", OpIsNull, false)))},
		{"spec example", `{ "status": "active",
			"deleted_at": null,
			"age": { "$gte": 18, "$lt": 65 },
			"$or": [ { "role": { "$in": ["admin", "owner"] } }, { "name": { "$ilike": "a%" } } ],
			"$not": { "deleted_at": { "$isNull": false } } }`,
			and(
				cond("status", OpEq, "active"),
				cond("deleted_at", OpIsNull, true),
				and(cond("age", OpGte, num("18")), cond("age", OpLt, num("65"))),
				or(cond("role", OpIn, []any{"admin", "owner"}), cond("name", OpIlike, "a%")),
				not(cond("deleted_at", OpIsNull, false)),
			)},
		{"big integers survive", `{"id":123456789012345678901234567890,"x":{"$in":[9007199254740993,-9223372036854775809]},"j":{"$eq":{"n":18446744073709551617}}}`,
			and(
				cond("id", OpEq, num("123456789012345678901234567890")),
				cond("x", OpIn, []any{num("9007199254740993"), num("-9223372036854775809")}),
				cond("j", OpEq, map[string]any{"n": num("18446744073709551617")}),
			)},
		{"odd column names are plain names", `{"a.b":1,"a b":2,"\"; DROP TABLE users; --":3,"Ünïcödé":4}`,
			and(cond("a.b", OpEq, num("1")), cond("a b", OpEq, num("2")),
				cond(`"; DROP TABLE users; --`, OpEq, num("3")), cond("Ünïcödé", OpEq, num("4")))},
		{"injection-looking values are plain values", `{"name":"x' OR '1'='1","n":{"$like":"%'; DELETE FROM t; --"},"r":{"$in":["1) OR (1=1"]}}`,
			and(cond("name", OpEq, "x' OR '1'='1"), cond("n", OpLike, "%'; DELETE FROM t; --"),
				cond("r", OpIn, []any{"1) OR (1=1"}))},
		{"escapes decoded", `{"a\u0062":"\u00e9\n"}`, cond("ab", OpEq, "é\n")},
		{"same column twice via $and", `{"$and":[{"a":{"$gt":1}},{"a":{"$lt":5}}]}`,
			and(cond("a", OpGt, num("1")), cond("a", OpLt, num("5")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), DefaultLimits())
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%s)\n got %s\nwant %s", tt.in, dump(got), dump(tt.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", 500)
	tests := []struct {
		name, in, path, msg string
	}{
		{"not an object", `[]`, "where", "must be an object, got an array"},
		{"string", `"a"`, "where", "must be an object, got a string"},
		{"number", `1`, "where", "must be an object, got a number"},
		{"trailing object", `{} {}`, "where", "unexpected data after the filter"},
		{"trailing garbage", `{"a":1}x`, "where", "unexpected data after the filter"},
		{"trailing null", `null null`, "where", "unexpected data after the filter"},
		{"truncated", `{"a":`, "where.a", "unexpected end of input"},
		{"truncated key", `{"a":1,`, "where", "malformed JSON"},
		{"bad syntax", `{"a" 1}`, "where.a", "malformed JSON at byte"},
		{"trailing comma", `{"a":1,}`, "where", "malformed JSON"},
		{"bad number", `{"a":01}`, "where", "malformed JSON"},
		{"duplicate column", `{"a":1,"a":2}`, "where.a", `duplicate key "a"`},
		{"duplicate logical", `{"$or":[{"a":1}],"$or":[{"b":1}]}`, "where.$or", `duplicate key "$or"`},
		{"duplicate operator", `{"a":{"$gt":1,"$gt":2}}`, "where.a.$gt", `duplicate operator "$gt" on column "a"`},
		{"empty column", `{"":1}`, `where[""]`, "empty column name"},
		{"unknown logical", `{"$foo":1}`, "where.$foo", `unknown logical operator "$foo"`},
		{"column op at filter level", `{"$eq":1}`, "where.$eq", `operator "$eq" needs a column`},
		{"unknown operator", `{"name":{"$regex":"^a"}}`, "where.name.$regex", `unknown operator "$regex" on column "name"`},
		{"logical op inside column", `{"name":{"$not":{"$eq":1}}}`, "where.name.$not", "$not is a filter-level operator"},
		{"plain object value", `{"col":{"a":1}}`, "where.col.a", "to compare a JSON object write {\"col\": {\"$eq\": {…}}}"},
		{"plain keys after operators", `{"col":{"$ne":1,"a":1}}`, "where.col.a", "mixes operators and plain keys; to compare a JSON object write {\"col\": {\"$eq\": {…}}}"},
		{"empty operator object hint", `{"col":{}}`, "where.col", "write {\"col\": {\"$eq\": {}}}"},
		{"mixed keys", `{"col":{"$gt":1,"a":1}}`, "where.col.a", "mixes operators and plain keys"},
		{"empty operator object", `{"col":{}}`, "where.col", "empty operator object"},
		{"$and not array", `{"$and":{"a":1}}`, "where.$and", "$and takes a non-empty array of filter objects, got an object"},
		{"$and empty", `{"$and":[]}`, "where.$and", "$and takes a non-empty array"},
		{"$or empty", `{"$or":[]}`, "where.$or", "$or takes a non-empty array"},
		{"$or element not object", `{"$or":[{"a":1},2]}`, "where.$or[1]", "expected a filter object, got a number"},
		{"$or element empty", `{"$or":[{"a":1},{}]}`, "where.$or[1]", "empty filter object"},
		{"$or element array", `{"$or":[[]]}`, "where.$or[0]", "expected a filter object, got an array"},
		{"$not not object", `{"$not":[{"a":1}]}`, "where.$not", "expected a filter object, got an array"},
		{"$not null", `{"$not":null}`, "where.$not", "expected a filter object, got null"},
		{"$not empty", `{"$not":{}}`, "where.$not", "empty filter object"},
		{"$gt null", `{"a":{"$gt":null}}`, "where.a.$gt", "$gt takes a string, number or boolean, got null"},
		{"$gte array", `{"a":{"$gte":[1]}}`, "where.a.$gte", "got an array"},
		{"$lt object", `{"a":{"$lt":{}}}`, "where.a.$lt", "got an object"},
		{"$lte null", `{"a":{"$lte":null}}`, "where.a.$lte", "got null"},
		{"$in not array", `{"a":{"$in":1}}`, "where.a.$in", "$in takes an array of values, got a number"},
		{"$in null", `{"a":{"$in":null}}`, "where.a.$in", "got null"},
		{"$in null element", `{"a":{"$in":[1,null]}}`, "where.a.$in[1]", "null is not allowed in $in; use $isNull"},
		{"$nin null element", `{"a":{"$nin":[null]}}`, "where.a.$nin[0]", "null is not allowed in $nin"},
		{"$in nested array", `{"a":{"$in":[[1]]}}`, "where.a.$in[0]", "$in takes strings, numbers and booleans, got an array; compare JSON values with $eq (several: an $or of $eq)"},
		{"$nin object", `{"a":{"$nin":["x",{"b":1}]}}`, "where.a.$nin[1]", "got an object"},
		{"$like number", `{"a":{"$like":1}}`, "where.a.$like", "$like takes a string pattern, got a number"},
		{"$ilike null", `{"a":{"$ilike":null}}`, "where.a.$ilike", "got null"},
		{"$isNull string", `{"a":{"$isNull":"yes"}}`, "where.a.$isNull", "$isNull takes true or false, got a string"},
		{"$isNull null", `{"a":{"$isNull":null}}`, "where.a.$isNull", "got null"},
		{"deep error path", `{"$or":[{"a":1},{"$and":[{"name":{"$in":[1,[2]]}}]}]}`, "where.$or[1].$and[0].name.$in[1]", "got an array"},
		{"odd key in path", `{"a b":{"$bad":1}}`, `where["a b"].$bad`, `unknown operator "$bad" on column "a b"`},
		{"long column clipped", `{"` + long + `":{"$bad":1}}`, `where["` + strings.Repeat("x", 60) + `…"].$bad`, `on column "` + strings.Repeat("x", 60) + `…"`},
		{"long operator clipped", `{"a":{"$` + long + `":1}}`, `where.a["$` + strings.Repeat("x", 59) + `…"]`, `unknown operator "$` + strings.Repeat("x", 59) + `…"`},
		{"json value too deep", `{"a":{"$eq":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}}`, "where.a.$eq", "exceeded max depth"},
		{"shorthand array too deep", `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "where.a", "exceeded max depth"},
		{"bad json value", `{"a":{"$eq":[1,}}}`, "where.a.$eq", "malformed JSON at byte"},
		{"bad shorthand value", `{"a":[1 2]}`, "where.a", "malformed JSON at byte"},
		{"missing value", `{"a":}`, "where.a", "malformed JSON"},
		{"truncated operator object", `{"a":{`, "where.a", "unexpected end of input"},
		{"truncated after key", `{"a"`, "where.a", "unexpected end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse([]byte(tt.in), DefaultLimits())
			checkErr(t, n, err, tt.path, tt.msg)
		})
	}
}

// checkErr asserts a BAD_REQUEST *apierr.Error with one problem at path whose
// message contains msg.
func checkErr(t *testing.T, n *Node, err error, path, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; tree %s", dump(n))
	}
	if n != nil {
		t.Fatalf("tree %s returned with error %v", dump(n), err)
	}
	p := problem(t, err)
	if p.Path != path {
		t.Errorf("path = %q, want %q", p.Path, path)
	}
	if !strings.Contains(p.Message, msg) {
		t.Errorf("message = %q, want it to contain %q", p.Message, msg)
	}
	if e := err.(*apierr.Error); !strings.Contains(e.Message, p.Path) || !strings.Contains(e.Message, p.Message) {
		t.Errorf("error message %q does not carry path and problem", e.Message)
	}
}

// problem returns the single problem of a filter error, failing the test if
// err is not a BAD_REQUEST *apierr.Error holding exactly one.
func problem(t testing.TB, err error) apierr.Problem {
	t.Helper()
	e, ok := err.(*apierr.Error)
	if !ok {
		t.Fatalf("error %T %v is not *apierr.Error", err, err)
	}
	if e.Code != apierr.BadRequest || e.Status() != 400 {
		t.Fatalf("code = %s, want BAD_REQUEST", e.Code)
	}
	ps, ok := e.Details["problems"].([]apierr.Problem)
	if !ok || len(ps) != 1 {
		t.Fatalf("details.problems = %#v, want one problem", e.Details["problems"])
	}
	if !strings.HasPrefix(ps[0].Path, "where") || ps[0].Message == "" {
		t.Fatalf("bad problem %+v", ps[0])
	}
	return ps[0]
}

func TestMessagesNeverEchoValues(t *testing.T) {
	secret := "s3cr3t-" + strings.Repeat("v", 100)
	for _, in := range []string{
		`{"a":{"$isNull":"` + secret + `"}}`,
		`{"a":{"$like":["` + secret + `"]}}`,
		`{"a":{"$in":["` + secret + `",null]}}`,
		`{"a":{"$gt":{"k":"` + secret + `"}}}`,
		`{"a":"` + secret + `","a":1}`,
		`{"a":"` + secret + `"} x`,
		`{"a":"` + secret + ``,
		`{"a":{"$eq":[` + secret + `]}}`,
		`{"a":{"$in":[1,"` + secret + `",[]]}}`,
	} {
		_, err := Parse([]byte(in), DefaultLimits())
		if err == nil {
			t.Fatalf("Parse(%s): no error", in)
		}
		p := problem(t, err)
		if strings.Contains(err.Error(), "s3cr3t") && !strings.Contains(p.Path, "s3cr3t") {
			t.Errorf("Parse(%s): message echoes the value: %v", in, err)
		}
		if len(p.Message) > 200 || len(p.Path) > 200 {
			t.Errorf("Parse(%s): long problem %+v", in, p)
		}
	}
}

// nest builds a filter whose innermost object sits at the given depth,
// alternating $not, $and and $or.
func nest(depth int) string {
	s := `{"a":1}`
	for d := depth; d > 1; d-- {
		switch d % 3 {
		case 0:
			s = `{"$not":` + s + `}`
		case 1:
			s = `{"$and":[` + s + `]}`
		default:
			s = `{"b":2,"$or":[{"c":3},` + s + `]}`
		}
	}
	return s
}

func TestLimits(t *testing.T) {
	objects := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"c%d":%d`, i, i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	inList := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprint(i)
		}
		return `{"x":{"$in":[` + strings.Join(vals, ",") + `]}}`
	}
	orOf := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"a":{"$gt":1}}`
		}
		return `{"$or":[` + strings.Join(parts, ",") + `]}`
	}
	def := DefaultLimits()
	if def != (Limits{MaxDepth: 8, MaxLeaves: 100, MaxIn: 1000}) {
		t.Fatalf("DefaultLimits() = %+v", def)
	}
	tests := []struct {
		name       string
		in         string
		lim        Limits
		path, msg  string // empty: must parse
		wantLeaves int
	}{
		{name: "depth 8", in: nest(8), lim: def},
		{name: "depth 9", in: nest(9), lim: def, msg: "nested deeper than 8 levels"},
		{name: "not chain 8", in: strings.Repeat(`{"$not":`, 7) + `{"a":1}` + strings.Repeat("}", 7), lim: def},
		{name: "not chain 9", in: strings.Repeat(`{"$not":`, 8) + `{"a":1}` + strings.Repeat("}", 8), lim: def,
			path: "where" + strings.Repeat(".$not", 8), msg: "nested deeper than 8 levels"},
		{name: "depth 3 custom", in: nest(3), lim: Limits{MaxDepth: 3}},
		{name: "depth 4 custom", in: nest(4), lim: Limits{MaxDepth: 3}, msg: "deeper than 3 levels"},
		{name: "100 leaves", in: objects(100), lim: def, wantLeaves: 100},
		{name: "101 leaves", in: objects(101), lim: def, path: "where.c100", msg: "at most 100"},
		{name: "100 leaves in $or", in: orOf(100), lim: def, wantLeaves: 100},
		{name: "101 leaves in $or", in: orOf(101), lim: def, path: "where.$or[100].a.$gt", msg: "too many conditions"},
		{name: "101 leaves in one range", in: `{"$and":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, 99), ",") + `],"z":{"$gt":1,"$lt":2}}`,
			lim: def, path: "where.z.$lt", msg: "at most 100"},
		{name: "$in 1000", in: inList(1000), lim: def, wantLeaves: 1},
		{name: "$in 1001", in: inList(1001), lim: def, path: "where.x.$in", msg: "$in takes at most 1000 values"},
		{name: "$nin 1001", in: strings.Replace(inList(1001), "$in", "$nin", 1), lim: def, path: "where.x.$nin", msg: "$nin takes at most 1000 values"},
		{name: "$in custom", in: inList(3), lim: Limits{MaxIn: 3}, wantLeaves: 1},
		{name: "$in custom over", in: inList(4), lim: Limits{MaxIn: 3}, msg: "at most 3 values"},
		{name: "zero limits mean defaults", in: inList(1000), lim: Limits{}, wantLeaves: 1},
		{name: "negative limits mean defaults", in: nest(8), lim: Limits{-1, -1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse([]byte(tt.in), tt.lim)
			if tt.msg != "" {
				if err == nil {
					t.Fatalf("no error; %d leaves", n.Leaves())
				}
				p := problem(t, err)
				if tt.path != "" && p.Path != tt.path {
					t.Errorf("path = %q, want %q", p.Path, tt.path)
				}
				if !strings.Contains(p.Message, tt.msg) {
					t.Errorf("message = %q, want %q", p.Message, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLeaves != 0 && n.Leaves() != tt.wantLeaves {
				t.Errorf("Leaves() = %d, want %d", n.Leaves(), tt.wantLeaves)
			}
			checkTree(t, n, tt.lim.withDefaults())
		})
	}
}

func TestDeterministicKeyOrder(t *testing.T) {
	in := []byte(`{"z":1,"m":{"$lt":3,"$gt":1},"a":null,"$or":[{"q":2},{"b":{"$in":[3,1,2]}}],"k":{"$eq":{"y":1,"x":2}}}`)
	first, err := Parse(in, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"z", "m", "a", "q", "b", "k"}
	if got := first.Columns(); !reflect.DeepEqual(got, wantCols) {
		t.Fatalf("Columns() = %q, want %q", got, wantCols)
	}
	if ops := first.Children[1]; ops.Children[0].Op != OpLt || ops.Children[1].Op != OpGt {
		t.Fatalf("operator order lost: %s", dump(ops))
	}
	want := dump(first)
	for i := 0; i < 50; i++ {
		n, err := Parse(in, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if got := dump(n); got != want {
			t.Fatalf("run %d: %s != %s", i, got, want)
		}
	}
}

func TestColumnsAndLeaves(t *testing.T) {
	var nilNode *Node
	if nilNode.Columns() != nil || nilNode.Leaves() != 0 {
		t.Fatal("nil node must have no columns and no leaves")
	}
	n, err := Parse([]byte(`{"a":1,"$not":{"b":2,"a":{"$gt":0,"$lt":9}},"$or":[{"c":1},{"b":1}]}`), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Columns(), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns() = %q, want %q", got, want)
	}
	if n.Leaves() != 6 {
		t.Errorf("Leaves() = %d, want 6", n.Leaves())
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindAnd: "and", KindOr: "or", KindNot: "not", KindCond: "cond", 0: "Kind(0)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

func TestErrorsAreAPIErrors(t *testing.T) {
	_, err := Parse([]byte(`{"a":{"$regex":1}}`), DefaultLimits())
	var e *apierr.Error
	if !errors.As(err, &e) || apierr.As(err).Status() != 400 {
		t.Fatalf("err = %v", err)
	}
	b, _ := json.Marshal(e.Envelope("req_1"))
	want := `{"error":{"code":"BAD_REQUEST","message":"invalid where: where.a.$regex: unknown operator \"$regex\" on column \"a\"","requestId":"req_1","details":{"problems":[{"path":"where.a.$regex","message":"unknown operator \"$regex\" on column \"a\""}]}}}`
	if string(b) != want {
		t.Fatalf("envelope\n got %s\nwant %s", b, want)
	}
}

func BenchmarkParse(b *testing.B) {
	in := []byte(`{"status":"active","deleted_at":null,"age":{"$gte":18,"$lt":65},"$or":[{"role":{"$in":["admin","owner"]}},{"name":{"$ilike":"a%"}}],"$not":{"deleted_at":{"$isNull":false}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
