package plan

import (
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// TestStrictParams: params that encoding/json would repair (invalid UTF-8
// and lone surrogates to U+FFFD) or read ambiguously (the last of two equal
// names wins) are 400 naming where, at every depth and on every op, rather
// than reaching the database (SPEC §3, §4.2; issue #11 item 4).
func TestStrictParams(t *testing.T) {
	e := fixtureEnv(t)
	const bad = apierr.BadRequest
	ins := "db/main/users/insert"
	upd := "db/main/users/update"
	runErrCases(t, e, []errCase{
		{name: "lone high surrogate in where", params: `{"where":{"name":"\ud800"}}`, want: bad, msg: `lone surrogate escape \ud800`, at: "params.where.name"},
		{name: "lone low surrogate in $in", params: `{"where":{"name":{"$in":["a","\udc00"]}}}`, want: bad, msg: `\udc00`, at: "params.where.name.$in[1]"},
		{name: "high surrogate then a letter", path: ins, params: `{"data":{"name":"\ud83dx"}}`, want: bad, msg: "lone surrogate", at: "params.data.name"},
		{name: "invalid UTF-8 in data", path: ins, params: "{\"data\":[{\"name\":\"ok\"},{\"name\":\"a\xc3(\"}]}", want: bad, msg: "invalid UTF-8", at: "params.data[1].name"},
		{name: "invalid UTF-8 in a jsonb document", path: ins, params: "{\"data\":{\"name\":\"a\",\"meta\":{\"k\":[\"\xff\"]}}}", want: bad, msg: "invalid UTF-8", at: "params.data.meta.k[0]"},
		{name: "duplicate column in where", params: `{"where":{"name":"a","name":"b"}}`, want: bad, msg: `duplicate key "name" in params.where`, at: "params.where"},
		{name: "duplicate escaped column in data", path: upd, params: `{"where":{"id":1},"data":{"name":"a","n\u0061me":"b"}}`, want: bad, msg: `duplicate key "name"`, at: "params.data"},
		{name: "duplicate key in a row", path: ins, params: `{"data":[{"name":"a"},{"name":"b","name":"c"}]}`, want: bad, msg: `duplicate key "name" in params.data[1]`, at: "params.data[1]"},
		{name: "duplicate key in a jsonb value", path: ins, params: `{"data":{"name":"a","meta":{"x":1,"x":2}}}`, want: bad, msg: `duplicate key "x" in params.data.meta`},
		{name: "duplicate operator", params: `{"where":{"age":{"$gt":1,"$gt":5}}}`, want: bad, msg: `duplicate key "$gt"`, at: "params.where.age"},
		{name: "a pair is fine", path: ins, params: `{"data":{"name":"\ud83d\ude00 é"}}`},
		{name: "names differing in case are distinct", params: `{"where":{"name":"a","NAME":"b"}}`, want: bad, msg: `unknown column "NAME"`},
	})
}
