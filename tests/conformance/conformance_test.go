// Package conformance runs the /call conformance cases of SPEC §4
// (ARCHITECTURE §4): each case in cases/*.json is one request and its
// expected answer, and the same cases run against a PostgreSQL and a SQLite
// data database, each served by an embedded Hub and Bridge configured over
// HTTP the way an operator would. See cases/README.md for the case format.
package conformance

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/santokit/santokit/internal/testpg"
	bridgeserver "github.com/santokit/santokit/packages/bridge/server"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const (
	project     = "conf"
	bridgeToken = "conformance-bridge-token"
	// fakeSecret has the shape of a key secret (43 base62 characters).
	fakeSecret = "0123456789abcdefghijABCDEFGHIJ0123456789xyz"
	// unknownKey is well-formed, but no Hub knows its keyId.
	unknownKey = "stk_key_01ARZ3NDEKTSV4RRFFQ69G5FAV_" + fakeSecret
	// corsOrigins is the runtime's STK_CORS_ORIGINS (cors.json).
	corsOrigins = "http://app.example.test,https://app.example.test:8443"
)

var engines = []string{"postgres", "sqlite"}

// client bounds every request, so that a hung server fails a case instead
// of the whole test binary.
var client = &http.Client{Timeout: 30 * time.Second}

