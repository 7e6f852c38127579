package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"github.com/santokit/santokit/packages/core/openapi/openapitest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const bridgeToken = "bridge-token-for-tests"

// password is planted in the data database URL: it must never be logged.
const password = "Pw-Bridge-NEVER-LOGGED"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack is a real Hub (SQLite store) and a Bridge in front of it.
type stack struct {
	t         testing.TB
	hubURL    string
	hubToken  string // the Hub owner's access token
	bridge    *Server
	bridgeURL string
	logs      *syncBuffer
}

// startHub runs an enforced Hub and returns its URL and its bootstrap
// owner's access token.
func startHub(t testing.TB) (string, string) {
	t.Helper()
	cfg := hubserver.Config{Addr: "127.0.0.1:0", DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"),
		Version: "test", BridgeTokens: []string{bridgeToken},
		BootstrapEmail: "owner@example.com", BootstrapPassword: "bridge-tests-owner-pw",
		MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		// The tests' SQLite files live in temporary directories.
		DBTargets: dbtarget.Config{SQLiteDir: os.TempDir()}}
	hub, err := hubserver.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Every answer of every test is checked against the OpenAPI documents.
	ts := httptest.NewServer(openapitest.Handler(t, openapitest.MustLoad(t, hubserver.OpenAPIDocument()), hub.Handler()))
	t.Cleanup(func() { ts.Close(); hub.Close() })
	r := do(t, "POST", ts.URL+"/v1/auth/login", hubapi.Login{Email: cfg.BootstrapEmail, Password: cfg.BootstrapPassword}, nil)
	var tok hubapi.Tokens
	if err := json.Unmarshal(r.body, &tok); r.status != 200 || err != nil {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	return ts.URL, tok.AccessToken
}

func testConfig(hubURL string) Config {
	c := DefaultConfig()
	c.HubURL = hubURL
	c.BridgeToken = bridgeToken
	c.MaxBodyBytes = 64 << 10
	c.Version = "test"
	c.DBTargets.SQLiteDir = os.TempDir()
	return c
}

func startBridge(t testing.TB, cfg Config) (*Server, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	b, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(openapitest.Handler(t, openapitest.MustLoad(t, OpenAPIDocument), b.Handler()))
	t.Cleanup(func() { ts.Close(); b.Close() })
	return b, ts.URL, logs
}

func newStack(t testing.TB, mod func(*Config)) *stack {
	t.Helper()
	s := &stack{t: t}
	s.hubURL, s.hubToken = startHub(t)
	cfg := testConfig(s.hubURL)
	if mod != nil {
		mod(&cfg)
	}
	s.bridge, s.bridgeURL, s.logs = startBridge(t, cfg)
	return s
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url string, body any, headers map[string]string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: data}
}

