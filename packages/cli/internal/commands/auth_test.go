package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/core/hubapi"
)

const (
	testEmail    = "ops@example.com"
	testPassword = "s3cret-pw hunter2"
	testPAT      = "stkpat_ci_secret"
)

// loginHub is a fake Hub that enforces auth: login, rotating refresh
// tokens (a reused one revokes everything), logout, whoami and one
// project route.
type loginHub struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	seq     int
	access  map[string]bool
	refresh map[string]bool
	reqs    []recorded
	// loginStatus, when set, is answered to every login (429 tests).
	loginStatus int
}

func newLoginHub(t *testing.T) *loginHub {
	h := &loginHub{t: t, access: map[string]bool{}, refresh: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *loginHub) issue() hubapi.Tokens {
	h.seq++
	at, rt := fmt.Sprintf("at-%d", h.seq), fmt.Sprintf("rt-%d", h.seq)
	h.access[at], h.refresh[rt] = true, true
	return hubapi.Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: 900, TokenType: "Bearer"}
}

func (h *loginHub) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(b)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req_auth")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
	}
	ok := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/auth/providers":
		ok(200, hubapi.List[hubapi.Provider]{Items: []hubapi.Provider{}})
		return
	case "POST /v1/auth/login":
		if h.loginStatus == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "42")
			fail(429, "TOO_MANY_REQUESTS", "too many failed logins")
			return
		}
		var in hubapi.Login
		_ = json.Unmarshal(b, &in)
		if in.Email != testEmail || in.Password != testPassword {
			fail(401, "UNAUTHORIZED", "invalid email or password")
			return
		}
		ok(200, h.issue())
		return
	case "POST /v1/auth/refresh":
		var in hubapi.Refresh
		_ = json.Unmarshal(b, &in)
		valid, known := h.refresh[in.RefreshToken]
		if known && !valid {
			h.access, h.refresh = map[string]bool{}, map[string]bool{}
		}
		if !valid {
			fail(401, "UNAUTHORIZED", "refresh token expired or revoked")
			return
		}
		h.refresh[in.RefreshToken] = false
		ok(200, h.issue())
		return
	}
	if !h.access[bearer] && bearer != testPAT {
		fail(401, "UNAUTHORIZED", "missing or invalid credentials")
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/auth/logout":
		delete(h.access, bearer)
		var in hubapi.Refresh
		if json.Unmarshal(b, &in) == nil {
			delete(h.refresh, in.RefreshToken)
		}
		ok(200, hubapi.Status{Status: "ok"})
	case "GET /v1/auth/whoami":
		if bearer == testPAT {
			ok(200, hubapi.Whoami{Kind: "token", ID: "tok_1", Name: "ci", TokenProject: "demo", TokenRole: "deployer",
				Orgs: []hubapi.Membership{{Org: "default", Role: "owner"}}})
			return
		}
		ok(200, hubapi.Whoami{Kind: "user", ID: "usr_1", Email: testEmail, Name: testEmail,
			Orgs: []hubapi.Membership{{Org: "default", Role: "owner"}}, Projects: []hubapi.Membership{{Project: "demo", Role: "admin"}}})
	case "GET /v1/projects":
		ok(200, hubapi.List[hubapi.Project]{Items: []hubapi.Project{{Name: "demo", Org: "default"}}})
	default:
		fail(404, "NOT_FOUND", "no route")
	}
}

func (h *loginHub) requests() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.reqs...)
}

func (h *loginHub) count(route string) int {
	n := 0
	for _, r := range h.requests() {
		if r.method+" "+r.path == route {
			n++
		}
	}
	return n
}

// cfgEnv is an environment whose credentials file lives in a temp dir.
func cfgEnv(t *testing.T) (map[string]string, string) {
	dir := t.TempDir()
	return map[string]string{"XDG_CONFIG_HOME": dir}, filepath.Join(dir, "santokit", "credentials.json")
}

func login(t *testing.T, hubURL string, env map[string]string, extra ...string) result {
	t.Helper()
	args := append([]string{"login", "--hub", hubURL, "--email", testEmail, "--password-stdin"}, extra...)
	return stk(t, "", env, testPassword+"\n", args...)
}

