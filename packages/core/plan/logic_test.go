package plan_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// logicRelease is a release with one logic per auth mode on PostgreSQL
// ("main"), the typed logic on both engines ("lite" is SQLite), and logics
// the release got wrong.
func logicEnv(t testing.TB) *plan.Env {
	t.Helper()
	one := func(name, auth string, roles ...string) logic.Logic {
		return logic.Logic{Name: name, Auth: auth, Roles: roles, Connection: "main", Readonly: true,
			SQL: "SELECT 1 AS one", Columns: []logic.Column{{Name: "one", Type: schema.Integer}}}
	}
	typed := func(name, conn string) logic.Logic {
		l := logic.Logic{Name: name, Auth: logic.AuthRoles, Roles: []string{"writer"}, Connection: conn,
			SQL: "INSERT INTO t VALUES (…)"}
		for _, typ := range []string{"string", "integer", "number", "boolean", "uuid", "timestamptz", "date", "json", "array<integer>", "array<string>"} {
			name := strings.NewReplacer("<", "_", ">", "").Replace(typ)
			l.Params = append(l.Params, logic.Param{Name: name, Type: typ})
			l.Binds = append(l.Binds, logic.Bind{Kind: logic.BindParam, Name: name})
		}
		l.Binds = append(l.Binds, logic.Bind{Kind: logic.BindSub}, logic.Bind{Kind: logic.BindRoles},
			logic.Bind{Kind: logic.BindClaim, Name: "tenant"}, logic.Bind{Kind: logic.BindClaim, Name: "level"})
		return l
	}
	withParams := one("posts/mine", logic.AuthAuthenticated)
	withParams.Readonly = false
	withParams.Params = []logic.Param{
		{Name: "status", Type: "string", Required: true},
		{Name: "limit", Type: "integer", Default: "20"},
		{Name: "tags", Type: "array<string>", Default: `["a","b"]`},
	}
	// :status twice in the file is one positional bind; :limit after
	// :auth.sub: Binds carries the file's order.
	withParams.Binds = []logic.Bind{{Kind: logic.BindParam, Name: "status"}, {Kind: logic.BindSub},
		{Kind: logic.BindParam, Name: "limit"}, {Kind: logic.BindParam, Name: "tags"}}
	withParams.SQL = "SELECT id FROM posts WHERE status = $1 AND author = $2 AND tag = ANY($4) LIMIT $3"
	badType := one("broken/type", logic.AuthPublic)
	badType.Params = []logic.Param{{Name: "x", Type: "money"}}
	badDefault := one("broken/default", logic.AuthPublic)
	badDefault.Params = []logic.Param{{Name: "x", Type: "integer", Default: `"nope"`}}
	undeclared := one("broken/bind", logic.AuthPublic)
	undeclared.Binds = []logic.Bind{{Kind: logic.BindParam, Name: "ghost"}}
	noConn := one("elsewhere", logic.AuthPublic)
	noConn.Connection = "gone"
	b := &bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres}, {Name: "lite", Engine: schema.EngineSQLite}},
		Release: &bundle.Release{ID: "rel_1", Logics: []logic.Logic{
			one("pub", logic.AuthPublic),
			one("auth", logic.AuthAuthenticated),
			one("role", logic.AuthRoles, "admin", "ops"),
			one("priv", logic.AuthPrivate),
			one("admin/_purge", logic.AuthPublic), // private by its name
			one("odd", "sometimes"),               // unknown mode: private
			withParams, typed("typed", "main"), typed("lite/typed", "lite"), badType, badDefault, undeclared, noConn,
		}}}
	env, err := plan.Compile(b, plan.Limits{MaxLimit: 50})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var (
	callAnon    = plan.Caller{Anonymous: true}
	keyNoRole   = plan.Caller{KeyID: "k1", Roles: []string{"reader"}}
	keyRole     = plan.Caller{KeyID: "k2", Roles: []string{"reader", "ops"}}
	userNoRole  = plan.Caller{EndUser: true, Subject: "alice"}
	userRole    = plan.Caller{EndUser: true, Subject: "bob", Roles: []string{"admin"}}
	devSuper    = plan.Caller{Superuser: true}
	devSuperAnn = plan.Caller{Superuser: true, Anonymous: true}
)

func logicStatus(err error) int {
	if err == nil {
		return 200
	}
	return apierr.As(err).Status()
}

