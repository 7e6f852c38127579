// Package catalog is the error catalog of SPEC §3: it walks every Hub and
// Bridge route with bad input — malformed JSON, wrong types, unknown
// fields, missing fields, unknown names, oversize bodies, missing or wrong
// credentials — and checks each answer: a §3 envelope, a status that
// matches its code, the X-Request-Id header equal to the body's requestId,
// and no secret in the body.
package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the data database of the Bridge checks

	bridgeserver "github.com/santokit/santokit/packages/bridge/server"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

// Secrets the stack is configured with: none may appear in an answer.
var (
	masterKey   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	bridgeToken = "catalog-bridge-token-5e1"
	adminPass   = "Catalog-Owner-Pw-NEVER"
)

var client = &http.Client{Timeout: 30 * time.Second}

type answer struct {
	status int
	header http.Header
	body   []byte
}

type env struct {
	t       *testing.T
	hub     string
	bridge  string
	token   string // the owner's access token
	refresh string
	apiKey  string
	secrets []string
}

func do(t *testing.T, method, url string, body []byte, headers map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

// check asserts the §3 rules on an error answer and returns its code.
func (e *env) check(what string, a answer) apierr.Code {
	e.t.Helper()
	var b apierr.Body
	if err := json.Unmarshal(a.body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		e.t.Errorf("%s: not a §3 envelope (status %d): %s", what, a.status, a.body)
		return ""
	}
	if b.Error.Code.Status() != a.status {
		e.t.Errorf("%s: code %s with status %d", what, b.Error.Code, a.status)
	}
	if id := a.header.Get("X-Request-Id"); id == "" || id != b.Error.RequestID {
		e.t.Errorf("%s: X-Request-Id %q, body requestId %q", what, id, b.Error.RequestID)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s: Content-Type %q", what, ct)
	}
	for _, s := range e.secrets {
		if s != "" && strings.Contains(string(a.body), s) {
			e.t.Errorf("%s: the answer holds a secret: %s", what, a.body)
		}
	}
	return b.Error.Code
}

// want asserts an error answer with the given status and code.
func (e *env) want(what string, a answer, status int, code apierr.Code) {
	e.t.Helper()
	if a.status != status {
		e.t.Errorf("%s: status %d, want %d: %s", what, a.status, status, a.body)
		return
	}
	if got := e.check(what, a); got != code {
		e.t.Errorf("%s: code %s, want %s", what, got, code)
	}
}

func start(t *testing.T) *env {
	dir := t.TempDir()
	hubCfg := hubserver.Config{DatabaseURL: "sqlite://" + filepath.Join(dir, "hub.db"), MasterKeys: "v1:" + masterKey,
		BridgeTokens: []string{bridgeToken}, BootstrapEmail: "owner@example.com", BootstrapPassword: adminPass, Version: "test",
		DBTargets: dbtarget.Config{SQLiteDir: dir}}
	hub, err := hubserver.New(context.Background(), hubCfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(hub.Handler())
	t.Cleanup(func() { hs.Close(); hub.Close() })

	bcfg := bridgeserver.DefaultConfig()
	bcfg.HubURL, bcfg.BridgeToken, bcfg.Version = hs.URL, bridgeToken, "test"
	bcfg.DBTargets.SQLiteDir = dir
	br, err := bridgeserver.New(context.Background(), bcfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	bs := httptest.NewServer(br.Handler())
	t.Cleanup(func() { bs.Close(); br.Close() })

	e := &env{t: t, hub: hs.URL, bridge: bs.URL}
	var tok hubapi.Tokens
	e.ok("POST", "/v1/auth/login", hubapi.Login{Email: "owner@example.com", Password: adminPass}, &tok)
	e.token, e.refresh = tok.AccessToken, tok.RefreshToken

	// A project whose dev env serves a SQLite table through the Bridge.
	data := filepath.Join(dir, "data.db")
	db, err := sql.Open("sqlite", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.ok("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}, nil)
	e.ok("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}, nil)
	e.ok("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{Engine: "sqlite", URL: "sqlite://" + data}, nil)
	e.ok("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil, nil)
	a := do(t, "PUT", e.hub+"/v1/projects/demo/envs/dev/permissions", []byte("version: 1\ntables:\n  notes:\n    select: [reader]\n"),
		map[string]string{"Authorization": "Bearer " + e.token, "Content-Type": "application/yaml"})
	if a.status != 201 {
		t.Fatalf("permissions: %d %s", a.status, a.body)
	}
	e.ok("POST", "/v1/projects/demo/envs/dev/releases", hubapi.CreateRelease{Ref: "r1"}, nil)
	var key hubapi.CreatedAPIKey
	e.ok("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "server", Roles: []string{"reader"}}, &key)
	e.apiKey = key.Key
	e.secrets = []string{masterKey, bridgeToken, adminPass, e.token, e.refresh, e.apiKey, strings.TrimPrefix(key.Key, "stk_"+key.KeyID+"_")}
	return e
}

// ok calls the Hub as the owner and expects a 2xx.
func (e *env) ok(method, path string, in, out any) {
	e.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	a := do(e.t, method, e.hub+path, body, map[string]string{"Authorization": "Bearer " + e.token})
	if a.status/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

var param = regexp.MustCompile(`\{[a-zA-Z]+\}`)

// concrete fills a route pattern's parameters with names that exist
// (known) or with well-formed names that do not (unknown).
func concrete(pattern string, known bool) string {
	values := map[string][2]string{
		"{p}": {"demo", "ghost"}, "{e}": {"dev", "ghost"}, "{name}": {"main", "ghost"},
		"{id}": {"rel_01ARZ3NDEKTSV4RRFFQ69G5FAV", "rel_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "{keyId}": {"key_01ARZ3NDEKTSV4RRFFQ69G5FAV", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"},
		"{org}": {"default", "ghost"}, "{email}": {"ghost@example.com", "ghost@example.com"},
		"{provider}": {"ghost", "ghost"}, // this Hub has no OAuth provider
	}
	if strings.HasPrefix(pattern, "/v1/tokens/") {
		values["{id}"] = [2]string{"tok_01ARZ3NDEKTSV4RRFFQ69G5FAV", "tok_01ARZ3NDEKTSV4RRFFQ69G5FAV"}
	}
	return param.ReplaceAllStringFunc(pattern, func(p string) string {
		v := values[p]
		if known {
			return v[0]
		}
		return v[1]
	})
}

// bodyless are the POST routes that read no body.
var bodyless = map[string]bool{
	"POST /v1/projects/{p}/envs/{e}/connections/{name}/test":      true,
	"POST /v1/projects/{p}/envs/{e}/connections/{name}/snapshots": true,
	"POST /v1/users/{email}/disable":                              true,
	// The device page's form (application/x-www-form-urlencoded, answered
	// with pages): TestOAuthDeviceFlow covers it.
	"POST /v1/auth/device": true,
}

// required are the body routes whose body has required fields: an empty
// object is 400.
var required = map[string]bool{
	"PUT /v1/projects/{p}/envs/{e}/logics": true, "POST /v1/projects/{p}/envs/{e}/logics/run": true,
	"POST /v1/auth/login": true, "POST /v1/auth/refresh": true, "POST /v1/tokens": true, "POST /v1/users": true,
	"POST /v1/orgs": true, "POST /v1/orgs/{org}/members": true, "PUT /v1/orgs/{org}/members/{email}": true,
	"POST /v1/projects": true, "POST /v1/projects/{p}/envs": true, "POST /v1/projects/{p}/members": true,
	"PUT /v1/projects/{p}/members/{email}": true, "PUT /v1/projects/{p}/envs/{e}/connections/{name}": true,
	"POST /v1/projects/{p}/envs/{e}/connections/{name}/rotate": true, "POST /v1/projects/{p}/envs/{e}/releases/rollback": true,
	"POST /v1/projects/{p}/releases/promote": true, "POST /v1/projects/{p}/envs/{e}/apikeys": true,
	"POST /v1/auth/oauth/token": true, "POST /v1/auth/device/token": true,
}

func TestHubCatalog(t *testing.T) {
	e := start(t)
	auth := map[string]string{"Authorization": "Bearer " + e.token}
	big := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 2<<20)...)
	big = append(big, '"', '}')
	for _, pattern := range hubserver.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		url := e.hub + concrete(path, true)
		switch {
		case strings.HasPrefix(path, "/internal/"):
			// Always behind the bridge token, whatever the operator holds.
			e.want(pattern+" without a bridge token", do(t, method, url, nil, auth), 401, apierr.Unauthorized)
			e.want(pattern+" with a wrong bridge token", do(t, method, url, nil, map[string]string{"Authorization": "Bearer nope"}), 401, apierr.Unauthorized)
			continue
		case path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/version" || path == "/openapi.json" ||
			strings.HasPrefix(path, "/.well-known/"):
			continue // public and input-free
		}
		public := path == "/v1/auth/login" || path == "/v1/auth/refresh" || path == "/v1/auth/logout" ||
			path == "/v1/auth/providers" || strings.HasPrefix(path, "/v1/auth/oauth/") || strings.HasPrefix(path, "/v1/auth/device")
		if !public {
			e.want(pattern+" without a credential", do(t, method, url, nil, nil), 401, apierr.Unauthorized)
			e.want(pattern+" with a forged token", do(t, method, url, nil, map[string]string{"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}), 401, apierr.Unauthorized)
		}
		if (method == "POST" || method == "PUT") && !bodyless[pattern] {
			if strings.HasSuffix(path, "/permissions") || strings.HasSuffix(path, "/auth") { // YAML bodies
				h := map[string]string{"Authorization": auth["Authorization"], "Content-Type": "application/yaml"}
				e.want(pattern+" malformed YAML", do(t, method, url, []byte("version: [1\n"), h), 400, apierr.SchemaValidationFailed)
				e.want(pattern+" oversize", do(t, method, url, big, h), 413, apierr.PayloadTooLarge)
				continue
			}
			e.want(pattern+" malformed JSON", do(t, method, url, []byte(`{"name":`), auth), 400, apierr.BadRequest)
			e.want(pattern+" not an object", do(t, method, url, []byte(`[1,2]`), auth), 400, apierr.BadRequest)
			e.want(pattern+" unknown field", do(t, method, url, []byte(`{"zzzUnknown":1}`), auth), 400, apierr.BadRequest)
			e.want(pattern+" trailing data", do(t, method, url, []byte(`{} {}`), auth), 400, apierr.BadRequest)
			e.want(pattern+" oversize", do(t, method, url, big, auth), 413, apierr.PayloadTooLarge)
			if required[pattern] {
				e.want(pattern+" missing fields", do(t, method, url, []byte(`{}`), auth), 400, apierr.BadRequest)
			}
		}
		if method == "GET" || method == "DELETE" || bodyless[pattern] {
			if u := concrete(path, false); u != concrete(path, true) || strings.Contains(path, "{id}") || strings.Contains(path, "{keyId}") || strings.Contains(path, "{email}") {
				a := do(t, method, e.hub+u, nil, auth)
				e.want(pattern+" unknown name", a, 404, apierr.NotFound)
			}
		}
	}
	// Wrong types name the field.
	a := do(t, "POST", e.hub+"/v1/projects", []byte(`{"name":5}`), auth)
	e.want("POST /v1/projects wrong type", a, 400, apierr.BadRequest)
	if !strings.Contains(string(a.body), "name") {
		t.Errorf("wrong type does not name the field: %s", a.body)
	}
	a = do(t, "POST", e.hub+"/v1/projects/demo/envs/dev/apikeys", []byte(`{"name":"k","roles":"reader"}`), auth)
	e.want("POST apikeys wrong type", a, 400, apierr.BadRequest)
	// A release diff names the query parameter it lacks.
	a = do(t, "GET", e.hub+"/v1/projects/demo/releases/diff?to=rel_01ARZ3NDEKTSV4RRFFQ69G5FAV", nil, auth)
	e.want("release diff without from", a, 400, apierr.BadRequest)
	if !strings.Contains(string(a.body), "from") {
		t.Errorf("release diff without from does not name it: %s", a.body)
	}
	// Invalid names.
	e.want("invalid project name", do(t, "POST", e.hub+"/v1/projects", []byte(`{"name":"Bad Name"}`), auth), 400, apierr.BadRequest)
	e.want("unknown route", do(t, "GET", e.hub+"/v1/nope", nil, auth), 404, apierr.NotFound)
	e.want("wrong method", do(t, "PATCH", e.hub+"/v1/projects", nil, auth), 405, apierr.MethodNotAllowed)
	// The login secrets never come back, even in failures.
	e.want("login wrong password", do(t, "POST", e.hub+"/v1/auth/login", []byte(`{"email":"owner@example.com","password":"`+adminPass+`x"}`), nil), 401, apierr.Unauthorized)
	e.want("refresh garbage", do(t, "POST", e.hub+"/v1/auth/refresh", []byte(`{"refreshToken":"`+e.refresh+`x"}`), nil), 401, apierr.Unauthorized)
}

func TestBridgeCatalog(t *testing.T) {
	e := start(t)
	key := map[string]string{"X-Santokit-Api-Key": e.apiKey}
	call := func(body string, h map[string]string) answer {
		return do(t, "POST", e.bridge+"/call", []byte(body), h)
	}
	e.want("malformed JSON", call(`{"path":`, key), 400, apierr.BadRequest)
	e.want("not an object", call(`[1]`, key), 400, apierr.BadRequest)
	e.want("wrong type", call(`{"path":5}`, key), 400, apierr.BadRequest)
	e.want("missing path", call(`{}`, key), 400, apierr.BadRequest)
	e.want("unknown field", call(`{"path":"db/main/notes/select","zzz":1}`, key), 400, apierr.BadRequest)
	e.want("bad path shape", call(`{"path":"db/main"}`, key), 400, apierr.BadRequest)
	e.want("unknown op", call(`{"path":"db/main/notes/explode"}`, key), 400, apierr.BadRequest)
	e.want("unknown table", call(`{"path":"db/main/ghost/select"}`, key), 404, apierr.NotFound)
	e.want("unknown connection", call(`{"path":"db/ghost/notes/select"}`, key), 404, apierr.NotFound)
	e.want("unknown column", call(`{"path":"db/main/notes/select","params":{"select":["ghost"]}}`, key), 400, apierr.BadRequest)
	e.want("wrong param type", call(`{"path":"db/main/notes/select","params":{"limit":"ten"}}`, key), 400, apierr.BadRequest)
	e.want("unknown operator", call(`{"path":"db/main/notes/select","params":{"where":{"id":{"$regex":"x"}}}}`, key), 400, apierr.BadRequest)
	e.want("oversize", call(`{"path":"db/main/notes/select","params":{"x":"`+strings.Repeat("a", 2<<20)+`"}}`, key), 413, apierr.PayloadTooLarge)
	e.want("no credential", call(`{"path":"db/main/notes/select"}`, map[string]string{"X-Santokit-Project": "demo", "X-Santokit-Env": "dev"}), 401, apierr.Unauthorized)
	e.want("malformed key", call(`{"path":"db/main/notes/select"}`, map[string]string{"X-Santokit-Api-Key": "stk_nope"}), 401, apierr.Unauthorized)
	// The secret's last character changed (to one it is not: 1 in 62 keys
	// ends in "0").
	wrong := e.apiKey[:len(e.apiKey)-1] + "0"
	if wrong == e.apiKey {
		wrong = e.apiKey[:len(e.apiKey)-1] + "1"
	}
	e.want("wrong secret", call(`{"path":"db/main/notes/select"}`, map[string]string{"X-Santokit-Api-Key": wrong}), 401, apierr.Unauthorized)
	e.want("env mismatch", call(`{"path":"db/main/notes/select"}`, map[string]string{"X-Santokit-Api-Key": e.apiKey, "X-Santokit-Env": "prod"}), 403, apierr.Forbidden)
	e.want("role not allowed", call(`{"path":"db/main/notes/insert","params":{"values":{"body":"x"}}}`, key), 403, apierr.Forbidden)
	e.want("wrong method", do(t, "GET", e.bridge+"/call", nil, key), 405, apierr.MethodNotAllowed)
	e.want("unknown route", do(t, "GET", e.bridge+"/nope", nil, nil), 404, apierr.NotFound)
	if a := call(`{"path":"db/main/notes/select"}`, key); a.status != 200 {
		t.Fatalf("a good call: %d %s", a.status, a.body)
	}
}