func assertNoSecrets(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testPassword, "hunter2", "rt-") {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("secret %q printed:\n%s%s", s, r.stdout, r.stderr)
		}
	}
}

func TestLoginStoresPrivateCredentials(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	r := login(t, h.srv.URL, env)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "logged in to "+h.srv.URL+" as "+testEmail+" (profile default)") {
		t.Errorf("stdout %q", r.stdout)
	}
	assertNoSecrets(t, r, "at-1")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o", di.Mode().Perm())
	}
	e, ok, err := credentials.New(path).Get("default")
	if err != nil || !ok {
		t.Fatalf("entry: %v %v", ok, err)
	}
	if e.Hub != h.srv.URL || e.Email != testEmail || e.AccessToken != "at-1" || e.RefreshToken != "rt-1" ||
		time.Until(e.AccessExpiresAt) < 14*time.Minute || time.Until(e.AccessExpiresAt) > 16*time.Minute {
		t.Errorf("entry %+v", e)
	}
	if got := h.requests()[0].header.Get("Authorization"); got != "" {
		t.Errorf("login sent Authorization %q", got)
	}

	// --json: one document, no token in it; another profile is kept apart.
	r = login(t, h.srv.URL, env, "--profile", "second", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info["profile"] != "second" || info["email"] != testEmail {
		t.Errorf("json %s (%v)", r.stdout, err)
	}
	assertNoSecrets(t, r, "at-2")
	if e, _, _ := credentials.New(path).Get("default"); e.AccessToken != "at-1" {
		t.Errorf("default profile changed: %+v", e)
	}
}

func TestLoginFailures(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	r := stk(t, "", env, "wrong-password\n", "login", "--hub", h.srv.URL, "--email", testEmail, "--password-stdin")
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "error: login failed: invalid email or password (code UNAUTHORIZED") {
		t.Errorf("wrong password: exit %d stderr %q", r.code, r.stderr)
	}
	assertNoSecrets(t, r, "wrong-password")
	if _, err := os.Stat(path); err == nil {
		t.Error("credentials stored after a failed login")
	}
	h.loginStatus = http.StatusTooManyRequests
	r = login(t, h.srv.URL, env)
	if r.code != ExitError || !strings.Contains(r.stderr, "too many failed logins; retry after 42s (code TOO_MANY_REQUESTS") {
		t.Errorf("429: exit %d stderr %q", r.code, r.stderr)
	}
	// No terminal and no flags: a usage error that says what to pass.
	r = stk(t, "", env, "", "login", "--hub", h.srv.URL)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "pass --email E and the password on standard input with --password-stdin") {
		t.Errorf("no tty: exit %d stderr %q", r.code, r.stderr)
	}
	// No place for the credentials.
	r = stk(t, "", nil, testPassword, "login", "--hub", h.srv.URL, "--email", testEmail, "--password-stdin")
	if r.code != ExitError || !strings.Contains(r.stderr, "neither XDG_CONFIG_HOME nor HOME is set") {
		t.Errorf("no home: exit %d stderr %q", r.code, r.stderr)
	}
}

