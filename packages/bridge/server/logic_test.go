package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// logicFixture is the logic of the /call tests as the Hub would compile
// it for one engine: the SQL with the engine's positional binds, the binds
// in order, the described result columns.
func logicFixture(pg bool) []logic.Logic {
	ph := func(n int) string {
		if pg {
			return fmt.Sprintf("$%d", n)
		}
		return fmt.Sprintf("?%d", n)
	}
	cast := func(n int, typ string) string {
		if pg {
			return ph(n) + "::" + typ
		}
		return ph(n)
	}
	param := func(name, typ string, required bool) logic.Param {
		return logic.Param{Name: name, Type: typ, Required: required}
	}
	bind := func(names ...string) []logic.Bind {
		var out []logic.Bind
		for _, n := range names {
			switch {
			case n == ":sub":
				out = append(out, logic.Bind{Kind: logic.BindSub})
			case n == ":roles":
				out = append(out, logic.Bind{Kind: logic.BindRoles})
			case strings.HasPrefix(n, ":claim."):
				out = append(out, logic.Bind{Kind: logic.BindClaim, Name: strings.TrimPrefix(n, ":claim.")})
			default:
				out = append(out, logic.Bind{Kind: logic.BindParam, Name: n})
			}
		}
		return out
	}
	cols := func(pairs ...string) []logic.Column {
		var out []logic.Column
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, logic.Column{Name: pairs[i], Type: pairs[i+1]})
		}
		return out
	}
	items := "SELECT id, name, qty FROM items"
	rows := cols("id", schema.Bigint, "name", schema.Text, "qty", schema.Integer)
	sleep := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c WHERE x < ?1 * 0"
	if pg {
		sleep = "SELECT count(*) AS n FROM pg_sleep(" + ph(1) + ")"
	}
	mine := logic.Logic{Name: "items/mine", Auth: logic.AuthAuthenticated, Readonly: true,
		SQL:     "SELECT " + cast(1, "text") + " AS sub, " + cast(2, "text[]") + " AS roles, " + cast(3, "text") + " AS tenant",
		Binds:   bind(":sub", ":roles", ":claim.tenant"),
		Columns: cols("sub", schema.Text, "roles", schema.ArrayOf(schema.Text), "tenant", schema.Text)}
	whoami := mine
	whoami.Name, whoami.Auth = "whoami", logic.AuthPublic
	return []logic.Logic{mine, whoami,
		{Name: "items/get", Auth: logic.AuthPublic, Readonly: true, SQL: items + " WHERE id = " + ph(1),
			Params: []logic.Param{param("id", "integer", true)}, Binds: bind("id"), Columns: rows},
		{Name: "items/rename", Auth: logic.AuthRoles, Roles: []string{"admin"},
			SQL:    "UPDATE items SET name = " + ph(1) + " WHERE id = " + ph(2),
			Params: []logic.Param{param("name", "string", true), param("id", "integer", true)}, Binds: bind("name", "id")},
		{Name: "items/wipe", Auth: logic.AuthPrivate, SQL: "DELETE FROM items"},
		{Name: "admin/_purge", Auth: logic.AuthPublic, SQL: "DELETE FROM items"},
		{Name: "items/sneaky", Auth: logic.AuthPublic, Readonly: true, SQL: "DELETE FROM items WHERE id = " + ph(1),
			Params: []logic.Param{param("id", "integer", true)}, Binds: bind("id")},
		{Name: "items/all", Auth: logic.AuthPublic, Readonly: true, SQL: items + " ORDER BY id", Columns: rows},
		{Name: "items/some", Auth: logic.AuthPublic, Readonly: true, SQL: items + " ORDER BY id LIMIT " + ph(1),
			Params: []logic.Param{{Name: "limit", Type: "integer", Default: "2"}}, Binds: bind("limit"), Columns: rows},
		{Name: "slow", Auth: logic.AuthPublic, Readonly: true, SQL: sleep,
			Params: []logic.Param{param("seconds", "number", true)}, Binds: bind("seconds"), Columns: cols("n", schema.Bigint)},
		{Name: "echo", Auth: logic.AuthPublic, Readonly: true,
			SQL: "SELECT " + cast(1, "text") + " AS s, " + cast(2, "bigint") + " AS i, " + cast(3, "numeric") + " AS n, " +
				cast(4, "boolean") + " AS b, " + cast(5, "uuid") + " AS u, " + cast(6, "timestamptz") + " AS ts, " +
				cast(7, "date") + " AS d, " + cast(8, "jsonb") + " AS j, " + cast(9, "text[]") + " AS a",
			Params: []logic.Param{param("s", "string", false), param("i", "integer", false), param("n", "number", false),
				param("b", "boolean", false), param("u", "uuid", false), param("ts", "timestamptz", false),
				param("d", "date", false), param("j", "json", false), param("a", "array<string>", false)},
			Binds: bind("s", "i", "n", "b", "u", "ts", "d", "j", "a"),
			Columns: cols("s", schema.Text, "i", schema.Bigint, "n", schema.Numeric, "b", schema.Boolean, "u", schema.UUID,
				"ts", schema.Timestamptz, "d", schema.Date, "j", schema.JSONB, "a", schema.ArrayOf(schema.Text))},
	}
}

