package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/santokit/santokit/packages/core/openapi/openapitest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// password is planted in every data database URL; it must never come back.
const password = "Pw-7f3c9e-NEVER-SHOW"

// bridgeToken is what test Bridges present on /internal.
const bridgeToken = "bridge-token-3c1f"

// syncBuffer collects the Hub's log lines from concurrent handlers.
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

type hub struct {
	srv    *Server
	t      testing.TB
	url    string
	logs   *syncBuffer
	dbFile string
	// token is the bootstrap owner's access token, sent by do and doH
	// unless a request sets its own Authorization header ("" for none).
	token string
}

// The bootstrap owner of every test Hub (enforced mode, SPEC §7.1).
const (
	adminEmail    = "owner@example.com"
	adminPassword = "Owner-Pw-5d1e8a-NEVER-SHOW"
)

// startHub runs a real Hub (store on the given engine) behind httptest.
func startHub(t *testing.T, storeEngine string) *hub {
	t.Helper()
	return newHub(t, storeEngine)
}

// startHubB is startHub for benchmarks (SQLite store).
func startHubB(b *testing.B) *hub { return newHub(b, "sqlite") }

// newHub starts a Hub; opts adjust its configuration.
func newHub(t testing.TB, storeEngine string, opts ...func(*Config)) *hub {
	t.Helper()
	h := &hub{t: t, logs: &syncBuffer{}}
	var dbURL string
	if storeEngine == "sqlite" {
		h.dbFile = filepath.Join(t.TempDir(), "hub.db")
		dbURL = "sqlite://" + h.dbFile
	} else {
		dbURL = testpg.New(t)
	}
	cfg := Config{Addr: "127.0.0.1:0", DatabaseURL: dbURL, Version: "test",
		BootstrapEmail: adminEmail, BootstrapPassword: adminPassword,
		BridgeTokens: []string{"old-bridge-token", bridgeToken},
		MasterKeys:   "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	// Every answer of every test is checked against the OpenAPI document.
	ts := httptest.NewServer(openapitest.Handler(t, openapitest.MustLoad(t, OpenAPIDocument()), srv.Handler()))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	h.srv = srv
	h.url = ts.URL
	h.token = h.login(adminEmail, adminPassword).AccessToken
	return h
}

// login logs in through the API and returns the tokens.
func (h *hub) login(email, pw string) hubapi.Tokens {
	h.t.Helper()
	var out hubapi.Tokens
	h.expect(h.doH("POST", "/v1/auth/login", hubapi.Login{Email: email, Password: pw}, map[string]string{"Authorization": ""}), 200, "", &out)
	if out.AccessToken == "" || out.RefreshToken == "" {
		h.t.Fatalf("login answered no tokens")
	}
	return out
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) envelope(t testing.TB) apierr.BodyError {
	t.Helper()
	var b apierr.Body
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" {
		t.Fatalf("not a §3 envelope (status %d): %s", r.status, r.body)
	}
	if b.Error.RequestID == "" || b.Error.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("request id %q in body, %q in header", b.Error.RequestID, r.header.Get("X-Request-Id"))
	}
	return b.Error
}

func (h *hub) do(method, path string, body any) reply {
	h.t.Helper()
	return h.doH(method, path, body, nil)
}

// doH is do with request headers.
func (h *hub) doH(method, path string, body any, headers map[string]string) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.Header.Get("X-Request-Id") == "" {
		h.t.Fatalf("%s %s: no X-Request-Id", method, path)
	}
	// Bundles carry decrypted URLs by design (SPEC §8.1); nothing else may.
	if !strings.HasPrefix(path, "/internal/") && strings.Contains(string(data), password) {
		h.t.Fatalf("%s %s: response holds the connection password: %s", method, path, data)
	}
	return reply{res.StatusCode, res.Header, data}
}

// expect asserts status and, for errors, the code; it decodes successes into out.
func (h *hub) expect(r reply, status int, code apierr.Code, out any) {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if code != "" {
		if e := r.envelope(h.t); e.Code != code {
			h.t.Fatalf("code %s, want %s: %s", e.Code, code, r.body)
		}
		return
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			h.t.Fatal(err)
		}
	}
}