// hub calls the Hub API and checks the status.
func (s *stack) hub(method, path string, body any, status int, out any) {
	s.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + s.hubToken}
	if str, ok := body.(string); ok && strings.HasPrefix(str, "version:") {
		h["Content-Type"] = "application/yaml"
	}
	r := do(s.t, method, s.hubURL+path, body, h)
	if r.status != status {
		s.t.Fatalf("hub %s %s: %d %s", method, path, r.status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// call posts to the Bridge's /call.
func (s *stack) call(headers map[string]string, body any) reply {
	s.t.Helper()
	return do(s.t, "POST", s.bridgeURL+"/call", body, headers)
}

// expect checks a reply's status, and for errors its §3 envelope and code.
func expect(t *testing.T, r reply, status int, code apierr.Code, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if status < 300 {
		return
	}
	var b apierr.Body
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code != code {
		t.Fatalf("want %s envelope, got %s", code, r.body)
	}
	if b.Error.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("request id %q in body, %q in header", b.Error.RequestID, r.header.Get("X-Request-Id"))
	}
	if !strings.Contains(b.Error.Message, msgPart) {
		t.Fatalf("message %q lacks %q", b.Error.Message, msgPart)
	}
}

func data(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var body struct {
		Data []map[string]any `json:"data"`
		Meta map[string]any   `json:"meta"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Meta == nil {
		t.Fatalf("not a /call body: %s", r.body)
	}
	return body.Data
}

const perms = `version: 1
tables:
  users:
    select:
      - roles: [admin]
      - roles: [reader]
        columns: [id, email, name]
    insert: [admin]
    update: [admin]
    delete: [admin]
  notes:
    select: [public]
`

// withPassword gives the test database URL a password (trust auth ignores it).
func withPassword(t testing.TB, url string) string {
	t.Helper()
	return strings.Replace(url, "postgres://postgres@", "postgres://postgres:"+password+"@", 1)
}

func pgExec(t testing.TB, url string, stmts ...string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	for _, s := range stmts {
		if _, err := c.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const schemaSQL = `CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, secret text);
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
INSERT INTO users (email, name, secret) VALUES ('ada@x', 'Ada', 's1'), ('bob@x', 'Bob', 's2');
INSERT INTO notes (body) VALUES ('hello');`

// setup makes project demo: env dev (released, on dbURL, keys for admin
// and reader), env prod (released, same database) and env empty (no
// release). It returns the admin key, the reader key and its id.
func (s *stack) setup(dbURL string) (admin, reader, readerID string) {
	s.hub("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}, 201, nil)
	for _, env := range []string{"dev", "prod", "empty"} {
		s.hub("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: env}, 201, nil)
		s.hub("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: dbURL}, 201, nil)
	}
	for _, env := range []string{"dev", "prod"} {
		s.hub("POST", "/v1/projects/demo/envs/"+env+"/connections/main/snapshots", nil, 201, nil)
		s.hub("PUT", "/v1/projects/demo/envs/"+env+"/permissions", perms, 201, nil)
		s.hub("POST", "/v1/projects/demo/envs/"+env+"/releases", hubapi.CreateRelease{Ref: "r1"}, 201, nil)
	}
	var a, r hubapi.CreatedAPIKey
	s.hub("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "admin", Roles: []string{"admin"}}, 201, &a)
	s.hub("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "reader", Roles: []string{"reader"}}, 201, &r)
	return a.Key, r.Key, r.KeyID
}

func key(k string) map[string]string { return map[string]string{"X-Santokit-Api-Key": k} }

func anon(project, env string) map[string]string {
	return map[string]string{"X-Santokit-Project": project, "X-Santokit-Env": env}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// The checks of SPEC §4.2, each status once, in their order; then the
// happy path of each op, constraint errors, revocation and a new release.
func TestCallPipeline(t *testing.T) {
	s := newStack(t, nil)
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	admin, reader, readerID := s.setup(db)
	sel := map[string]any{"path": "db/main/users/select"}
	wellFormedUnknown := "stk_key_01ARZ3NDEKTSV4RRFFQ69G5FAV_" + strings.Repeat("a", 43)
	wrongSecret := admin[:len(admin)-43] + strings.Repeat("b", 43)

	// 1. Syntax.
	expect(t, s.call(key(admin), strings.Repeat("x", 65<<10)), 413, apierr.PayloadTooLarge, "larger than")
	expect(t, s.call(nil, "{"), 400, apierr.BadRequest, "not valid JSON") // before any credential check
	expect(t, s.call(key(admin), "[1]"), 400, apierr.BadRequest, "JSON object")
	expect(t, s.call(key(admin), ""), 400, apierr.BadRequest, "empty")
	expect(t, s.call(key(admin), `{"params": {}}`), 400, apierr.BadRequest, "path is required")
	expect(t, s.call(key(admin), `{"path": "db/main"}`), 400, apierr.BadRequest, "")
	expect(t, s.call(key(admin), `{"path": 5}`), 400, apierr.BadRequest, "path")
	expect(t, s.call(key(admin), `{"path": "db/main/users/select", "params": [1]}`), 400, apierr.BadRequest, "params must be a JSON object")
	expect(t, s.call(key(admin), `{"path": "db/main/users/select", "extra": 1}`), 400, apierr.BadRequest, `"extra"`)
	expect(t, s.call(key(admin), `{"path": "db/main/users/select"} {}`), 400, apierr.BadRequest, "exactly one")

	// 2. Credential form.
	expect(t, s.call(merge(key(admin), map[string]string{"Authorization": "Bearer x"}), sel), 400, apierr.BadRequest, "not both")
	expect(t, s.call(merge(key("stk_nope"), anon("demo", "nope")), sel), 401, apierr.Unauthorized, "malformed API key") // before the env
	expect(t, s.call(map[string]string{"Authorization": "Bearer x", "X-Santokit-Project": "demo"}, sel), 400, apierr.BadRequest, "X-Santokit-Env")
	expect(t, s.call(map[string]string{"Authorization": "Basic x"}, sel), 401, apierr.Unauthorized, "Bearer")
	expect(t, s.call(nil, sel), 401, apierr.Unauthorized, "X-Santokit-Api-Key")
	expect(t, s.call(map[string]string{"X-Santokit-Env": "dev"}, sel), 400, apierr.BadRequest, "go together")

	// 3. Context and verification.
	expect(t, s.call(key(wellFormedUnknown), sel), 401, apierr.Unauthorized, "invalid API key")
	expect(t, s.call(key(wrongSecret), sel), 401, apierr.Unauthorized, "invalid API key")
	expect(t, s.call(merge(key(admin), anon("demo", "prod")), sel), 403, apierr.Forbidden, "bound to project demo, env dev")
	expect(t, s.call(merge(key(admin), anon("demo", "dev")), sel), 200, "", "")
	expect(t, s.call(anon("demo", "nope"), sel), 404, apierr.NotFound, "not found")
	expect(t, s.call(anon("Bad Name", "x"), sel), 404, apierr.NotFound, "not found")
	expect(t, s.call(merge(anon("demo", "nope"), map[string]string{"Authorization": "Bearer x"}), sel), 404, apierr.NotFound, "not found")
	expect(t, s.call(merge(anon("demo", "dev"), map[string]string{"Authorization": "Bearer x"}), sel), 401, apierr.Unauthorized, "trusts no token issuer")

	// 4. Release (before authorization: anonymous on a non-public table).
	expect(t, s.call(anon("demo", "empty"), sel), 404, apierr.NotFound, "no release")

	// 5. Authorization.
	expect(t, s.call(anon("demo", "dev"), sel), 401, apierr.Unauthorized, "credential")
	expect(t, s.call(anon("demo", "dev"), map[string]any{"path": "db/main/ghost/select"}), 401, apierr.Unauthorized, "credential")
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/ghost/select"}), 404, apierr.NotFound, "ghost")
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"nope": 1}}), 403, apierr.Forbidden, "")

	// 6. Params.
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/users/select", "params": map[string]any{"nope": 1}}), 400, apierr.BadRequest, "nope")
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/users/select", "params": map[string]any{"select": []string{"secret"}}}), 403, apierr.Forbidden, "secret")
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select", "params": map[string]any{"limit": 1001}}), 400, apierr.BadRequest, "")

	// 7. Execution.
	r := s.call(anon("demo", "dev"), map[string]any{"path": "db/main/notes/select"})
	expect(t, r, 200, "", "")
	if d := data(t, r); len(d) != 1 || d[0]["body"] != "hello" {
		t.Fatalf("public select: %s", r.body)
	}
	r = s.call(key(reader), map[string]any{"path": "db/main/users/select", "params": map[string]any{"where": map[string]any{"name": "Ada"}, "count": true}})
	expect(t, r, 200, "", "")
	if !strings.Contains(string(r.body), `"meta":{"total":1}`) || !strings.Contains(string(r.body), `"email":"ada@x"`) || strings.Contains(string(r.body), "secret") {
		t.Fatalf("reader select: %s", r.body)
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	r = s.call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": []any{
		map[string]any{"email": "cy@x", "name": "Cy"}, map[string]any{"email": "di@x", "name": "Di"}}}})
	expect(t, r, 200, "", "")
	if d := data(t, r); len(d) != 2 || !strings.Contains(string(r.body), `"affected":2`) {
		t.Fatalf("insert: %s", r.body)
	}
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": map[string]any{"email": "ada@x", "name": "Again"}}}),
		409, apierr.Conflict, "users.email")
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/update", "params": map[string]any{
		"data": map[string]any{"name": "Cyrus"}, "where": map[string]any{"email": "cy@x"}}}), 200, "", "")
	r = s.call(key(admin), map[string]any{"path": "db/main/users/delete", "params": map[string]any{"where": map[string]any{"email": "di@x"}, "returning": false}})
	expect(t, r, 200, "", "")
	if string(r.body) != `{"data":[],"meta":{"affected":1}}` {
		t.Fatalf("delete: %s", r.body)
	}

	// A new release is served within 2 seconds: readers may now see secret.
	s.hub("PUT", "/v1/projects/demo/envs/dev/permissions", strings.Replace(perms, "columns: [id, email, name]", "columns: [id, email, name, secret]", 1), 201, nil)
	s.hub("POST", "/v1/projects/demo/envs/dev/releases", hubapi.CreateRelease{Ref: "r2"}, 201, nil)
	eventually(t, 2*time.Second, "new release served", func() bool {
		return s.call(key(reader), map[string]any{"path": "db/main/users/select", "params": map[string]any{"select": []string{"secret"}}}).status == 200
	})

	// Revocation takes effect after the next poll (SPEC §7.2: 2 seconds).
	revokedAt := time.Now()
	s.hub("DELETE", "/v1/projects/demo/envs/dev/apikeys/"+readerID, nil, 200, nil)
	eventually(t, 2*time.Second, "revoked key refused", func() bool {
		return s.call(key(reader), sel).status == 401
	})
	t.Logf("revocation reached the Bridge in %s", time.Since(revokedAt).Round(time.Millisecond))

	// Logs: one line per request with its fields, never a secret or URL.
	logs := s.logs.String()
	if !strings.Contains(logs, `"keyId":"`+readerID+`"`) || !strings.Contains(logs, `"path":"db/main/users/select"`) ||
		!strings.Contains(logs, `"project":"demo"`) || !strings.Contains(logs, `"durationMs"`) {
		t.Fatalf("access log lacks fields:\n%s", logs)
	}
	for _, secret := range []string{admin, reader, password, admin[len(admin)-43:]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs hold a secret %q", secret)
		}
	}

	// Metrics.
	m := do(t, "GET", s.bridgeURL+"/metrics", nil, nil)
	for _, want := range []string{
		`stk_bridge_requests_total{op="select",status="200"}`,
		`stk_bridge_requests_total{op="none",status="413"}`,
		`stk_bridge_request_duration_seconds_bucket{op="insert",status="200",le=`,
		`stk_bridge_request_duration_seconds_bucket{op="none",status="413",le=`,
		`stk_bridge_bundle_age_seconds{env="dev",project="demo"}`,
		`stk_bridge_bundle_loads_total{result="ok"}`,
		`stk_bridge_db_pool_max_connections{connection="main",engine="postgres",env="dev",project="demo"} 10`,
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The selects above went through read pipelines.
	if !regexp.MustCompile(`(?m)^stk_bridge_db_pipelined_statements_total\{connection="main",env="dev",project="demo"\} [1-9]`).Match(m.body) {
		t.Errorf("metrics lack pipelined statements:\n%s", m.body)
	}
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The SQLite engine through the whole stack.
func TestCallSQLite(t *testing.T) {
	s := newStack(t, nil)
	path := filepath.Join(t.TempDir(), "data.db")
	c, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, secret TEXT, active BOOLEAN, born DATE, at DATETIME)`,
		`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`,
		`INSERT INTO users (email, name, active, born, at) VALUES ('ada@x', 'Ada', 1, '1815-12-10', '2024-01-02 03:04:05')`,
	} {
		if _, err := c.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	admin, _, _ := s.setup("sqlite://" + path)
	r := s.call(key(admin), map[string]any{"path": "db/main/users/select"})
	expect(t, r, 200, "", "")
	if !strings.Contains(string(r.body), `"active":true`) || !strings.Contains(string(r.body), `"at":"2024-01-02T03:04:05"`) ||
		!strings.Contains(string(r.body), `"id":1`) {
		t.Fatalf("sqlite select: %s", r.body)
	}
	r = s.call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": map[string]any{"email": "b@x", "name": "B", "active": false}}})
	expect(t, r, 200, "", "")
	if !strings.Contains(string(r.body), `"active":false`) || !strings.Contains(string(r.body), `"affected":1`) {
		t.Fatalf("sqlite insert: %s", r.body)
	}
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": map[string]any{"email": "b@x", "name": "B"}}}),
		409, apierr.Conflict, "users.email")
	r = s.call(key(admin), map[string]any{"path": "db/main/users/delete", "params": map[string]any{"where": map[string]any{"email": "b@x"}}})
	expect(t, r, 200, "", "")
	if !strings.Contains(string(r.body), `"affected":1`) {
		t.Fatalf("sqlite delete: %s", r.body)
	}

	// The connection moves to another file: the pool is replaced.
	other := filepath.Join(t.TempDir(), "other.db")
	c, err = sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, secret TEXT, active BOOLEAN, born DATE, at DATETIME)`,
		`INSERT INTO users (email, name) VALUES ('moved@x', 'Moved')`,
	} {
		if _, err := c.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	s.hub("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{URL: "sqlite://" + other}, 200, nil)
	eventually(t, 2*time.Second, "rotated connection used", func() bool {
		r := s.call(key(admin), map[string]any{"path": "db/main/users/select"})
		return r.status == 200 && strings.Contains(string(r.body), "moved@x")
	})
}

// Hub unreachable and nothing cached: 503; /readyz says so.
func TestHubUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, url, _ := startBridge(t, testConfig(closed))
	r := do(t, "POST", url+"/call", map[string]any{"path": "db/main/users/select"}, anon("demo", "dev"))
	expect(t, r, 503, apierr.ServiceUnavailable, "Hub cannot be reached")
	r = do(t, "POST", url+"/call", map[string]any{"path": "db/main/users/select"}, key("stk_key_01ARZ3NDEKTSV4RRFFQ69G5FAV_"+strings.Repeat("a", 43)))
	expect(t, r, 503, apierr.ServiceUnavailable, "Hub")
	expect(t, do(t, "GET", url+"/readyz", nil, nil), 503, apierr.ServiceUnavailable, "unreachable")
	expect(t, do(t, "GET", url+"/healthz", nil, nil), 200, "", "")
}

// Ops routes, envelopes everywhere, request ids.
func TestOpsRoutes(t *testing.T) {
	s := newStack(t, nil)
	r := do(t, "GET", s.bridgeURL+"/readyz", nil, nil)
	expect(t, r, 200, "", "")
	if string(r.body) != `{"status":"ok","mode":"enforced","hub":"reachable"}`+"\n" {
		t.Fatalf("readyz %s", r.body)
	}
	expect(t, do(t, "GET", s.bridgeURL+"/nope", nil, nil), 404, apierr.NotFound, "no route")
	r = do(t, "GET", s.bridgeURL+"/call", nil, nil)
	expect(t, r, 405, apierr.MethodNotAllowed, "POST")
	if r.header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	expect(t, do(t, "POST", s.bridgeURL+"/healthz", nil, nil), 405, apierr.MethodNotAllowed, "")
	r = do(t, "GET", s.bridgeURL+"/nope", nil, map[string]string{"X-Request-Id": "trace-42"})
	if r.header.Get("X-Request-Id") != "trace-42" || !strings.Contains(string(r.body), `"requestId":"trace-42"`) {
		t.Fatalf("incoming id not reused: %s", r.body)
	}
	r = do(t, "GET", s.bridgeURL+"/healthz", nil, map[string]string{"X-Request-Id": strings.Repeat("x", 129)})
	if !strings.HasPrefix(r.header.Get("X-Request-Id"), "req_") {
		t.Fatalf("long id kept: %q", r.header.Get("X-Request-Id"))
	}
	m := do(t, "GET", s.bridgeURL+"/metrics", nil, nil)
	if m.status != 200 || !strings.Contains(string(m.body), "go_goroutines") {
		t.Fatalf("metrics %d", m.status)
	}
}

// STK_DISABLE_AUTH: the headers select the env, every op is allowed.
func TestAuthDisabled(t *testing.T) {
	s := newStack(t, func(c *Config) { c.AuthDisabled = true })
	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	admin, _, _ := s.setup(db)
	if !strings.Contains(s.logs.String(), "DISABLED") {
		t.Fatal("no warning at start")
	}
	r := do(t, "GET", s.bridgeURL+"/readyz", nil, nil)
	if !strings.Contains(string(r.body), `"mode":"auth-disabled"`) {
		t.Fatalf("readyz %s", r.body)
	}
	r = s.call(anon("demo", "dev"), map[string]any{"path": "db/main/users/select", "params": map[string]any{"select": []string{"secret"}}})
	expect(t, r, 200, "", "")
	if !strings.Contains(string(r.body), `"secret":"s1"`) {
		t.Fatalf("dev select %s", r.body)
	}
	expect(t, s.call(anon("demo", "dev"), map[string]any{"path": "db/main/notes/delete", "params": map[string]any{"where": map[string]any{"id": 1}}}), 200, "", "")
	// Without headers, a key's binding selects the env (unchecked).
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")
	expect(t, s.call(nil, map[string]any{"path": "db/main/users/select"}), 400, apierr.BadRequest, "select the env")
	expect(t, s.call(anon("demo", "nope"), map[string]any{"path": "db/main/users/select"}), 404, apierr.NotFound, "")
}

// SIGTERM (ctx cancel): stop accepting, finish the in-flight request, close
// the pools.
func TestGracefulShutdown(t *testing.T) {
	hubURL, token := startHub(t)
	s := &stack{t: t, hubURL: hubURL, hubToken: token}
	cfg := testConfig(hubURL)
	logs := &syncBuffer{}
	b, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.bridgeURL = "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, l) }()

	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	admin, _, _ := s.setup(db)
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")

	// Hold a lock so that the next call stays in flight.
	lockConn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer lockConn.Close(context.Background())
	tx, err := lockConn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	inflight := make(chan reply, 1)
	go func() { inflight <- s.call(key(admin), map[string]any{"path": "db/main/users/select"}) }()
	time.Sleep(200 * time.Millisecond)
	cancel() // SIGTERM
	time.Sleep(200 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", l.Addr().String(), 200*time.Millisecond); err == nil {
		t.Fatal("still accepting after shutdown began")
	}
	_ = tx.Rollback(context.Background()) // the in-flight call can finish
	r := <-inflight
	expect(t, r, 200, "", "")
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if st := b.pools.Stats(); len(st) != 0 {
		t.Fatalf("pools left open: %+v", st)
	}
}

func TestConfig(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	c, err := ConfigFromEnv(get)
	if err != nil || c.Addr != "127.0.0.1:3000" || c.HubURL != "http://127.0.0.1:4000" || c.BundleMaxStale != 10*time.Minute ||
		c.DBMaxConns != 10 || c.StatementTimeout != 5*time.Second || c.MaxBodyBytes != 1<<20 || c.MaxLimit != 1000 ||
		c.MaxBatch != 1000 || c.MaxAffected != 10000 || c.AuthDisabled {
		t.Fatalf("defaults %+v %v", c, err)
	}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "STK_BRIDGE_TOKEN") {
		t.Fatalf("missing token: %v", err)
	}
	env = map[string]string{"STK_BRIDGE_TOKEN": "t", "STK_BUNDLE_MAX_STALE": "2m", "STK_STATEMENT_TIMEOUT": "250ms",
		"STK_DB_MAX_CONNS": "3", "STK_MAX_BODY_BYTES": "100", "STK_MAX_AFFECTED": "5", "STK_DISABLE_AUTH": "true", "STK_LOG_LEVEL": "debug"}
	c, err = ConfigFromEnv(get)
	if err != nil || c.Check() != nil || c.BundleMaxStale != 2*time.Minute || c.StatementTimeout != 250*time.Millisecond ||
		c.DBMaxConns != 3 || c.MaxBodyBytes != 100 || c.MaxAffected != 5 || !c.AuthDisabled || c.LogLevel != slog.LevelDebug {
		t.Fatalf("parsed %+v %v", c, err)
	}
	for k, v := range map[string]string{"STK_BUNDLE_MAX_STALE": "soon", "STK_DB_MAX_CONNS": "0", "STK_DISABLE_AUTH": "maybe",
		"STK_LOG_LEVEL": "loud", "STK_MAX_LIMIT": "-1"} {
		if _, err := ConfigFromEnv(func(key string) string { return map[string]string{k: v}[key] }); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	// PostgreSQL takes statement_timeout as an int32 of milliseconds.
	c = testConfig("http://127.0.0.1:4000")
	c.StatementTimeout = MaxStatementTimeout + time.Millisecond
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "STK_STATEMENT_TIMEOUT") {
		t.Fatalf("statement timeout over PostgreSQL's limit: %v", err)
	}
	c.StatementTimeout = MaxStatementTimeout
	if err := c.Check(); err != nil {
		t.Fatalf("statement timeout at PostgreSQL's limit: %v", err)
	}
	// A plain-HTTP Hub off loopback is refused unless allowed.
	c = testConfig("http://hub.example.com:4000")
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "STK_ALLOW_INSECURE_HUB") {
		t.Fatalf("insecure hub: %v", err)
	}
	c.AllowInsecureHub = true
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"https://hub.example.com", "http://localhost:4000", "http://[::1]:4000", "http://127.0.0.2:4000"} {
		if err := testConfig(ok).Check(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ftp://x", "hub:4000", "https://user:pw@hub.example.com"} {
		if err := testConfig(bad).Check(); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := New(context.Background(), testConfig("http://hub.example.com"), nil); err == nil {
		t.Fatal("New accepted an insecure Hub")
	}
}