// After login, commands talk to the login's Hub (no --hub needed) and send
// its access token.
func TestLoginThenBearer(t *testing.T) {
	h := newLoginHub(t)
	env, _ := cfgEnv(t)
	if r := login(t, h.srv.URL, env); r.code != 0 {
		t.Fatalf("login: %s", r.stderr)
	}
	r := stk(t, "", env, "", "project", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "demo") {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	reqs := h.requests()
	last := reqs[len(reqs)-1]
	if last.path != "/v1/projects" || last.header.Get("Authorization") != "Bearer at-1" {
		t.Errorf("last request %s %q", last.path, last.header.Get("Authorization"))
	}
	// Another Hub named explicitly: the tokens are not sent there.
	other := newFakeHub(t)
	other.on("GET /v1/projects", 401, `{"error":{"code":"UNAUTHORIZED","message":"log in first"}}`)
	r = stk(t, "", env, "", "project", "list", "--hub", other.srv.URL)
	if got := other.requests()[0].header.Get("Authorization"); got != "" {
		t.Errorf("token sent to another Hub: %q", got)
	}
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "error: not logged in to "+other.srv.URL+" (profile default is logged in to "+h.srv.URL+"): run stk login --hub "+other.srv.URL) {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

func writeLogin(t *testing.T, path string, e credentials.Entry) {
	t.Helper()
	if err := credentials.New(path).Put(context.Background(), "default", e); err != nil {
		t.Fatal(err)
	}
}

// An access token that expires within a minute is refreshed before the
// request; the new tokens are stored.
func TestExpiredAccessTokenRefreshed(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	h.mu.Lock()
	h.issue() // at-1, rt-1
	h.mu.Unlock()
	writeLogin(t, path, credentials.Entry{Hub: h.srv.URL, Email: testEmail, AccessToken: "at-1", RefreshToken: "rt-1",
		AccessExpiresAt: time.Now().Add(30 * time.Second)})
	r := stk(t, "", env, "", "project", "list", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	reqs := h.requests()
	if len(reqs) != 2 || reqs[0].path != "/v1/auth/refresh" || reqs[1].header.Get("Authorization") != "Bearer at-2" {
		t.Fatalf("requests %+v", reqs)
	}
	e, _, _ := credentials.New(path).Get("default")
	if e.AccessToken != "at-2" || e.RefreshToken != "rt-2" || time.Until(e.AccessExpiresAt) < 14*time.Minute {
		t.Errorf("stored %+v", e)
	}
	assertNoSecrets(t, r, "at-2")

	// A 401 to a token that looked fresh: refresh once, retry once.
	writeLogin(t, path, credentials.Entry{Hub: h.srv.URL, AccessToken: "at-revoked", RefreshToken: "rt-2",
		AccessExpiresAt: time.Now().Add(time.Hour)})
	r = stk(t, "", env, "", "project", "list")
	if r.code != 0 || h.count("POST /v1/auth/refresh") != 2 || h.count("GET /v1/projects") != 3 {
		t.Errorf("retry: exit %d stderr %s, %d refreshes", r.code, r.stderr, h.count("POST /v1/auth/refresh"))
	}

	// A refresh token the Hub refuses: exit 3, told to log in, entry gone.
	writeLogin(t, path, credentials.Entry{Hub: h.srv.URL, AccessToken: "at-old", RefreshToken: "rt-unknown",
		AccessExpiresAt: time.Now().Add(-time.Hour)})
	r = stk(t, "", env, "", "project", "list")
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "has expired or was revoked") || !strings.Contains(r.stderr, "run stk login --hub "+h.srv.URL) {
		t.Errorf("session ended: exit %d stderr %q", r.code, r.stderr)
	}
	if _, ok, _ := credentials.New(path).Get("default"); ok {
		t.Error("entry kept")
	}
}

// No credentials and no STK_TOKEN: the request goes out without
// Authorization, and the Hub's 401 becomes "not logged in" (exit 3).
func TestNotLoggedIn(t *testing.T) {
	h := newLoginHub(t)
	env, _ := cfgEnv(t)
	for _, args := range [][]string{{"project", "list"}, {"whoami"}, {"token", "list"}} {
		r := stk(t, h.srv.URL, env, "", args...)
		if r.code != ExitUnauthorized || !strings.HasPrefix(r.stderr, "error: not logged in: run stk login --hub "+h.srv.URL) {
			t.Errorf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
		r = stk(t, h.srv.URL, env, "", append(args, "--json")...)
		var envl struct{ Error struct{ Code string } }
		if json.Unmarshal([]byte(r.stdout), &envl) != nil || envl.Error.Code != "UNAUTHORIZED" || r.code != ExitUnauthorized {
			t.Errorf("%v --json: exit %d stdout %q", args, r.code, r.stdout)
		}
	}
	for _, req := range h.requests() {
		if a := req.header.Get("Authorization"); a != "" {
			t.Errorf("%s sent Authorization %q", req.path, a)
		}
	}
	// With a profile other than the default, the hint names it.
	r := stk(t, h.srv.URL, env, "", "project", "list", "--profile", "prod")
	if !strings.Contains(r.stderr, "run stk login --hub "+h.srv.URL+" --profile prod") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// STK_TOKEN wins over a stored login and is never refreshed.
func TestSTKTokenOverrides(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	writeLogin(t, path, credentials.Entry{Hub: h.srv.URL, AccessToken: "at-x", RefreshToken: "rt-x",
		AccessExpiresAt: time.Now().Add(-time.Hour)})
	env[EnvToken] = testPAT
	r := stk(t, h.srv.URL, env, "", "whoami", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].header.Get("Authorization") != "Bearer "+testPAT {
		t.Errorf("requests %+v", reqs)
	}
	var w map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &w)
	if w["kind"] != "token" || w["credential"] != "STK_TOKEN" || w["tokenRole"] != "deployer" {
		t.Errorf("whoami %s", r.stdout)
	}
	assertNoSecrets(t, r, testPAT)
	// A rejected STK_TOKEN: exit 3, no refresh.
	env[EnvToken] = "stkpat_revoked"
	r = stk(t, h.srv.URL, env, "", "project", "list")
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "the Hub rejected the token in STK_TOKEN") || h.count("POST /v1/auth/refresh") != 0 {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	assertNoSecrets(t, r, "stkpat_revoked")
}

func TestWhoami(t *testing.T) {
	h := newLoginHub(t)
	env, _ := cfgEnv(t)
	if r := login(t, h.srv.URL, env); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := stk(t, "", env, "", "whoami", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var w map[string]any
	if err := dec.Decode(&w); err != nil || dec.More() {
		t.Fatalf("not one JSON document: %s", r.stdout)
	}
	for k, want := range map[string]any{"kind": "user", "id": "usr_1", "email": testEmail, "name": testEmail,
		"hubUrl": h.srv.URL, "credential": "login", "profile": "default"} {
		if w[k] != want {
			t.Errorf("%s = %v, want %v", k, w[k], want)
		}
	}
	orgs, _ := w["orgs"].([]any)
	projects, _ := w["projects"].([]any)
	if len(orgs) != 1 || len(projects) != 1 || projects[0].(map[string]any)["role"] != "admin" {
		t.Errorf("memberships %s", r.stdout)
	}
	assertNoSecrets(t, r, "at-1")
	r = stk(t, "", env, "", "whoami")
	for _, want := range []string{"name        " + testEmail, "kind        user", "credential  login of profile default", "orgs        default (owner)", "projects    demo (admin)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestLogout(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	if r := login(t, h.srv.URL, env); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// An expired access token needs no refresh to log out: the refresh
	// token alone proves the session.
	store := credentials.New(path)
	e, _, _ := store.Get("default")
	e.AccessExpiresAt = time.Now().Add(-time.Minute)
	if err := store.Put(context.Background(), "default", e); err != nil {
		t.Fatal(err)
	}
	before := len(h.requests())
	r := stk(t, "", env, "", "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "logged out of "+h.srv.URL+" (profile default)") {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	reqs := h.requests()[before:]
	if len(reqs) != 1 || reqs[0].path != "/v1/auth/logout" || reqs[0].header.Get("Authorization") != "" || reqs[0].body != `{"refreshToken":"rt-1"}` {
		t.Errorf("logout requests %+v, want one with the refresh token alone", reqs)
	}
	if _, ok, _ := credentials.New(path).Get("default"); ok {
		t.Error("entry kept")
	}
	// Again: nothing to do.
	r = stk(t, "", env, "", "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "not logged in") {
		t.Errorf("second logout: exit %d %q", r.code, r.stdout)
	}

	// The Hub unreachable: the entry is removed anyway, and stk says so.
	if r := login(t, h.srv.URL, env); r.code != 0 {
		t.Fatal(r.stderr)
	}
	h.srv.Close()
	r = stk(t, "", env, "", "logout", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: the Hub was not told (cannot reach the Hub") {
		t.Errorf("unreachable: exit %d stderr %q", r.code, r.stderr)
	}
	var out logoutInfo
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Removed || out.HubLoggedOut || out.HubError == "" {
		t.Errorf("json %s", r.stdout)
	}
	if _, ok, _ := credentials.New(path).Get("default"); ok {
		t.Error("entry kept")
	}
}

// A corrupted credentials file is an error that names it (exit 1), unless
// STK_TOKEN makes it irrelevant.
func TestCorruptedCredentials(t *testing.T) {
	h := newLoginHub(t)
	env, path := cfgEnv(t)
	_ = os.MkdirAll(filepath.Dir(path), 0o700)
	_ = os.WriteFile(path, []byte(`{"version":1,"profiles":{"default":{"accessToken":"at-secret"`), 0o600)
	r := stk(t, h.srv.URL, env, "", "project", "list")
	if r.code != ExitError || !strings.Contains(r.stderr, "credentials file "+path+" is corrupted") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	assertNoSecrets(t, r, "at-secret")
	env[EnvToken] = testPAT
	if r := stk(t, h.srv.URL, env, "", "project", "list"); r.code != 0 {
		t.Errorf("with STK_TOKEN: exit %d %s", r.code, r.stderr)
	}
}

const tokenJSON = `{"id":"tok_01JD3W7V4T9Q8X2M5N6P7R8S9T","name":"ci","token":"stkpat_abc","project":"demo","role":"deployer","status":"active","createdBy":"usr_1","createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-04-02T03:04:05Z"}`

func TestTokenCreate(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/tokens", 201, tokenJSON)
	r := stk(t, h.srv.URL, nil, "", "token", "create", "--name", "ci", "--project", "demo", "--role", "deployer", "--expires", "90d", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	assertJSONEqual(t, h.requests()[0].body, `{"name":"ci","project":"demo","role":"deployer","expires":"90d"}`)
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&out); err != nil || dec.More() {
		t.Fatalf("not one JSON document: %s", r.stdout)
	}
	if out["id"] != "tok_01JD3W7V4T9Q8X2M5N6P7R8S9T" || out["name"] != "ci" || out["token"] != "stkpat_abc" || out["expiresAt"] != "2026-04-02T03:04:05Z" {
		t.Errorf("json %s", r.stdout)
	}
	r = stk(t, h.srv.URL, nil, "", "token", "create", "--name", "ci")
	if r.code != 0 || !strings.Contains(r.stdout, "token    stkpat_abc") || !strings.Contains(r.stdout, "will not be shown again") {
		t.Errorf("human: exit %d stdout %q", r.code, r.stdout)
	}
	assertJSONEqual(t, h.requests()[1].body, `{"name":"ci"}`)
	// STK_PROJECT does not scope a token: only the flag does.
	_ = stk(t, h.srv.URL, map[string]string{EnvProject: "demo"}, "", "token", "create", "--name", "ci")
	assertJSONEqual(t, h.requests()[2].body, `{"name":"ci"}`)

	// Bad names and ids are usage errors, without asking the Hub.
	for _, args := range [][]string{
		{"token", "create", "--name", "Bad Name!"},
		{"token", "revoke", "tok_1"},
		{"token", "revoke", "key_01JD3W7V4T9Q8X2M5N6P7R8S9T"},
	} {
		if r := stk(t, h.srv.URL, nil, "", args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, r.code, ExitUsage, r.stderr)
		}
	}
	if n := len(h.requests()); n != 3 {
		t.Errorf("the Hub saw %d requests, want 3", n)
	}
}

// Lists and the other new commands: flags to requests, --json shapes.
func TestOperatorCommands(t *testing.T) {
	memberJSON := `{"project":"demo","role":"viewer","email":"dev@example.com","userId":"usr_2","createdAt":"2026-01-02T03:04:05Z"}`
	orgMemberJSON := `{"org":"acme","role":"admin","email":"dev@example.com","userId":"usr_2"}`
	userJSON := `{"id":"usr_2","email":"dev@example.com","status":"active","createdAt":"2026-01-02T03:04:05Z"}`
	cases := []struct {
		args       []string
		stdin      string
		route      string
		status     int
		body       string
		wantQuery  string
		wantReq    string
		wantStdout string
		jsonKeys   []string // for --json: keys of the object or first item
	}{
		{args: []string{"token", "list"}, route: "GET /v1/tokens", status: 200, body: `{"items":[` + tokenJSON + `]}`,
			wantStdout: "tok_01JD3W7V4T9Q8X2M5N6P7R8S9T  ci    demo     deployer  active", jsonKeys: []string{"id", "name", "expiresAt", "status"}},
		{args: []string{"token", "revoke", "tok_01JD3W7V4T9Q8X2M5N6P7R8S9T"}, route: "DELETE /v1/tokens/tok_01JD3W7V4T9Q8X2M5N6P7R8S9T", status: 200, body: strings.Replace(tokenJSON, `"token":"stkpat_abc",`, ``, 1),
			wantStdout: "revoked token tok_01JD3W7V4T9Q8X2M5N6P7R8S9T (ci)", jsonKeys: []string{"id", "name", "status"}},
		{args: []string{"user", "create", "--email", "dev@example.com", "--password-stdin"}, stdin: "pw hunter2\n",
			route: "POST /v1/users", status: 201, body: userJSON, wantReq: `{"email":"dev@example.com","password":"pw hunter2"}`,
			wantStdout: "created user dev@example.com (usr_2)", jsonKeys: []string{"id", "email", "status"}},
		{args: []string{"user", "list"}, route: "GET /v1/users", status: 200, body: `{"items":[` + userJSON + `]}`,
			wantStdout: "dev@example.com  usr_2  active", jsonKeys: []string{"id", "email", "status", "createdAt"}},
		{args: []string{"user", "disable", "--email", "dev@example.com"}, route: "POST /v1/users/dev@example.com/disable", status: 200,
			body: strings.Replace(userJSON, "active", "disabled", 1), wantStdout: "disabled user dev@example.com", jsonKeys: []string{"status"}},
		{args: []string{"org", "create", "acme"}, route: "POST /v1/orgs", status: 201, body: `{"name":"acme","role":"owner","createdAt":"2026-01-02T03:04:05Z"}`,
			wantReq: `{"name":"acme"}`, wantStdout: "created org acme", jsonKeys: []string{"name", "createdAt"}},
		{args: []string{"org", "list"}, route: "GET /v1/orgs", status: 200, body: `{"items":[{"name":"acme","role":"owner","createdAt":"2026-01-02T03:04:05Z"}]}`,
			wantStdout: "acme  owner", jsonKeys: []string{"name", "role"}},
		{args: []string{"member", "add", "--project", "demo", "--email", "dev@example.com", "--role", "viewer"},
			route: "POST /v1/projects/demo/members", status: 201, body: memberJSON, wantReq: `{"email":"dev@example.com","role":"viewer"}`,
			wantStdout: "added dev@example.com to project demo as viewer", jsonKeys: []string{"project", "role", "email"}},
		{args: []string{"member", "add", "--org", "acme", "--email", "dev@example.com", "--role", "admin"},
			route: "POST /v1/orgs/acme/members", status: 201, body: orgMemberJSON, wantReq: `{"email":"dev@example.com","role":"admin"}`,
			wantStdout: "added dev@example.com to org acme as admin", jsonKeys: []string{"org", "role"}},
		{args: []string{"member", "list", "--project", "demo"}, route: "GET /v1/projects/demo/members", status: 200, body: `{"items":[` + memberJSON + `]}`,
			wantStdout: "dev@example.com  viewer  usr_2", jsonKeys: []string{"role", "email", "userId"}},
		{args: []string{"member", "list", "--org", "acme"}, route: "GET /v1/orgs/acme/members", status: 200, body: `{"items":[]}`,
			wantStdout: "no members in org acme"},
		{args: []string{"member", "set-role", "--project", "demo", "--email", "dev@example.com", "--role", "deployer"},
			route: "PUT /v1/projects/demo/members/dev@example.com", status: 200, body: strings.Replace(memberJSON, "viewer", "deployer", 1),
			wantReq: `{"role":"deployer"}`, wantStdout: "dev@example.com is now deployer of project demo", jsonKeys: []string{"role"}},
		{args: []string{"member", "remove", "--org", "acme", "--email", "dev@example.com"},
			route: "DELETE /v1/orgs/acme/members/dev@example.com", status: 200, body: orgMemberJSON,
			wantStdout: "removed dev@example.com from org acme (was admin)", jsonKeys: []string{"org", "role", "email"}},
		{args: []string{"connections", "rotate", "--project", "demo", "--env", "dev", "--name", "main", "--db-url-stdin"}, stdin: "postgres://app:hunter2@db/app\n",
			route: "POST /v1/projects/demo/envs/dev/connections/main/rotate", status: 200, body: strings.Replace(connJSON, `"version":1`, `"version":2`, 1),
			wantReq:    `{"engine":"postgres","url":"postgres://app:hunter2@db/app"}`,
			wantStdout: "rotated connection main in demo/dev: postgres postgres://app:***@db:5432/app (version 2)", jsonKeys: []string{"name", "version", "url"}},
		{args: []string{"audit", "list", "--org", "acme", "--limit", "5"}, route: "GET /v1/audit", wantQuery: "limit=5&org=acme", status: 200,
			body:       `{"items":[{"id":"evt_1","time":"2026-01-02T03:04:05Z","actor":"ops@example.com","action":"member.add","target":"acme","outcome":"success","requestId":"req_9"}]}`,
			wantStdout: "ops@example.com  member.add", jsonKeys: []string{"id", "actor", "action"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				h := newFakeHub(t)
				h.on(tc.route, tc.status, tc.body)
				args := tc.args
				if asJSON {
					args = append(append([]string(nil), args...), "--json")
				}
				r := stk(t, h.srv.URL, nil, tc.stdin, args...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				reqs := h.requests()
				if len(reqs) != 1 || reqs[0].method+" "+reqs[0].path != tc.route || reqs[0].query != tc.wantQuery {
					t.Fatalf("requests %+v", reqs)
				}
				if tc.wantReq != "" {
					assertJSONEqual(t, reqs[0].body, tc.wantReq)
				} else if reqs[0].body != "" {
					t.Errorf("unexpected body %s", reqs[0].body)
				}
				if strings.Contains(r.stdout+r.stderr, "hunter2") || strings.Contains(r.stdout+r.stderr, "stkpat_") {
					t.Errorf("secret printed: %s%s", r.stdout, r.stderr)
				}
				if !asJSON {
					if !strings.Contains(r.stdout, tc.wantStdout) {
						t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, r.stdout)
					}
					continue
				}
				dec := json.NewDecoder(strings.NewReader(r.stdout))
				var v any
				if err := dec.Decode(&v); err != nil || dec.More() {
					t.Fatalf("not one JSON document: %s", r.stdout)
				}
				obj, _ := v.(map[string]any)
				if arr, ok := v.([]any); ok {
					if strings.Contains(tc.route, "GET") && len(arr) > 0 {
						obj, _ = arr[0].(map[string]any)
					}
				} else if strings.HasSuffix(tc.args[1], "list") {
					t.Errorf("list printed an object: %s", r.stdout)
				}
				for _, k := range tc.jsonKeys {
					if _, ok := obj[k]; !ok {
						t.Errorf("key %q missing: %s", k, r.stdout)
					}
				}
			}
		})
	}
}

// Completions: roles by scope, orgs, token ids and member emails from the
// Hub.
func TestOperatorCompletion(t *testing.T) {
	h := newFakeHub(t)
	h.on("GET /v1/orgs", 200, `{"items":[{"name":"acme"},{"name":"default"}]}`)
	h.on("GET /v1/tokens", 200, `{"items":[{"id":"tok_1","name":"ci","status":"active"},{"id":"tok_2","name":"old","status":"revoked"}]}`)
	h.on("GET /v1/projects/demo/members", 200, `{"items":[{"email":"dev@example.com","role":"viewer"}]}`)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"member", "add", "--org", "acme", "--role", ""}, "owner\nadmin\nmember\n"},
		{[]string{"member", "add", "--project", "demo", "--role", ""}, "admin\ndeployer\nviewer\n"},
		{[]string{"member", "list", "--org", ""}, "acme\ndefault\n"},
		{[]string{"token", "revoke", ""}, "tok_1\tci\n:4"},
		{[]string{"member", "remove", "--project", "demo", "--email", ""}, "dev@example.com\n"},
	}
	for _, tc := range cases {
		r := stk(t, h.srv.URL, nil, "", append([]string{"__complete"}, tc.args...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want) {
			t.Errorf("%v: exit %d stdout %q", tc.args, r.code, r.stdout)
		}
	}
}