// Case is one request and its expected answer (cases/README.md).
type Case struct {
	Name    string            `json:"name"`
	Engines []string          `json:"engines,omitempty"`
	Key     string            `json:"key,omitempty"`
	User    *User             `json:"user,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	RawBody *string           `json:"rawBody,omitempty"`
	// Method is POST (default) or OPTIONS (CORS preflights, cors.json).
	Method string `json:"method,omitempty"`

	Status          int             `json:"status"`
	Code            string          `json:"code,omitempty"`
	Message         string          `json:"message,omitempty"`
	MessageExcludes []string        `json:"messageExcludes,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	Meta            json.RawMessage `json:"meta,omitempty"`
	DataLen         *int            `json:"dataLen,omitempty"`
	After           *After          `json:"after,omitempty"`
	// ResponseHeaders are exact expected response header values; "" means
	// the header must be absent.
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`

	file string
}

// After checks the data database once the call has answered.
type After struct {
	SQL string `json:"sql"`
	// Rows are the expected rows, in order, as JSON arrays.
	Rows json.RawMessage `json:"rows"`
}

var keyNames = []string{"", "reader", "writer", "admin", "revoked", "other", "malformed", "none", "unknown", "wrongsecret"}

func (c *Case) id() string { return strings.TrimSuffix(c.file, ".json") + "/" + c.Name }

func (c *Case) runsOn(engine string) bool {
	return len(c.Engines) == 0 || slices.Contains(c.Engines, engine)
}

// loadCases reads and validates every case file: unknown fields, duplicate
// names and impossible combinations fail the suite instead of silently
// checking less.
func loadCases(t *testing.T) []*Case {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files in cases/ (%v)", err)
	}
	sort.Strings(files)
	var all []*Case
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var cs []*Case
		if err := dec.Decode(&cs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, c := range cs {
			c.file = filepath.Base(f)
			var problems []string
			if c.Name == "" {
				problems = append(problems, "no name")
			}
			if seen[c.id()] {
				problems = append(problems, "duplicate name")
			}
			seen[c.id()] = true
			if c.Status == 0 {
				problems = append(problems, "no status")
			}
			switch c.Method {
			case "", "POST":
				if (c.Body == nil) == (c.RawBody == nil) {
					problems = append(problems, "exactly one of body and rawBody is required")
				}
			case "OPTIONS":
				if c.Body != nil || c.RawBody != nil {
					problems = append(problems, "an OPTIONS case has no body")
				}
			default:
				problems = append(problems, fmt.Sprintf("unknown method %q", c.Method))
			}
			if c.Status == 204 && (c.Data != nil || c.Meta != nil || c.DataLen != nil) {
				problems = append(problems, "a 204 case has no data/meta/dataLen")
			}
			if !slices.Contains(keyNames, c.Key) {
				problems = append(problems, fmt.Sprintf("unknown key %q", c.Key))
			}
			if c.User != nil {
				problems = append(problems, c.User.problems()...)
			}
			for _, e := range c.Engines {
				if !slices.Contains(engines, e) {
					problems = append(problems, fmt.Sprintf("unknown engine %q", e))
				}
			}
			isErr := c.Status >= 400
			if isErr && (c.Code == "" || c.Data != nil || c.Meta != nil || c.DataLen != nil) {
				problems = append(problems, "an error case needs code and no data/meta/dataLen")
			}
			if !isErr && (c.Code != "" || c.Message != "" || len(c.MessageExcludes) > 0) {
				problems = append(problems, "a success case has no code/message")
			}
			if c.After != nil && (c.After.SQL == "" || c.After.Rows == nil) {
				problems = append(problems, "after needs sql and rows")
			}
			if len(problems) > 0 {
				t.Fatalf("%s case #%d (%q): %s", f, i, c.Name, strings.Join(problems, "; "))
			}
			all = append(all, c)
		}
	}
	return all
}

func TestConformance(t *testing.T) {
	cases := loadCases(t)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			st := setup(t, engine)
			n := 0
			for _, c := range cases {
				if !c.runsOn(engine) {
					continue
				}
				n++
				t.Run(c.id(), func(t *testing.T) {
					st.reset(t)
					st.run(t, c)
				})
			}
			t.Logf("%d cases on %s", n, engine)
		})
	}
}

// stack is one engine's data database, Hub and Bridge, and the API keys.
type stack struct {
	engine string
	db     *sql.DB // the data database, for resets and `after` checks
	bridge string  // Bridge base URL
	keys   map[string]string
	seed   string
	// issuers mint the tokens of cases with a user.
	issuers *issuers
	// hub drives the Hub's API, dataURL is the data database's URL: other
	// runtimes' runners (worker_test.go) configure themselves from them.
	hub     *hubClient
	dataURL string
	// bridgeEnv is the Bridge's STK_* configuration; the Worker gets the
	// same values (worker_test.go).
	bridgeEnv map[string]string
}

func setup(t *testing.T, engine string) *stack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s := &stack{engine: engine, keys: map[string]string{}, issuers: startIssuers(t)}
	// seed.sql and <engine>.sql, then each topic's seed-*.sql and
	// <engine>-*.sql (a topic's seed deletes its own rows first).
	s.seed = readFixtures(t, "seed")
	schemaSQL := readFixtures(t, engine)

	// The data database.
	var (
		dataURL string
		err     error
	)
	switch engine {
	case "postgres":
		dataURL = testpg.New(t)
		u, err := url.Parse(dataURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("timezone", "UTC") // seed.sql writes UTC wall times
		u.RawQuery = q.Encode()
		s.db, err = sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
	case "sqlite":
		file := filepath.Join(dir, "data.db")
		dataURL = "sqlite://" + file
		dsn := (&url.URL{Scheme: "file", Path: file, RawQuery: url.Values{
			"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"},
		}.Encode()}).String()
		s.db, err = sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		s.db.SetMaxOpenConns(1)
	}
	t.Cleanup(func() { s.db.Close() })
	if _, err := s.db.ExecContext(ctx, schemaSQL); err != nil {
		t.Fatalf("load fixtures/%s*.sql: %v", engine, err)
	}

	// The Hub.
	hcfg := hubserver.Config{Addr: "127.0.0.1:0", DatabaseURL: "sqlite://" + filepath.Join(dir, "hub.db"),
		MasterKeys:     "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		BootstrapEmail: "owner@example.com", BootstrapPassword: "conformance-owner-pw",
		BridgeTokens: []string{bridgeToken}, Version: "conformance",
		DBTargets: dbtarget.Config{SQLiteDir: dir}}
	quiet := slog.New(slog.DiscardHandler)
	if testing.Verbose() && os.Getenv("STK_CONFORMANCE_LOGS") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hub, err := hubserver.New(ctx, hcfg, quiet)
	if err != nil {
		t.Fatalf("hub: %v", err)
	}
	hts := httptest.NewServer(hub.Handler())
	t.Cleanup(func() { hts.Close(); hub.Close() })
	h := &hubClient{t: t, base: hts.URL}
	var tok hubapi.Tokens
	h.do("POST", "/v1/auth/login", "", hubapi.Login{Email: "owner@example.com", Password: "conformance-owner-pw"}, &tok, 200)
	h.token = tok.AccessToken
	s.hub, s.dataURL = h, dataURL

	h.do("POST", "/v1/projects", "", hubapi.CreateProject{Name: project}, nil, 201)
	perms := map[string]string{"dev": "permissions.yaml", "other": "permissions-other.yaml"}
	for _, env := range []string{"dev", "other"} {
		envPath := "/v1/projects/" + project + "/envs/" + env
		h.do("POST", "/v1/projects/"+project+"/envs", "", hubapi.CreateEnv{Name: env}, nil, 201)
		h.do("PUT", envPath+"/connections/main", "", hubapi.PutConnection{URL: dataURL}, nil, 200, 201)
		h.do("POST", envPath+"/connections/main/snapshots", "", nil, nil, 200, 201)
		yaml, err := os.ReadFile(filepath.Join("fixtures", perms[env]))
		if err != nil {
			t.Fatal(err)
		}
		h.do("PUT", envPath+"/permissions", "application/yaml", string(yaml), nil, 200, 201)
		if env == "dev" {
			h.do("PUT", envPath+"/auth", "application/yaml", s.issuers.authConfig(t), nil, 200, 201)
			h.do("PUT", envPath+"/logics", "", hubapi.ApplyLogics{Files: logicFiles(t, engine)}, nil, 200, 201)
		}
		h.do("POST", envPath+"/releases", "", hubapi.CreateRelease{Ref: "conformance"}, nil, 200, 201)
	}
	mkKey := func(env, name string, roles ...string) hubapi.CreatedAPIKey {
		var k hubapi.CreatedAPIKey
		h.do("POST", "/v1/projects/"+project+"/envs/"+env+"/apikeys", "", hubapi.CreateAPIKey{Name: name, Roles: roles}, &k, 200, 201)
		if k.Key == "" || k.KeyID == "" {
			t.Fatalf("apikey create %s: no key in the answer", name)
		}
		return k
	}
	for _, r := range []string{"reader", "writer", "admin"} {
		s.keys[r] = mkKey("dev", r, r).Key
	}
	s.keys[""] = s.keys["reader"]
	rev := mkKey("dev", "revoked", "reader")
	h.do("DELETE", "/v1/projects/"+project+"/envs/dev/apikeys/"+rev.KeyID, "", nil, nil, 200, 204)
	s.keys["revoked"] = rev.Key
	s.keys["other"] = mkKey("other", "other", "reader").Key
	s.keys["malformed"] = "stk_not-a-key"
	s.keys["unknown"] = unknownKey
	reader := s.keys["reader"]
	s.keys["wrongsecret"] = reader[:strings.LastIndexByte(reader, '_')+1] + fakeSecret

	// The Bridge, configured from STK_* values as stk-bridge would be.
	env := map[string]string{
		"STK_HUB_URL":           hts.URL,
		"STK_BRIDGE_TOKEN":      bridgeToken,
		"STK_STATEMENT_TIMEOUT": "1s",
		"STK_MAX_AFFECTED":      "3",
		"STK_MAX_LIMIT":         "50",
		"STK_MAX_BATCH":         "10",
		"STK_MAX_BODY_BYTES":    "65536",
		"STK_SQLITE_DIR":        dir,
		"STK_CORS_ORIGINS":      corsOrigins,
	}
	bcfg, err := bridgeserver.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("bridge config: %v", err)
	}
	s.bridgeEnv = env
	bridge, err := bridgeserver.New(ctx, bcfg, quiet)
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	bts := httptest.NewServer(bridge.Handler())
	t.Cleanup(func() { bts.Close(); bridge.Close() })
	s.bridge = bts.URL

	s.reset(t)
	s.waitServing(t, s.keys["reader"])
	s.waitServing(t, s.keys["other"])
	return s
}

// readFixtures concatenates fixtures/<name>.sql and fixtures/<name>-*.sql,
// in name order, so that a topic adds its tables and rows in files of its
// own.
func readFixtures(t *testing.T, name string) string {
	t.Helper()
	more, err := filepath.Glob(filepath.Join("fixtures", name+"-*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(more)
	var sb strings.Builder
	for _, f := range append([]string{filepath.Join("fixtures", name+".sql")}, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteString("\n;\n")
	}
	return sb.String()
}

// waitServing polls a select until the Bridge answers 200 (bounded).
func (s *stack) waitServing(t *testing.T, key string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	body := `{"path":"db/main/items/select","params":{"limit":1}}`
	var last string
	for time.Now().Before(deadline) {
		status, _, raw, err := s.post(map[string]string{"X-Santokit-Api-Key": key}, []byte(body))
		if err == nil && status == 200 {
			return
		}
		last = fmt.Sprintf("%d %s %v", status, raw, err)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the Bridge did not serve a select within 15s; last answer: %s", last)
}

func (s *stack) post(headers map[string]string, body []byte) (int, http.Header, []byte, error) {
	return s.send("POST", headers, body)
}

func (s *stack) send(method string, headers map[string]string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, s.bridge+"/call", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// reset restores the seed rows, so that every case starts from the same
// data.
func (s *stack) reset(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	defer tx.Rollback()
	stmts := []string{"DELETE FROM notes", "DELETE FROM items", s.seed}
	if s.engine == "postgres" {
		// Identity columns continue after the seed's ids, as SQLite's rowids do.
		stmts = append(stmts,
			"SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items))",
			"SELECT setval(pg_get_serial_sequence('notes', 'id'), (SELECT max(id) FROM notes))")
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("reset: %v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("reset: %v", err)
	}
}

func expand(s string) string {
	s = strings.NewReplacer("${PROJECT}", project, "${ENV}", "dev").Replace(s)
	// ${BYTE:hh} stands for the raw byte 0xhh, which a JSON case file
	// cannot hold (invalid UTF-8 bodies).
	for {
		i := strings.Index(s, "${BYTE:")
		if i < 0 || i+len("${BYTE:hh}") > len(s) || s[i+len("${BYTE:hh}")-1] != '}' {
			break
		}
		b, err := strconv.ParseUint(s[i+len("${BYTE:"):i+len("${BYTE:hh")], 16, 8)
		if err != nil {
			break
		}
		s = s[:i] + string([]byte{byte(b)}) + s[i+len("${BYTE:hh}"):]
	}
	// ${PAD:n} stands for n bytes of padding (bodies over the size limit).
	for {
		i := strings.Index(s, "${PAD:")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		var n int
		if j < 0 {
			return s
		}
		if _, err := fmt.Sscanf(s[i+len("${PAD:"):i+j], "%d", &n); err != nil {
			return s
		}
		s = s[:i] + strings.Repeat("x", n) + s[i+j+1:]
	}
}

// run posts the case's request and checks the answer.
func (s *stack) run(t *testing.T, c *Case) {
	t.Helper()
	headers := map[string]string{}
	switch {
	case c.Key == "none", c.Key == "" && c.User != nil:
	default:
		headers["X-Santokit-Api-Key"] = s.keys[c.Key]
	}
	if c.User != nil {
		headers["Authorization"] = "Bearer " + s.issuers.token(t, c.User)
		headers["X-Santokit-Project"] = project
		headers["X-Santokit-Env"] = "dev"
	}
	for k, v := range c.Headers {
		headers[k] = expand(v)
	}
	var body []byte
	if c.RawBody != nil {
		body = []byte(expand(*c.RawBody))
	} else {
		body = c.Body
	}
	method := c.Method
	if method == "" {
		method = "POST"
	}
	status, hdr, raw, err := s.send(method, headers, body)
	if err != nil {
		t.Fatalf("%s /call: %v", method, err)
	}
	show := raw
	if len(show) > 600 {
		show = append(show[:600:600], "…"...)
	}
	if status != c.Status {
		t.Errorf("status %d, want %d; body: %s", status, c.Status, show)
	}
	if ct := hdr.Get("Content-Type"); status != 204 && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	for k, want := range c.ResponseHeaders {
		if got := strings.Join(hdr.Values(k), ", "); got != want {
			t.Errorf("response header %s: %q, want %q", k, got, want)
		}
	}
	reqID := hdr.Get("X-Request-Id")
	if reqID == "" {
		t.Errorf("no X-Request-Id header")
	}
	if sent := headers["X-Request-Id"]; sent != "" && reqID != sent {
		t.Errorf("X-Request-Id %q, want the incoming %q reused (SPEC §3)", reqID, sent)
	}
	if c.Status >= 400 {
		checkError(t, c, raw, reqID, show)
	} else if c.Status == 204 {
		if len(raw) != 0 {
			t.Errorf("a 204 has a body: %s", show)
		}
	} else if status < 400 {
		checkSuccess(t, c, raw, show)
	}
	if c.After != nil {
		s.checkAfter(t, c.After)
	}
	if t.Failed() {
		req := body
		if len(req) > 600 {
			req = append(req[:600:600], "…"...)
		}
		t.Logf("request (key %q, user %+v, headers %v): %s", c.Key, c.User, c.Headers, req)
	}
}

func checkError(t *testing.T, c *Case, raw []byte, reqID string, show []byte) {
	t.Helper()
	var env struct {
		Error *struct {
			Code      string          `json:"code"`
			Message   string          `json:"message"`
			RequestID string          `json:"requestId"`
			Details   json.RawMessage `json:"details"`
		} `json:"error"`
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Errorf("error body is not a JSON object: %v; body: %s", err, show)
		return
	}
	if len(top) != 1 || top["error"] == nil {
		t.Errorf("error body must be exactly {\"error\": …}; body: %s", show)
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil {
		t.Errorf("no error envelope; body: %s", show)
		return
	}
	e := env.Error
	if e.Code != c.Code {
		t.Errorf("code %q, want %q; message: %s", e.Code, c.Code, e.Message)
	}
	if e.Message == "" {
		t.Errorf("empty error message")
	}
	if c.Message != "" && !strings.Contains(strings.ToLower(e.Message), strings.ToLower(c.Message)) {
		t.Errorf("message %q does not contain %q", e.Message, c.Message)
	}
	for _, x := range c.MessageExcludes {
		if strings.Contains(e.Message, x) || strings.Contains(string(e.Details), x) {
			t.Errorf("error message or details contain %q, which they must not (SPEC §3): %s", x, show)
		}
	}
	if e.RequestID == "" || e.RequestID != reqID {
		t.Errorf("requestId %q, want the X-Request-Id header %q", e.RequestID, reqID)
	}
}

func checkSuccess(t *testing.T, c *Case, raw []byte, show []byte) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Errorf("body is not a JSON object: %v; body: %s", err, show)
		return
	}
	for k := range top {
		if k != "data" && k != "meta" {
			t.Errorf("unexpected top-level field %q; body: %s", k, show)
		}
	}
	data, meta := decode(t, top["data"]), decode(t, top["meta"])
	rows, ok := data.([]any)
	if !ok {
		t.Errorf("data is not an array; body: %s", show)
	}
	if _, ok := meta.(map[string]any); !ok {
		t.Errorf("meta is not an object; body: %s", show)
	}
	if c.Data != nil {
		if want := decode(t, c.Data); !equalJSON(want, data) {
			t.Errorf("data mismatch\n got: %s\nwant: %s", canon(data), canon(want))
		}
	}
	if c.Meta != nil {
		if want := decode(t, c.Meta); !equalJSON(want, meta) {
			t.Errorf("meta mismatch\n got: %s\nwant: %s", canon(meta), canon(want))
		}
	}
	if c.DataLen != nil && len(rows) != *c.DataLen {
		t.Errorf("%d rows, want %d; body: %s", len(rows), *c.DataLen, show)
	}
}

// checkAfter runs the after query and compares its rows.
func (s *stack) checkAfter(t *testing.T, a *After) {
	t.Helper()
	rs, err := s.db.QueryContext(context.Background(), a.SQL)
	if err != nil {
		t.Errorf("after: %v", err)
		return
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var got [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Errorf("after: %v", err)
			return
		}
		row := make([]any, len(cols))
		for i, v := range vals {
			row[i] = fromDB(v)
		}
		got = append(got, row)
	}
	if err := rs.Err(); err != nil {
		t.Errorf("after: %v", err)
		return
	}
	want := decode(t, a.Rows)
	if !equalJSON(want, toAny(got)) {
		t.Errorf("after %q\n got: %s\nwant: %s", a.SQL, canon(toAny(got)), canon(want))
	}
}

func toAny(rows [][]any) any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

// fromDB turns a database/sql value into the JSON-like values of
// normalize: numbers as *big.Rat, text as string, times as RFC 3339.
func fromDB(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		return new(big.Rat).SetInt64(x)
	case int32:
		return new(big.Rat).SetInt64(int64(x))
	case float64:
		r, ok := new(big.Rat).SetString(fmt.Sprint(x))
		if !ok {
			return x
		}
		return r
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case bool, string:
		return x
	}
	return fmt.Sprint(v)
}

// decode reads JSON keeping numbers exact.
func decode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("decode %s: %v", raw, err)
		return nil
	}
	return normalize(v)
}

// normalize turns json.Number (and float64 from After rows) into *big.Rat
// so that 1, 1.0 and 1e0 compare equal, and exactly.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return string(x)
		}
		return r
	case float64:
		r, _ := new(big.Rat).SetString(fmt.Sprint(x))
		return r
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !equalJSON(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// canon prints a normalized value as JSON for failure messages.
func canon(v any) string {
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case *big.Rat:
			if x.IsInt() {
				return json.Number(x.Num().String())
			}
			f, _ := x.Float64()
			return f
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = conv(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = conv(e)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(conv(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// hubClient drives the Hub's HTTP API with the hubapi types.
type hubClient struct {
	t     *testing.T
	base  string
	token string // the operator's access token (the Hub enforces auth)
}

func (h *hubClient) do(method, path, contentType string, body, out any, want ...int) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !slices.Contains(want, resp.StatusCode) {
		h.t.Fatalf("%s %s: status %d, want %v: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}