// dataDB makes a PostgreSQL database with one table and returns its URL with
// the planted password (trust auth accepts it).
func dataDB(t *testing.T) string {
	t.Helper()
	raw := testpg.New(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, active boolean DEFAULT true)`); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func forEachStore(t *testing.T, f func(t *testing.T, h *hub)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { f(t, startHub(t, engine)) })
	}
}

func TestHubFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		data := dataDB(t)
		var prj hubapi.Project
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", &prj)
		if prj.Name != "demo" || prj.Org != "default" || prj.CreatedAt.IsZero() {
			t.Fatalf("project %+v", prj)
		}
		created := prj
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 409, apierr.Conflict, nil)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "Demo!"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "x", Org: "nope"}), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", "/v1/projects/nope", nil), 404, apierr.NotFound, nil)

		var env hubapi.Env
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", &env)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 409, apierr.Conflict, nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "DEV"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("POST", "/v1/projects/nope/envs", hubapi.CreateEnv{Name: "dev"}), 404, apierr.NotFound, nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "prod"}), 201, "", nil)

		var envs hubapi.List[hubapi.Env]
		h.expect(h.do("GET", "/v1/projects/demo/envs", nil), 200, "", &envs)
		if len(envs.Items) != 2 || envs.Items[0].Name != "dev" || envs.Items[1].Name != "prod" {
			t.Fatalf("envs %+v", envs)
		}
		h.expect(h.do("GET", "/v1/projects/demo", nil), 200, "", &prj)
		if len(prj.Envs) != 2 {
			t.Fatalf("project show lacks envs: %+v", prj)
		}
		var projects hubapi.List[hubapi.Project]
		h.expect(h.do("GET", "/v1/projects", nil), 200, "", &projects)
		if len(projects.Items) != 1 {
			t.Fatalf("projects %+v", projects)
		}

		base := "/v1/projects/demo/envs/dev/connections/main"
		var conn hubapi.Connection
		h.expect(h.do("PUT", base, hubapi.PutConnection{Engine: "postgres", URL: data}), 201, "", &conn)
		if conn.Version != 1 || !strings.Contains(conn.URL, ":***@") || conn.Engine != "postgres" {
			t.Fatalf("connection %+v", conn)
		}
		h.expect(h.do("PUT", base, hubapi.PutConnection{URL: data}), 200, "", &conn)
		if conn.Version != 2 {
			t.Fatalf("update did not bump version: %+v", conn)
		}
		h.expect(h.do("PUT", base, hubapi.PutConnection{Engine: "sqlite", URL: data}), 400, apierr.BadRequest, nil)
		h.expect(h.do("PUT", base, hubapi.PutConnection{Engine: "mysql", URL: data}), 400, apierr.BadRequest, nil)
		h.expect(h.do("PUT", base, hubapi.PutConnection{URL: "http://x"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("PUT", "/v1/projects/demo/envs/nope/connections/main", hubapi.PutConnection{URL: data}), 404, apierr.NotFound, nil)
		h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/Main", hubapi.PutConnection{URL: data}), 400, apierr.BadRequest, nil)

		var list hubapi.List[hubapi.Connection]
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/connections", nil), 200, "", &list)
		if len(list.Items) != 1 || list.Items[0].URL != conn.URL {
			t.Fatalf("connections %+v", list)
		}

		var test hubapi.ConnectionTest
		h.expect(h.do("POST", base+"/test", nil), 200, "", &test)
		if !test.OK || test.ServerVersion == "" {
			t.Fatalf("test %+v", test)
		}
		h.expect(h.do("POST", "/v1/projects/demo/envs/dev/connections/other/test", nil), 404, apierr.NotFound, nil)

		// An unreachable database: 503 naming only the category.
		down := "postgres://app:" + password + "@" + closedPort(t) + "/app"
		// Set tests it first, stores nothing when the test fails, and
		// noTest skips the test.
		r := h.do("PUT", "/v1/projects/demo/envs/prod/connections/main", hubapi.PutConnection{URL: down})
		h.expect(r, 503, apierr.ServiceUnavailable, nil)
		if e := r.envelope(t); e.Message != `connection "main": connection refused` {
			t.Fatalf("message %q", e.Message)
		}
		h.expect(h.do("GET", "/v1/projects/demo/envs/prod/connections/main", nil), 404, apierr.NotFound, nil)
		h.expect(h.do("PUT", "/v1/projects/demo/envs/prod/connections/main", hubapi.PutConnection{URL: down, NoTest: true}), 201, "", nil)
		r = h.do("POST", "/v1/projects/demo/envs/prod/connections/main/test", nil)
		h.expect(r, 503, apierr.ServiceUnavailable, nil)
		if e := r.envelope(t); e.Message != `connection "main": connection refused` {
			t.Fatalf("message %q", e.Message)
		}
		h.expect(h.do("POST", "/v1/projects/demo/envs/prod/connections/main/snapshots", nil), 503, apierr.ServiceUnavailable, nil)

		var snap hubapi.Snapshot
		h.expect(h.do("POST", base+"/snapshots", nil), 201, "", &snap)
		if !strings.HasPrefix(snap.ID, "snap_") || !strings.HasPrefix(snap.Hash, "sha256:") || snap.Reused ||
			len(snap.Tables) != 1 || snap.Tables[0].Name != "users" {
			t.Fatalf("snapshot %+v", snap)
		}
		var again hubapi.Snapshot
		h.expect(h.do("POST", base+"/snapshots", nil), 200, "", &again)
		if !again.Reused || again.ID != snap.ID {
			t.Fatalf("unchanged schema gave a new snapshot: %+v", again)
		}
		var schemas hubapi.List[hubapi.Snapshot]
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/schema", nil), 200, "", &schemas)
		if len(schemas.Items) != 1 || schemas.Items[0].ID != snap.ID {
			t.Fatalf("schema %+v", schemas)
		}
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/schema?connection=other", nil), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", "/v1/projects/demo/envs/prod/schema?connection=main", nil), 200, "", &schemas)
		if len(schemas.Items) != 0 {
			t.Fatalf("a connection never snapshotted has snapshots: %+v", schemas)
		}
		// Creation answers show what later reads show, to the microsecond.
		var read hubapi.Project
		h.expect(h.do("GET", "/v1/projects/demo", nil), 200, "", &read)
		if read.CreatedAt != created.CreatedAt {
			t.Fatalf("createdAt %v on create, %v on read", created.CreatedAt, read.CreatedAt)
		}

		h.assertNoSecret()
	})
}

// A schema change gives a new snapshot; the old one is kept, immutable.
func TestSnapshotChanges(t *testing.T) {
	h := startHub(t, "sqlite")
	data := dataDB(t)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "p"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/p/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	base := "/v1/projects/p/envs/dev/connections/main"
	h.expect(h.do("PUT", base, hubapi.PutConnection{URL: data}), 201, "", nil)
	var first, second hubapi.Snapshot
	h.expect(h.do("POST", base+"/snapshots", nil), 201, "", &first)
	c, err := pgx.Connect(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), "ALTER TABLE users ADD COLUMN name text"); err != nil {
		t.Fatal(err)
	}
	h.expect(h.do("POST", base+"/snapshots", nil), 201, "", &second)
	if second.ID == first.ID || second.Hash == first.Hash {
		t.Fatal("schema change did not give a new snapshot")
	}
	if _, ok := second.Tables[0].Column("name"); !ok {
		t.Fatalf("new column missing: %+v", second.Tables[0])
	}
}

func TestEnvelopeEverywhere(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "p"}), 201, "", nil)
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         apierr.Code
	}{
		{"GET", "/v1/nope", nil, 404, apierr.NotFound},
		{"GET", "/", nil, 404, apierr.NotFound},
		{"DELETE", "/v1/projects", nil, 405, apierr.MethodNotAllowed},
		{"PATCH", "/v1/projects/p", nil, 405, apierr.MethodNotAllowed},
		{"POST", "/healthz", nil, 405, apierr.MethodNotAllowed},
		{"POST", "/v1/projects", "{", 400, apierr.BadRequest},
		{"POST", "/v1/projects", "", 400, apierr.BadRequest},
		{"POST", "/v1/projects", "[1]", 400, apierr.BadRequest},
		{"POST", "/v1/projects", `{"name": 5}`, 400, apierr.BadRequest},
		{"POST", "/v1/projects", `{"name": "a", "extra": 1}`, 400, apierr.BadRequest},
		{"POST", "/v1/projects", `{"name": "a"} {}`, 400, apierr.BadRequest},
		{"POST", "/v1/projects", `{"name": "` + strings.Repeat("a", 2<<20) + `"}`, 413, apierr.PayloadTooLarge},
		{"PUT", "/v1/projects/p/envs/dev/connections/main", `{"url": 1}`, 400, apierr.BadRequest},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := h.do(tc.method, tc.path, tc.body)
			h.expect(r, tc.status, tc.code, nil)
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	// Unknown fields and wrong types name the field.
	r := h.do("POST", "/v1/projects", `{"name": "a", "extra": 1}`)
	if e := r.envelope(t); !strings.Contains(e.Message, "extra") {
		t.Fatalf("message %q does not name the field", e.Message)
	}
	r = h.do("POST", "/v1/projects", `{"name": 5}`)
	if e := r.envelope(t); !strings.Contains(e.Message, "name") {
		t.Fatalf("message %q does not name the field", e.Message)
	}
}

func TestRequestID(t *testing.T) {
	h := startHub(t, "sqlite")
	req, _ := http.NewRequest("GET", h.url+"/v1/nope", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("X-Request-Id") != "trace-42" || !strings.Contains(string(body), `"requestId":"trace-42"`) {
		t.Fatalf("incoming id not reused: %s %s", res.Header.Get("X-Request-Id"), body)
	}
	// A too-long or non-printable id is replaced by a generated one.
	for _, bad := range []string{strings.Repeat("x", 129), "a\tb"} {
		req.Header.Set("X-Request-Id", bad)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
			t.Fatalf("bad incoming id kept: %q", got)
		}
	}
	// Successes carry it too, and the access log records it.
	r := h.do("GET", "/healthz", nil)
	if r.status != 200 || !strings.Contains(h.logs.String(), r.header.Get("X-Request-Id")) {
		t.Fatalf("healthz %d, log lacks request id", r.status)
	}
	h.expect(h.do("GET", "/readyz", nil), 200, "", nil)
}

func (h *hub) assertNoSecret() {
	h.t.Helper()
	if strings.Contains(h.logs.String(), password) {
		h.t.Fatal("the Hub's logs hold the connection password")
	}
	h.assertStoreLacks(password)
}

// assertStoreLacks fails when s appears in the SQLite store's files.
func (h *hub) assertStoreLacks(s string) {
	h.t.Helper()
	if h.dbFile == "" {
		return
	}
	files, _ := filepath.Glob(h.dbFile + "*")
	if len(files) == 0 {
		h.t.Fatalf("no store files at %s", h.dbFile)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			h.t.Fatalf("store file %s holds a secret", f)
		}
	}
}

// A store that stops answering makes /readyz 503 (and /healthz stays 200:
// the process is up).
func TestReadyzStoreDown(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("GET", "/readyz", nil), 200, "", nil)
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	h.expect(h.do("GET", "/readyz", nil), 503, apierr.ServiceUnavailable, nil)
	h.expect(h.do("GET", "/healthz", nil), 200, "", nil)
	// Resolving the caller needs the store: 503, not 401 or 500.
	h.expect(h.do("GET", "/v1/projects", nil), 503, apierr.ServiceUnavailable, nil)
}

func TestConfig(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	c, err := ConfigFromEnv(get)
	if err != nil || c.Addr != "127.0.0.1:4000" || c.DatabaseURL != "sqlite://./santokit-hub.db" {
		t.Fatalf("defaults %+v %v", c, err)
	}
	if c.AuthDisabled {
		t.Fatal("operator auth must be enforced by default")
	}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "STK_MASTER_KEYS") {
		t.Fatalf("missing keys: %v", err)
	}
	env["STK_DISABLE_AUTH"] = "true"
	env["STK_BOOTSTRAP_ADMIN_EMAIL"], env["STK_BOOTSTRAP_ADMIN_PASSWORD"] = "a@example.com", "pw"
	c, _ = ConfigFromEnv(get)
	if !c.AuthDisabled || c.BootstrapEmail != "a@example.com" || c.BootstrapPassword != "pw" {
		t.Fatalf("config %+v", c)
	}
	for k, v := range map[string]string{"STK_DISABLE_AUTH": "yes please", "STK_LOG_LEVEL": "loud", "STK_TLS_CERT": "c.pem"} {
		env2 := map[string]string{k: v}
		if _, err := ConfigFromEnv(func(k string) string { return env2[k] }); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	if _, err := New(context.Background(), Config{AuthDisabled: true, MasterKeys: "v1:short", DatabaseURL: "sqlite://" + t.TempDir() + "/x.db"}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("bad master keys accepted")
	}
}