// The allow/deny matrix of SPEC §4.2 step 5 and §6 for logic.
func TestLogicAllowDeny(t *testing.T) {
	env := logicEnv(t)
	callers := []struct {
		name string
		c    plan.Caller
	}{{"anonymous", callAnon}, {"key without role", keyNoRole}, {"key with role", keyRole},
		{"end user without role", userNoRole}, {"end user with role", userRole}, {"dev mode", devSuper}, {"dev mode anonymous", devSuperAnn}}
	want := map[string][7]int{
		"pub":          {200, 200, 200, 200, 200, 200, 200},
		"auth":         {401, 403, 403, 200, 200, 200, 200},
		"role":         {401, 403, 200, 403, 200, 200, 200},
		"priv":         {401, 403, 403, 403, 403, 403, 403},
		"admin/_purge": {401, 403, 403, 403, 403, 403, 403},
		"odd":          {401, 403, 403, 403, 403, 403, 403},
		"nope":         {401, 404, 404, 404, 404, 404, 404},
		"broken/type":  {500, 500, 500, 500, 500, 500, 500},
		"elsewhere":    {503, 503, 503, 503, 503, 503, 503},
	}
	for name, statuses := range want {
		for i, c := range callers {
			p, err := env.Plan(c.c, plan.Target{Logic: name}, nil)
			if got := logicStatus(err); got != statuses[i] {
				t.Errorf("%s × %s: status %d (%v), want %d", name, c.name, got, err, statuses[i])
			}
			if err == nil && (p.Logic != name || p.SQL != "SELECT 1 AS one" || !p.Readonly || p.Write || p.MaxRows != 50 ||
				len(p.Columns) != 1 || p.Engine != schema.EnginePostgres || p.Connection != "main") {
				t.Errorf("%s × %s: plan %+v", name, c.name, p)
			}
			if err != nil && strings.Contains(err.Error(), "SELECT") {
				t.Errorf("%s × %s: the message shows SQL: %v", name, c.name, err)
			}
		}
	}
	// An anonymous caller learns nothing: unknown and private read alike.
	_, e1 := env.Plan(callAnon, plan.Target{Logic: "nope"}, nil)
	_, e2 := env.Plan(callAnon, plan.Target{Logic: "priv"}, nil)
	if e1.Error() != e2.Error() {
		t.Errorf("anonymous: unknown %q vs private %q", e1, e2)
	}
	_, err := env.Plan(keyNoRole, plan.Target{Logic: "priv"}, nil)
	if !strings.Contains(err.Error(), "private") {
		t.Errorf("private: %v", err)
	}
}

