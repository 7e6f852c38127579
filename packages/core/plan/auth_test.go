package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

func TestAuthenticate(t *testing.T) {
	e := fixtureEnv(t)
	c, err := e.Authenticate(keyWriter, secret, fixtureNow)
	if err != nil || c.KeyID != keyWriter || len(c.Roles) != 1 || c.Roles[0] != "writer" || c.Anonymous || c.EndUser || c.Superuser {
		t.Fatalf("Authenticate(writer) = %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name, id, secret string
		now              time.Time
	}{
		{"unknown id", "key_01JD3W00000000000000000XXX", secret, fixtureNow},
		{"empty id", "", secret, fixtureNow},
		{"wrong secret", keyWriter, secret[:len(secret)-1] + "x", fixtureNow},
		{"empty secret", keyWriter, "", fixtureNow},
		{"revoked", keyRevoked, secret, fixtureNow},
		{"expired", keyExpired, secret, fixtureNow},
		{"expires exactly now", keyWriter, secret, fixtureNow.Add(time.Hour)},
		{"malformed stored hash", "key_01JD3W000000000000000000BH", secret, fixtureNow},
	} {
		c, err := e.Authenticate(tc.id, tc.secret, tc.now)
		if code(t, err) != apierr.Unauthorized || err.Error() != "UNAUTHORIZED: invalid API key" || c.KeyID != "" {
			t.Errorf("%s: Authenticate = %+v, %v; want 401 invalid API key", tc.name, c, err)
		}
	}
	if _, err := e.Authenticate(keyWriter, secret, fixtureNow.Add(time.Hour-time.Nanosecond)); err != nil {
		t.Errorf("a key is valid until its expiry: %v", err)
	}
	if !e.HasKey(keyRevoked) || e.HasKey("key_nope") {
		t.Error("HasKey")
	}
}

// paramsFor gives each (table, op) of the matrix params that every caller
// allowed the op may send.
func paramsFor(table string, op Op) string {
	switch op {
	case Insert:
		switch table {
		case "posts":
			return `{"data":{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","title":"t"},"returning":false}`
		case "events":
			return `{"data":{"kind":"k"},"returning":false}`
		case "logs":
			return `{"data":{"msg":"m"},"returning":false}`
		}
		return `{"data":{"name":"n"},"returning":false}`
	case Update:
		switch table {
		case "posts":
			return `{"data":{"title":"t"},"where":{"title":"x"},"returning":false}`
		case "events":
			return `{"data":{"kind":"k"},"where":{"kind":"x"},"returning":false}`
		case "logs":
			return `{"data":{"msg":"m"},"where":{"msg":"x"},"returning":false}`
		}
		return `{"data":{"name":"n"},"where":{"name":"x"},"returning":false}`
	case Delete:
		switch table {
		case "posts":
			return `{"where":{"title":"x"},"returning":false}`
		case "events":
			return `{"where":{"kind":"x"},"returning":false}`
		case "logs":
			return `{"where":{"msg":"x"},"returning":false}`
		}
		return `{"where":{"name":"x"},"returning":false}`
	}
	if table == "users" {
		return `{"select":["id","name"]}`
	}
	return `{}`
}

func TestAuthorization(t *testing.T) {
	e := fixtureEnv(t)
	authKey := Caller{KeyID: keyAuth, Roles: []string{"authenticated"}}
	multi := Caller{KeyID: "k", Roles: []string{"nope", "writer"}}
	auditor := Caller{KeyID: "k", Roles: []string{"auditor"}}
	for _, tc := range []struct {
		name   string
		c      Caller
		path   string
		want   apierr.Code
		msg    string
		params string // default: paramsFor
	}{
		// Anonymous callers: 401 unless public; learn nothing of what exists.
		{name: "anon public select", c: anon, path: "db/main/posts/select"},
		{name: "anon public select sqlite", c: anon, path: "db/lite/posts/select"},
		{name: "anon non-public", c: anon, path: "db/main/users/select", want: apierr.Unauthorized, msg: "needs a credential"},
		{name: "anon insert not public", c: anon, path: "db/main/posts/insert", want: apierr.Unauthorized},
		{name: "anon unknown table", c: anon, path: "db/main/nosuch/select", want: apierr.Unauthorized},
		{name: "anon unknown connection", c: anon, path: "db/zzz/posts/select", want: apierr.Unauthorized},
		{name: "anon logic", c: anon, path: "logics/report", want: apierr.Unauthorized},

		// With a credential: 404 for what does not exist, 403 without a rule.
		{name: "key unknown table", c: reader, path: "db/main/nosuch/select", want: apierr.NotFound, msg: `table "nosuch" not found on connection "main"`},
		{name: "key unknown connection", c: reader, path: "db/zzz/users/select", want: apierr.NotFound, msg: `connection "zzz" not found`},
		{name: "connection without snapshot", c: reader, path: "db/nosnap/users/select", want: apierr.NotFound},
		{name: "snapshot without connection", c: reader, path: "db/gone/users/select", want: apierr.NotFound},
		{name: "key logic", c: reader, path: "logics/reports/monthly", want: apierr.NotFound, msg: `logic "reports/monthly" not found`},
		{name: "reader select", c: reader, path: "db/main/users/select"},
		{name: "reader delete", c: reader, path: "db/main/users/delete", want: apierr.Forbidden, msg: "role reader may not delete from users"},
		{name: "reader insert", c: reader, path: "db/main/users/insert", want: apierr.Forbidden, msg: "role reader may not insert into users"},
		{name: "reader update", c: reader, path: "db/main/users/update", want: apierr.Forbidden, msg: "role reader may not update users"},
		{name: "writer update", c: writer, path: "db/main/users/update"},
		{name: "writer delete", c: writer, path: "db/main/users/delete", want: apierr.Forbidden},
		{name: "admin delete", c: admin, path: "db/main/users/delete"},
		{name: "roles listed", c: multi, path: "db/main/users/insert"},
		{name: "roles listed 403", c: multi, path: "db/main/users/delete", want: apierr.Forbidden, msg: "roles nope, writer may not delete from users"},
		{name: "no roles", c: nobody, path: "db/main/users/select", want: apierr.Forbidden, msg: "an API key without roles may not select from users"},
		{name: "no roles public", c: nobody, path: "db/main/posts/select"},

		// _default supplies what a table does not define, on every connection.
		{name: "_default unlisted table", c: reader, path: `db/main/we"ird/select`},
		{name: "_default unlisted op", c: writer, path: "db/main/users/delete", want: apierr.Forbidden},
		{name: "_default unlisted op allowed", c: admin, path: "db/main/events/update"},
		// Allowed to update events, but not to read them: where is 403.
		{name: "where needs the select rule", c: writer, path: "db/main/events/update", want: apierr.Forbidden, msg: `role writer may not read events, so may not use column "kind"`},
		{name: "_default other connection", c: writer, path: "db/lite/users/insert"},
		{name: "_default other connection 403", c: reader, path: "db/lite/users/delete", want: apierr.Forbidden, msg: "role reader may not delete from lite.users"},
		{name: "own op overrides _default", c: reader, path: "db/main/events/select", want: apierr.Forbidden},
		{name: "own op only", c: auditor, path: "db/main/logs/delete"},
		{name: "own op not _default", c: admin, path: "db/main/logs/select", want: apierr.Forbidden},

		// authenticated matches end users only, never an API key.
		{name: "end user authenticated", c: enduser, path: "db/main/posts/update"},
		{name: "key named authenticated", c: authKey, path: "db/main/posts/update", want: apierr.Forbidden},
		{name: "key named authenticated select", c: authKey, path: "db/main/users/select", want: apierr.Forbidden},
		{name: "end user no rule", c: enduser, path: "db/main/users/delete", want: apierr.Forbidden, msg: "an end user without roles may not delete from users"},
		{name: "end user roles", c: Caller{EndUser: true, Subject: "u", Roles: []string{"admin"}}, path: "db/main/users/delete"},

		// Dev mode: no authorization, but what does not exist is still 404.
		{name: "superuser", c: super, path: "db/main/logs/select"},
		{name: "superuser delete", c: super, path: "db/main/users/delete"},
		{name: "superuser unknown table", c: super, path: "db/main/nosuch/select", want: apierr.NotFound},
		{name: "superuser logic", c: super, path: "logics/x", want: apierr.NotFound},
	} {
		tg, err := ParsePath(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		params := tc.params
		if params == "" {
			params = paramsFor(tg.Table, tg.Op)
		}
		p, err := e.Plan(tc.c, tg, []byte(params))
		if got := code(t, err); got != tc.want || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%s: Plan(%s) error = %v; want %q %q", tc.name, tc.path, err, tc.want, tc.msg)
			continue
		}
		if tc.want == "" && (p == nil || p.SQL == "" || p.Table != tg.Table || p.Connection != tg.Connection || p.Op != tg.Op) {
			t.Errorf("%s: plan %+v", tc.name, p)
		}
	}
}

// TestFirstMatchWins: the first rule whose roles match decides, so its
// columns apply even when a later rule would allow more.
func TestFirstMatchWins(t *testing.T) {
	e := fixtureEnv(t)
	both := Caller{KeyID: "k", Roles: []string{"reader", "admin"}}
	p, err := e.Plan(both, Target{Connection: "main", Table: "users", Op: Select}, nil)
	if err != nil || !hasColumn(p, "secret") {
		t.Fatalf("admin rule first: %v %v", p, err)
	}
	p, err = e.Plan(reader, Target{Connection: "main", Table: "users", Op: Select}, nil)
	if err != nil || hasColumn(p, "secret") || !hasColumn(p, "email") {
		t.Fatalf("reader rule: %v %v", p, err)
	}
	p, err = e.Plan(enduser, Target{Connection: "main", Table: "users", Op: Select}, nil)
	if err != nil || len(p.Columns) != 2 || p.Columns[0].Name != "id" || p.Columns[1].Name != "name" {
		t.Fatalf("authenticated rule: %v %v", p, err)
	}
}

func hasColumn(p *Plan, name string) bool {
	for _, c := range p.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

func TestNoRelease(t *testing.T) {
	b := fixtureBundle(t)
	b.Release = nil
	e, err := Compile(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if e.HasRelease() || e.Project() != "shop" || e.EnvName() != "dev" || e.Revision() != 7 || e.ReleaseID() != "" {
		t.Fatalf("env accessors: %v %s %s %d", e.HasRelease(), e.Project(), e.EnvName(), e.Revision())
	}
	if e.Limits() != DefaultLimits() {
		t.Errorf("zero limits take defaults: %+v", e.Limits())
	}
	if _, err := e.Authenticate(keyReader, secret, fixtureNow); err != nil {
		t.Errorf("keys work without a release: %v", err)
	}
	for _, c := range []Caller{anon, reader, super} {
		_, err := e.Plan(c, Target{Connection: "main", Table: "posts", Op: Select}, nil)
		if code(t, err) != apierr.NotFound {
			t.Errorf("no release: %v", err)
		}
	}
	if _, err := Compile(nil, Limits{}); code(t, err) != apierr.Internal {
		t.Errorf("Compile(nil) = %v", err)
	}
}

func TestLimitsDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want Limits }{
		{Limits{}, DefaultLimits()},
		{Limits{DefaultLimit: 5000, MaxLimit: 200, MaxBatch: 3}, Limits{DefaultLimit: 200, MaxLimit: 200, MaxBatch: 3}},
		{Limits{DefaultLimit: -1, MaxLimit: -1, MaxBatch: -1}, DefaultLimits()},
	} {
		if got := tc.in.withDefaults(); got != tc.want {
			t.Errorf("%+v.withDefaults() = %+v; want %+v", tc.in, got, tc.want)
		}
	}
}

// TestConditionsFailClosed: a rule with a condition the Hub did not compile
// (text, no tree) is never skipped: matching it is a 500, not a fall-through to the next rule.
func TestConditionsFailClosed(t *testing.T) {
	b := fixtureBundle(t)
	doc := &b.Release.Permissions
	doc.Tables = append(doc.Tables, permissions.Table{
		Key: `lite.we"ird`, Connection: "lite", Name: `we"ird`,
		Ops: map[permissions.Op][]permissions.Rule{
			permissions.OpSelect: {
				{Roles: []string{"reader"}, Condition: "resource.kind == 'x'"},
				{Roles: []string{"reader", "writer"}},
			},
			permissions.OpInsert: {{Roles: []string{"writer"}, Check: "resource.kind == 'x'"}},
		},
	})
	e, err := Compile(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{Connection: "lite", Table: `we"ird`, Op: Select}
	if _, err := e.Plan(reader, tg, nil); code(t, err) != apierr.Internal {
		t.Errorf("condition rule: %v", err)
	}
	if _, err := e.Plan(writer, tg, nil); err != nil {
		t.Errorf("later rule for another role: %v", err)
	}
	tg.Op = Insert
	if _, err := e.Plan(writer, tg, []byte(`{"data":{"k":1}}`)); code(t, err) != apierr.Internal {
		t.Errorf("check rule: %v", err)
	}
}

func TestUnsupportedEngine(t *testing.T) {
	b := fixtureBundle(t)
	b.Connections = append(b.Connections, bundle.Connection{Name: "my", Engine: "mysql"})
	b.Release.Snapshots["my"] = schema.Snapshot{Connection: "my", Engine: "mysql", Tables: fixtureTables(schema.EnginePostgres)}
	e, err := Compile(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Plan(admin, Target{Connection: "my", Table: "users", Op: Select}, nil); code(t, err) != apierr.NotFound {
		t.Errorf("unsupported engine: %v", err)
	}
}