const logicItemsSQL = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)`

// TestLogicCallsPostgres and TestLogicCallsSQLite call logics/… through
// the real Bridge HTTP, a real Hub behind a proxy that adds the release's
// logic (SPEC §4.2, §4.5, §4.6, §6).
func TestLogicCallsPostgres(t *testing.T) {
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, logicItemsSQL, `INSERT INTO items VALUES (1, 'one', 10), (2, 'two', NULL), (3, 'three', 30)`)
	testLogicCalls(t, db, true)
}

func TestLogicCallsSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	c, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{logicItemsSQL, `INSERT INTO items VALUES (1, 'one', 10), (2, 'two', NULL), (3, 'three', 30)`} {
		if _, err := c.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	testLogicCalls(t, "sqlite://"+path, false)
}

func testLogicCalls(t *testing.T, dbURL string, pg bool) {
	iss, err := devissuer.Start(devissuer.Options{Audience: "demo-api"})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	auth := &authconfig.Document{Version: 1, Issuers: []authconfig.Issuer{{Name: "devidp", Issuer: iss.URL(), Audience: "demo-api"}}}
	logics := logicFixture(pg)
	s := &stack{t: t}
	s.hubURL, s.hubToken = startHub(t)
	proxied := bundleProxy(t, s.hubURL, func(b *bundle.Bundle) {
		b.Release.Auth = auth
		b.Release.Logics = make([]logic.Logic, len(logics))
		for i, l := range logics {
			l.Connection = "main"
			b.Release.Logics[i] = l
		}
	})
	cfg := testConfig(proxied)
	cfg.MaxLimit = 2
	cfg.StatementTimeout = 300 * time.Millisecond
	s.bridge, s.bridgeURL, s.logs = startBridge(t, cfg)

	s.hub("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}, 201, nil)
	s.hub("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}, 201, nil)
	s.hub("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{URL: dbURL}, 201, nil)
	s.hub("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil, 201, nil)
	s.hub("PUT", "/v1/projects/demo/envs/dev/permissions", "version: 1\ntables:\n  items:\n    select: [admin]\n", 201, nil)
	s.hub("POST", "/v1/projects/demo/envs/dev/releases", hubapi.CreateRelease{Ref: "r1"}, 201, nil)
	var admin, reader hubapi.CreatedAPIKey
	s.hub("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "admin", Roles: []string{"admin"}}, 201, &admin)
	s.hub("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "reader", Roles: []string{"reader"}}, 201, &reader)
	mint := func(sub string, roles []string) string {
		tok, err := iss.Mint(sub, roles, map[string]any{"tenant": "acme"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	call := func(h map[string]string, name string, params any) reply {
		body := map[string]any{"path": "logics/" + name}
		if params != nil {
			body["params"] = params
		}
		return s.call(h, body)
	}
	get1 := map[string]any{"id": 1}

	t.Run("allow/deny", func(t *testing.T) {
		callers := []struct {
			name string
			h    map[string]string
		}{
			{"anonymous", anon("demo", "dev")},
			{"key without role", key(reader.Key)},
			{"key with role", key(admin.Key)},
			{"end user without role", bearer("demo", "dev", mint("alice", nil))},
			{"end user with role", bearer("demo", "dev", mint("bob", []string{"admin"}))},
		}
		rename := map[string]any{"name": "one", "id": 1}
		for _, tc := range []struct {
			logic  string
			params any
			want   [5]int
		}{
			{"items/get", get1, [5]int{200, 200, 200, 200, 200}},
			{"items/mine", nil, [5]int{401, 403, 403, 200, 200}},
			{"items/rename", rename, [5]int{401, 403, 200, 403, 200}},
			{"items/wipe", nil, [5]int{401, 403, 403, 403, 403}},
			{"admin/_purge", nil, [5]int{401, 403, 403, 403, 403}},
			{"nope", nil, [5]int{401, 404, 404, 404, 404}},
		} {
			for i, c := range callers {
				r := call(c.h, tc.logic, tc.params)
				if r.status != tc.want[i] {
					t.Errorf("%s × %s: %d %s, want %d", tc.logic, c.name, r.status, r.body, tc.want[i])
				}
			}
		}
		// The private logics never ran.
		r := call(anon("demo", "dev"), "items/all", nil)
		if r.status != 400 { // three rows remain: over the cap of 2
			t.Fatalf("rows after private calls: %d %s", r.status, r.body)
		}
	})

	t.Run("rows and affected", func(t *testing.T) {
		r := call(key(reader.Key), "items/get", get1)
		if string(r.body) != `{"data":[{"id":1,"name":"one","qty":10}],"meta":{}}` {
			t.Fatalf("rows: %d %s", r.status, r.body)
		}
		r = call(key(admin.Key), "items/rename", map[string]any{"name": "uno", "id": 1})
		if r.status != 200 || string(r.body) != `{"data":[],"meta":{"affected":1}}` {
			t.Fatalf("affected: %d %s", r.status, r.body)
		}
		r = call(key(admin.Key), "items/rename", map[string]any{"name": "none", "id": 99})
		if string(r.body) != `{"data":[],"meta":{"affected":0}}` {
			t.Fatalf("affected 0: %d %s", r.status, r.body)
		}
		r = call(key(reader.Key), "items/get", get1)
		if !strings.Contains(string(r.body), `"name":"uno"`) {
			t.Fatalf("rename not visible: %s", r.body)
		}
		// The auth binds of an end user (its roles carry "authenticated",
		// as request.auth.roles does).
		r = call(bearer("demo", "dev", mint("alice", []string{"editor", "admin"})), "items/mine", nil)
		if string(r.body) != `{"data":[{"sub":"alice","roles":["editor","admin","authenticated"],"tenant":"acme"}],"meta":{}}` {
			t.Fatalf("auth binds: %d %s", r.status, r.body)
		}
		// An API key: sub and claims NULL, its roles; anonymous: no roles.
		r = call(key(reader.Key), "whoami", nil)
		if string(r.body) != `{"data":[{"sub":null,"roles":["reader"],"tenant":null}],"meta":{}}` {
			t.Fatalf("API key auth binds: %d %s", r.status, r.body)
		}
		r = call(anon("demo", "dev"), "whoami", nil)
		if string(r.body) != `{"data":[{"sub":null,"roles":[],"tenant":null}],"meta":{}}` {
			t.Fatalf("anonymous auth binds: %d %s", r.status, r.body)
		}
		r = call(key(reader.Key), "items/some", nil)
		if rows := data(t, r); len(rows) != 2 {
			t.Fatalf("default limit: %s", r.body)
		}
	})

	t.Run("params", func(t *testing.T) {
		expect(t, call(key(reader.Key), "items/get", nil), 400, apierr.BadRequest, `"id"`)
		expect(t, call(key(reader.Key), "items/get", map[string]any{"id": "1x"}), 400, apierr.BadRequest, `"id"`)
		expect(t, call(key(reader.Key), "items/get", map[string]any{"id": 1, "x": 1}), 400, apierr.BadRequest, `unknown param "x"`)
		expect(t, call(key(reader.Key), "items/some", map[string]any{"limit": 3}), 400, apierr.BadRequest, "more than 2 rows")
	})

	t.Run("readonly", func(t *testing.T) {
		expect(t, call(key(reader.Key), "items/sneaky", get1), 403, apierr.Forbidden, "logic items/sneaky is readonly")
		if r := call(key(reader.Key), "items/get", get1); len(data(t, r)) != 1 {
			t.Fatalf("a readonly logic deleted a row: %s", r.body)
		}
	})

	t.Run("row cap", func(t *testing.T) {
		r := call(key(reader.Key), "items/all", nil)
		expect(t, r, 400, apierr.BadRequest, "more than 2 rows")
		if strings.Contains(string(r.body), "three") || strings.Contains(string(r.body), "SELECT") {
			t.Fatalf("the refusal shows rows or SQL: %s", r.body)
		}
	})

	t.Run("statement timeout", func(t *testing.T) {
		start := time.Now()
		expect(t, call(key(reader.Key), "slow", map[string]any{"seconds": 5}), 504, apierr.Timeout, "time limit")
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the timeout took %s", d)
		}
		// The connection (pool) still serves.
		expect(t, call(key(reader.Key), "items/get", get1), 200, "", "")
	})

	t.Run("injection", func(t *testing.T) {
		evil := "'); DROP TABLE items; --"
		params := map[string]any{"s": evil, "i": 7, "n": 1.25, "b": false, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
			"ts": "2024-05-01T12:00:00+02:00", "d": "2024-02-29", "j": map[string]any{evil: []any{evil, 1}}, "a": []string{evil, `"}`, "x\\y"}}
		r := call(key(reader.Key), "echo", params)
		rows := data(t, r)
		if r.status != 200 || len(rows) != 1 {
			t.Fatalf("echo: %d %s", r.status, r.body)
		}
		got, _ := json.Marshal(rows[0])
		want, _ := json.Marshal(map[string]any{"s": evil, "i": 7, "n": "1.25", "b": false, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
			"ts": "2024-05-01T10:00:00Z", "d": "2024-02-29", "j": map[string]any{evil: []any{evil, 1}}, "a": []string{evil, `"}`, "x\\y"}})
		if string(got) != string(want) {
			t.Errorf("echo\n got %s\nwant %s", got, want)
		}
		// Values that only look like SQL in the typed params are refused
		// by type, never sent.
		for _, p := range []string{"i", "n", "b", "u", "ts", "d"} {
			expect(t, call(key(reader.Key), "echo", map[string]any{p: evil}), 400, apierr.BadRequest, `"`+p+`"`)
		}
		expect(t, call(key(reader.Key), "items/get", map[string]any{"id": "1; DROP TABLE items"}), 400, apierr.BadRequest, `"id"`)
		if r := call(key(reader.Key), "items/get", get1); len(data(t, r)) != 1 {
			t.Fatalf("items is gone: %s", r.body)
		}
	})

	// The access log names the logic; the values never appear.
	logs := s.logs.String()
	if !strings.Contains(logs, `"logics/items/get"`) || strings.Contains(logs, "DROP TABLE") {
		t.Errorf("access log: want the logic path, never the values")
	}
}