func TestLogicParams(t *testing.T) {
	env := logicEnv(t)
	mine := plan.Target{Logic: "posts/mine"}
	p, err := env.Plan(userNoRole, mine, []byte(`{"status":"draft"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Binds in order: status, sub, the default limit (as text), tags.
	if want := []any{"draft", "alice", "20", `{"a","b"}`}; !reflect.DeepEqual(p.Args, want) {
		t.Errorf("args %#v, want %#v", p.Args, want)
	}
	if !p.Write || p.Readonly {
		t.Errorf("a logic without readonly runs as a write: %+v", p)
	}
	p, err = env.Plan(userNoRole, mine, []byte(`{"status":"x","limit":5,"tags":null}`))
	if err != nil || !reflect.DeepEqual(p.Args, []any{"x", "alice", "5", `{"a","b"}`}) {
		t.Errorf("given limit, null tags → default: %#v %v", p, err)
	}
	for _, tc := range []struct{ params, path, msg string }{
		{``, "params.status", "required"},
		{`{"status":null}`, "params.status", "required"},
		{`{"status":"x","nope":1}`, "params.nope", `unknown param "nope"`},
		{`{"status":1}`, "params.status", "expected a string"},
		{`{"status":"x","limit":1.5}`, "params.limit", "integer"},
		{`{"status":"x","tags":"a"}`, "params.tags", "expected an array"},
		{`{"status":"x","tags":[["a"]]}`, "params.tags", "array of string"},
		{`[1]`, "params", "object"},
		{`{"status":"x","status":"y"}`, "", "duplicate"},
	} {
		_, err := env.Plan(userNoRole, mine, []byte(tc.params))
		e := apierr.As(err)
		if err == nil || e.Status() != 400 || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %v, want 400 %q", tc.params, err, tc.msg)
			continue
		}
		if tc.path != "" && !strings.Contains(fmt.Sprint(e.Details["problems"]), tc.path) {
			t.Errorf("%s: problems %v, want path %s", tc.params, e.Details["problems"], tc.path)
		}
	}
	// Anonymous before params; unknown logic before params.
	if _, err := env.Plan(callAnon, mine, []byte(`{"bogus":1}`)); logicStatus(err) != 401 {
		t.Errorf("anonymous with bad params: %v", err)
	}
	if _, err := env.Plan(keyNoRole, plan.Target{Logic: "nope"}, []byte(`{"bogus":1}`)); logicStatus(err) != 404 {
		t.Errorf("unknown logic with bad params: %v", err)
	}
	for _, name := range []string{"broken/default", "broken/bind"} {
		if _, err := env.Plan(keyRole, plan.Target{Logic: name}, nil); logicStatus(err) != 500 || !strings.Contains(err.Error(), "apply and release") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Every param type, accepted and refused, on both engines; the auth binds
// for an API key and an end user.
func TestLogicParamTypes(t *testing.T) {
	env := logicEnv(t)
	writer := plan.Caller{KeyID: "k", Roles: []string{"writer", "x\"y"}}
	all := `{"string":"O'Brien; DROP TABLE t; --","integer":"9007199254740993","number":1.50,"boolean":true,
		"uuid":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","timestamptz":"2024-05-01T12:00:00+02:00","date":"2024-02-29",
		"json":{"a":[1,"b"]},"array_integer":[1,null,3],"array_string":["a\"b","c"]}`
	p, err := env.Plan(writer, plan.Target{Logic: "typed"}, []byte(all))
	if err != nil {
		t.Fatal(err)
	}
	wantPG := []any{"O'Brien; DROP TABLE t; --", "9007199254740993", "1.50", "true", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"2024-05-01T10:00:00Z", "2024-02-29", `{"a":[1,"b"]}`, "{1,NULL,3}", `{"a\"b","c"}`,
		nil, `{"writer","x\"y"}`, nil, nil}
	if !reflect.DeepEqual(p.Args, wantPG) {
		t.Errorf("postgres args\n got %#v\nwant %#v", p.Args, wantPG)
	}
	p, err = env.Plan(writer, plan.Target{Logic: "lite/typed"}, []byte(all))
	if err != nil {
		t.Fatal(err)
	}
	wantLite := []any{"O'Brien; DROP TABLE t; --", int64(9007199254740993), 1.5, int64(1), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"2024-05-01 10:00:00", "2024-02-29", `{"a":[1,"b"]}`, "[1,null,3]", `["a\"b","c"]`,
		nil, `["writer","x\"y"]`, nil, nil}
	if !reflect.DeepEqual(p.Args, wantLite) || p.Engine != schema.EngineSQLite {
		t.Errorf("sqlite args\n got %#v\nwant %#v", p.Args, wantLite)
	}
	// An end user: sub, roles and claims bound; absent claim NULL.
	user := plan.Caller{EndUser: true, Subject: "u-1", Roles: []string{"writer"}, Claims: map[string]any{"tenant": "acme", "level": float64(3)}}
	p, err = env.Plan(user, plan.Target{Logic: "typed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Args[10:]; !reflect.DeepEqual(got, []any{"u-1", `{"writer"}`, "acme", "3"}) {
		t.Errorf("end user auth binds %#v", got)
	}
	if got := p.Args[:10]; !reflect.DeepEqual(got, make([]any, 10)) {
		t.Errorf("absent optional params bind NULL: %#v", got)
	}
	p, _ = env.Plan(user, plan.Target{Logic: "lite/typed"}, nil)
	if got := p.Args[10:]; !reflect.DeepEqual(got, []any{"u-1", `["writer"]`, "acme", int64(3)}) {
		t.Errorf("sqlite end user auth binds %#v", got)
	}
	// A numeric claim as the Bridge decodes it (json.Number) binds exactly.
	user.Claims = map[string]any{"tenant": "acme", "level": json.Number("9007199254740993")}
	p, _ = env.Plan(user, plan.Target{Logic: "typed"}, nil)
	if got := p.Args[13]; got != "9007199254740993" {
		t.Errorf("postgres json.Number claim binds %#v", got)
	}
	p, _ = env.Plan(user, plan.Target{Logic: "lite/typed"}, nil)
	if got := p.Args[13]; got != int64(9007199254740993) {
		t.Errorf("sqlite json.Number claim binds %#v", got)
	}
	// A caller without roles binds an empty array, not NULL.
	p, _ = env.Plan(plan.Caller{EndUser: true, Subject: "s", Roles: []string{"writer"}}, plan.Target{Logic: "typed"}, nil)
	if p.Args[12] != nil {
		t.Errorf("absent claim: %#v", p.Args[12])
	}
	for _, tc := range []struct{ param, value, msg string }{
		{"string", `"a\u0000b"`, "NUL"},
		{"string", `5`, "expected a string"},
		{"integer", `1.5`, "integer"},
		{"integer", `"12abc"`, "integer"},
		{"integer", `1e400`, "integer"},
		{"integer", `true`, "integer"},
		{"number", `"1.5"`, "expected a number"},
		{"number", `"NaN"`, "expected a number"},
		{"boolean", `"true"`, "true or false"},
		{"boolean", `1`, "true or false"},
		{"uuid", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"`, "UUID"},
		{"uuid", `"'; DROP TABLE t; --"`, "UUID"},
		{"timestamptz", `"2024-05-01T12:00:00"`, "RFC 3339"},
		{"timestamptz", `"yesterday"`, "RFC 3339"},
		{"date", `"2023-02-29"`, "date"},
		{"date", `"2024-02-29T00:00:00Z"`, "date"},
		{"json", `{"a":"\u0000"}`, "u0000"},
		{"array_integer", `[1,"x"]`, "integer"},
		{"array_integer", `1`, "expected an array"},
		{"array_string", `["a",1]`, "string"},
	} {
		for _, target := range []string{"typed", "lite/typed"} {
			_, err := env.Plan(writer, plan.Target{Logic: target}, []byte(`{"`+tc.param+`":`+tc.value+`}`))
			e := apierr.As(err)
			if err == nil || e.Status() != 400 || !strings.Contains(e.Message, tc.msg) || !strings.Contains(e.Message, `"`+tc.param+`"`) {
				t.Errorf("%s %s=%s: %v, want 400 naming the param and %q", target, tc.param, tc.value, err, tc.msg)
			}
		}
	}
}
