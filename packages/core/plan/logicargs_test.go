package plan_test

import (
	"reflect"
	"testing"

	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// LogicArgs (the Hub's `stk logic run`) accepts, refuses and binds every
// params body exactly as a /call of the same logic does (decision 0025).
func TestLogicArgsMatchesCall(t *testing.T) {
	env := logicEnv(t)
	typed := func(conn string) *logic.Logic {
		l := &logic.Logic{Name: "typed", Auth: logic.AuthRoles, Roles: []string{"writer"}, Connection: conn}
		for _, typ := range []string{"string", "integer", "number", "boolean", "uuid", "timestamptz", "date", "json", "array<integer>", "array<string>"} {
			name := map[string]string{"array<integer>": "array_integer", "array<string>": "array_string"}[typ]
			if name == "" {
				name = typ
			}
			l.Params = append(l.Params, logic.Param{Name: name, Type: typ})
			l.Binds = append(l.Binds, logic.Bind{Kind: logic.BindParam, Name: name})
		}
		l.Binds = append(l.Binds, logic.Bind{Kind: logic.BindSub}, logic.Bind{Kind: logic.BindRoles},
			logic.Bind{Kind: logic.BindClaim, Name: "tenant"}, logic.Bind{Kind: logic.BindClaim, Name: "level"})
		return l
	}
	caller := plan.Caller{KeyID: "k", Roles: []string{"writer"}}
	bodies := []string{
		``, `null`, `{}`, `[1]`, `{"nope":1}`,
		`{"string":"O'Brien; DROP TABLE t; --","integer":"9007199254740993","number":1.50,"boolean":true,
			"uuid":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","timestamptz":"2024-05-01T12:00:00+02:00","date":"2024-02-29",
			"json":{"a":[1,"b"]},"array_integer":[1,null,3],"array_string":["a\"b","c"]}`,
		`{"integer":1.5}`, `{"integer":"x"}`, `{"number":"1"}`, `{"boolean":"true"}`, `{"uuid":"nope"}`,
		`{"timestamptz":"2024-05-01 12:00:00"}`, `{"date":"2024-02-30"}`, `{"string":"a\u0000b"}`,
		`{"array_integer":[[1]]}`, `{"array_string":"a"}`, `{"string":null}`,
	}
	for _, c := range []struct{ name, conn, engine string }{
		{"typed", "main", schema.EnginePostgres}, {"lite/typed", "lite", schema.EngineSQLite},
	} {
		l := typed(c.conn)
		l.Name = c.name
		for _, body := range bodies {
			p, callErr := env.Plan(caller, plan.Target{Logic: c.name}, []byte(body))
			args, runErr := plan.LogicArgs(l, c.engine, []byte(body), &caller)
			if (callErr == nil) != (runErr == nil) {
				t.Errorf("%s %s: /call %v, run %v", c.engine, body, callErr, runErr)
				continue
			}
			if callErr != nil {
				if callErr.Error() != runErr.Error() {
					t.Errorf("%s %s: /call says %q, run says %q", c.engine, body, callErr, runErr)
				}
				continue
			}
			if !reflect.DeepEqual(p.Args, args) {
				t.Errorf("%s %s: /call binds %#v, run binds %#v", c.engine, body, p.Args, args)
			}
		}
	}
	// A required param, a default, a release defect and an unknown engine.
	req := &logic.Logic{Name: "r", Auth: logic.AuthPrivate, Connection: "main",
		Params: []logic.Param{{Name: "a", Type: "integer", Required: true}, {Name: "b", Type: "integer", Default: "7"}},
		Binds:  []logic.Bind{{Kind: logic.BindParam, Name: "a"}, {Kind: logic.BindParam, Name: "b"}, {Kind: logic.BindRoles}}}
	if args, err := plan.LogicArgs(req, schema.EnginePostgres, []byte(`{"a":1}`), &plan.Caller{}); err != nil ||
		!reflect.DeepEqual(args, []any{"1", "7", "{}"}) {
		t.Errorf("default and empty roles: %#v %v", args, err)
	}
	if _, err := plan.LogicArgs(req, schema.EngineSQLite, nil, &plan.Caller{}); logicStatus(err) != 400 {
		t.Errorf("missing required: %v", err)
	}
	req.Binds = append(req.Binds, logic.Bind{Kind: logic.BindParam, Name: "ghost"})
	if _, err := plan.LogicArgs(req, schema.EnginePostgres, []byte(`{"a":1}`), &plan.Caller{}); logicStatus(err) != 500 {
		t.Errorf("undeclared bind: %v", err)
	}
	if _, err := plan.LogicArgs(req, "oracle", []byte(`{"a":1}`), &plan.Caller{}); logicStatus(err) != 500 && logicStatus(err) != 503 {
		t.Errorf("unknown engine: %v", err)
	}
}
