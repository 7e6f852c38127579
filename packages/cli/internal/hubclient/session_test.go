package hubclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// authHub is a fake Hub with the refresh rules of SPEC §7.1: each refresh
// token works once; presenting a used one revokes the whole session.
type authHub struct {
	srv *httptest.Server

	mu        sync.Mutex
	seq       int
	access    map[string]bool
	refresh   map[string]bool // true: valid, false: used
	refreshes int             // successful refreshes
	reused    int             // rejected reuses
	paths     []string        // "METHOD /path auth" of every request
	// refreshDelay holds each refresh answer back, after the rotation;
	// refreshStatus, when set, answers refreshes with it instead.
	refreshDelay  time.Duration
	refreshStatus int
}

func newAuthHub(t *testing.T) *authHub {
	h := &authHub{access: map[string]bool{"a0": true}, refresh: map[string]bool{"r0": true}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *authHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paths = append(h.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	unauthorized := func(msg string) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"code":"UNAUTHORIZED","message":%q,"requestId":"req_1"}}`, msg)
	}
	if r.URL.Path == "/v1/auth/refresh" {
		if h.refreshStatus != 0 {
			w.WriteHeader(h.refreshStatus)
			fmt.Fprintf(w, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"store unreachable","requestId":"req_1"}}`)
			return
		}
		if h.refreshDelay > 0 {
			// Rotated on receipt, answered late: the server side of a
			// client that gives up waiting.
			defer func() { h.mu.Unlock(); time.Sleep(h.refreshDelay); h.mu.Lock() }()
		}
		if r.Header.Get("Authorization") != "" {
			unauthorized("refresh carries no bearer token")
			return
		}
		var in hubapi.Refresh
		_ = json.NewDecoder(r.Body).Decode(&in)
		valid, known := h.refresh[in.RefreshToken]
		switch {
		case !known:
			unauthorized("unknown refresh token")
			return
		case !valid:
			h.reused++
			h.access, h.refresh = map[string]bool{}, map[string]bool{}
			unauthorized("refresh token reused: session revoked")
			return
		}
		h.refresh[in.RefreshToken] = false
		h.seq++
		at, rt := fmt.Sprintf("a%d", h.seq), fmt.Sprintf("r%d", h.seq)
		h.access[at], h.refresh[rt] = true, true
		h.refreshes++
		_ = json.NewEncoder(w).Encode(hubapi.Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: 900, TokenType: "Bearer"})
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !h.access[tok] {
		unauthorized("invalid access token")
		return
	}
	_, _ = io.WriteString(w, `{"kind":"user","id":"usr_1","name":"a@b.c","orgs":[],"projects":[]}`)
}

func (h *authHub) counts() (refreshes, reused int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refreshes, h.reused
}

// storeWith writes one login of hub under "default" into a fresh store.
func storeWith(t *testing.T, e credentials.Entry) *credentials.Store {
	t.Helper()
	s := credentials.New(filepath.Join(t.TempDir(), "santokit", credentials.FileName))
	if err := s.Put(context.Background(), "default", e); err != nil {
		t.Fatal(err)
	}
	return s
}

func expiredLogin(hub string) credentials.Entry {
	return credentials.Entry{Hub: hub, Email: "a@b.c", AccessToken: "a0", RefreshToken: "r0",
		AccessExpiresAt: time.Now().Add(-time.Minute)}
}

func whoami(path string, hub string) (hubapi.Whoami, error) {
	c, err := New(hub, WithSession(credentials.New(path), "default"))
	if err != nil {
		return hubapi.Whoami{}, err
	}
	return c.Whoami(context.Background())
}

// Many clients find the access token expired at once; one refreshes, the
// others take its tokens from the file: the Hub sees exactly one refresh
// and no reuse, and every request succeeds.
func TestConcurrentRefreshGoroutines(t *testing.T) {
	h := newAuthHub(t)
	s := storeWith(t, expiredLogin(h.srv.URL))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := whoami(s.Path(), h.srv.URL); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, reused := h.counts(); n != 1 || reused != 0 {
		t.Errorf("hub saw %d refreshes and %d reuses; want 1 and 0", n, reused)
	}
	e, _, _ := s.Get("default")
	if e.AccessToken != "a1" || e.RefreshToken != "r1" || time.Until(e.AccessExpiresAt) < 14*time.Minute {
		t.Errorf("stored %+v", e)
	}
}

// The same with separate processes (this test binary, re-run as a helper).
func TestConcurrentRefreshProcesses(t *testing.T) {
	h := newAuthHub(t)
	s := storeWith(t, expiredLogin(h.srv.URL))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range cmds {
		cmds[i] = exec.Command(exe, "-test.run=^TestRefreshHelperProcess$")
		cmds[i].Env = append(os.Environ(), "STK_TEST_REFRESH_HELPER=1", "STK_TEST_CREDENTIALS="+s.Path(), "STK_TEST_HUB="+h.srv.URL)
		outs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("helper %d: %v\n%s", i, err, outs[i])
		} else if !strings.Contains(outs[i].String(), "helper ok") {
			t.Errorf("helper %d did not run: %s", i, outs[i])
		}
	}
	if n, reused := h.counts(); n != 1 || reused != 0 {
		t.Errorf("hub saw %d refreshes and %d reuses; want 1 and 0", n, reused)
	}
}

// TestRefreshHelperProcess is the body of TestConcurrentRefreshProcesses'
// child processes; run directly it does nothing.
func TestRefreshHelperProcess(t *testing.T) {
	if os.Getenv("STK_TEST_REFRESH_HELPER") == "" {
		return
	}
	w, err := whoami(os.Getenv("STK_TEST_CREDENTIALS"), os.Getenv("STK_TEST_HUB"))
	if err != nil || w.ID != "usr_1" {
		fmt.Println("helper failed:", err)
		os.Exit(1)
	}
	fmt.Println("helper ok")
}

// A fresh token is sent as is; a 401 makes the client refresh once and
// retry once.
func TestRenewOn401(t *testing.T) {
	h := newAuthHub(t)
	e := expiredLogin(h.srv.URL)
	e.AccessToken, e.AccessExpiresAt = "stale", time.Now().Add(time.Hour)
	s := storeWith(t, e)
	if _, err := whoami(s.Path(), h.srv.URL); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /v1/auth/whoami Bearer stale", "POST /v1/auth/refresh ", "GET /v1/auth/whoami Bearer a1"}
	if strings.Join(h.paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(h.paths, "\n"), strings.Join(want, "\n"))
	}
}

// A refresh token the Hub refuses ends the login: the entry is removed and
// the error says so (without any token).
func TestSessionEnded(t *testing.T) {
	h := newAuthHub(t)
	e := expiredLogin(h.srv.URL)
	e.RefreshToken = "r-unknown"
	s := storeWith(t, e)
	_, err := whoami(s.Path(), h.srv.URL)
	var se *SessionEndedError
	if !errors.As(err, &se) || se.Profile != "default" {
		t.Fatalf("error %v, want SessionEndedError", err)
	}
	if strings.Contains(err.Error(), "r-unknown") || strings.Contains(err.Error(), "a0") {
		t.Errorf("token in message: %v", err)
	}
	if _, ok, _ := s.Get("default"); ok {
		t.Error("entry kept after the session ended")
	}
}

// A refresh the Hub fails without refusing the token (it is down, 503)
// keeps the login: the error is the Hub's, and the next command tries again.
func TestRefreshFailureKeepsLogin(t *testing.T) {
	h := newAuthHub(t)
	h.refreshStatus = http.StatusServiceUnavailable
	s := storeWith(t, expiredLogin(h.srv.URL))
	_, err := whoami(s.Path(), h.srv.URL)
	var he *Error
	var se *SessionEndedError
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || errors.As(err, &se) {
		t.Fatalf("error %v, want the Hub's 503 and not a session end", err)
	}
	if e, ok, _ := s.Get("default"); !ok || e.RefreshToken != "r0" {
		t.Fatalf("login after a failed refresh: %+v (kept %v), want r0 kept", e, ok)
	}
	h.mu.Lock()
	h.refreshStatus = 0
	h.mu.Unlock()
	if _, err := whoami(s.Path(), h.srv.URL); err != nil {
		t.Fatalf("once the Hub is back: %v", err)
	}
}

// A command whose context ends while its refresh is on the way (^C, a
// completion's deadline) still stores the rotated tokens: the next command
// uses them instead of presenting the used refresh token, which would
// revoke the session.
func TestRefreshOutlivesCallerContext(t *testing.T) {
	h := newAuthHub(t)
	h.refreshDelay = 300 * time.Millisecond
	s := storeWith(t, expiredLogin(h.srv.URL))
	c, err := New(h.srv.URL, WithSession(s, "default"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Whoami(ctx); err == nil {
		t.Fatal("whoami succeeded past its deadline")
	}
	if e, _, _ := s.Get("default"); e.RefreshToken != "r1" || e.AccessToken != "a1" {
		t.Fatalf("stored %+v after the caller gave up, want the rotated a1/r1", e)
	}
	h.mu.Lock()
	h.refreshDelay = 0
	h.mu.Unlock()
	if _, err := whoami(s.Path(), h.srv.URL); err != nil {
		t.Fatalf("next command: %v", err)
	}
	if n, reused := h.counts(); n != 1 || reused != 0 {
		t.Errorf("hub saw %d refreshes and %d reuses; want 1 and 0", n, reused)
	}
}

// Tokens are only sent to the Hub they belong to.
func TestSessionOtherHub(t *testing.T) {
	h := newAuthHub(t)
	s := storeWith(t, credentials.Entry{Hub: "https://elsewhere.example.com", AccessToken: "a0", RefreshToken: "r0"})
	_, err := whoami(s.Path(), h.srv.URL)
	var he *Error
	if !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("error %v, want the Hub's 401", err)
	}
	if len(h.paths) != 1 || h.paths[0] != "GET /v1/auth/whoami " {
		t.Errorf("requests %q", h.paths)
	}
}

// A static token (STK_TOKEN) is never refreshed.
func TestStaticTokenNoRefresh(t *testing.T) {
	h := newAuthHub(t)
	c, _ := New(h.srv.URL, WithToken("stkpat_x"))
	if _, err := c.Whoami(context.Background()); err == nil {
		t.Fatal("want 401")
	}
	if len(h.paths) != 1 {
		t.Errorf("requests %q", h.paths)
	}
}

func TestRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":{"code":"TOO_MANY_REQUESTS","message":"too many failed logins"}}`)
	}))
	defer srv.Close()
	c, _ := New(srv.URL)
	_, err := c.Login(context.Background(), hubapi.Login{Email: "a@b.c", Password: "pw"})
	var he *Error
	if !errors.As(err, &he) || he.RetryAfter != 30*time.Second || he.Status != 429 {
		t.Fatalf("error %#v", err)
	}
}

// Every new route: method, path and body.
func TestAuthRoutes(t *testing.T) {
	type seen struct{ method, path, auth, body string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Method, r.URL.EscapedPath() + "?" + r.URL.RawQuery, r.Header.Get("Authorization"), string(b)})
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, WithToken("t"))
	ctx := context.Background()
	org, prj := Scope{Org: "acme"}, Scope{Project: "demo"}
	_, _ = c.Login(ctx, hubapi.Login{Email: "a@b.c", Password: "pw"})
	_, _ = c.Refresh(ctx, "rt")
	_, _ = c.Logout(ctx, "rt")
	_, _ = c.Logout(ctx, "")
	_, _ = c.Whoami(ctx)
	_, _ = c.CreateToken(ctx, hubapi.CreateToken{Name: "ci", Project: "demo", Role: "deployer", Expires: "90d"})
	_, _ = c.ListTokens(ctx)
	_, _ = c.RevokeToken(ctx, "tok_1")
	_, _ = c.CreateUser(ctx, hubapi.CreateUser{Email: "d@e.f", Password: "pw2"})
	_, _ = c.ListUsers(ctx)
	_, _ = c.DisableUser(ctx, "d+x@e.f")
	_, _ = c.CreateOrg(ctx, hubapi.CreateOrg{Name: "acme"})
	_, _ = c.ListOrgs(ctx)
	_, _ = c.ListMembers(ctx, org)
	_, _ = c.AddMember(ctx, prj, "d@e.f", "viewer")
	_, _ = c.SetMemberRole(ctx, org, "d@e.f", "admin")
	_, _ = c.RemoveMember(ctx, prj, "d@e.f")
	_, _ = c.RotateConnection(ctx, "demo", "dev", "main", hubapi.PutConnection{Engine: "postgres", URL: "postgres://h/d"})
	_, _ = c.ListAudit(ctx, "", "acme", 5, "")
	want := []seen{
		{"POST", "/v1/auth/login?", "", `{"email":"a@b.c","password":"pw"}`},
		{"POST", "/v1/auth/refresh?", "", `{"refreshToken":"rt"}`},
		{"POST", "/v1/auth/logout?", "", `{"refreshToken":"rt"}`}, // the refresh token proves the session
		{"POST", "/v1/auth/logout?", "Bearer t", ``},
		{"GET", "/v1/auth/whoami?", "Bearer t", ``},
		{"POST", "/v1/tokens?", "Bearer t", `{"name":"ci","project":"demo","role":"deployer","expires":"90d"}`},
		{"GET", "/v1/tokens?", "Bearer t", ``},
		{"DELETE", "/v1/tokens/tok_1?", "Bearer t", ``},
		{"POST", "/v1/users?", "Bearer t", `{"email":"d@e.f","password":"pw2"}`},
		{"GET", "/v1/users?", "Bearer t", ``},
		{"POST", "/v1/users/d+x@e.f/disable?", "Bearer t", ``},
		{"POST", "/v1/orgs?", "Bearer t", `{"name":"acme"}`},
		{"GET", "/v1/orgs?", "Bearer t", ``},
		{"GET", "/v1/orgs/acme/members?", "Bearer t", ``},
		{"POST", "/v1/projects/demo/members?", "Bearer t", `{"email":"d@e.f","role":"viewer"}`},
		{"PUT", "/v1/orgs/acme/members/d@e.f?", "Bearer t", `{"role":"admin"}`},
		{"DELETE", "/v1/projects/demo/members/d@e.f?", "Bearer t", ``},
		{"POST", "/v1/projects/demo/envs/dev/connections/main/rotate?", "Bearer t", `{"engine":"postgres","url":"postgres://h/d"}`},
		{"GET", "/v1/audit?limit=5&org=acme", "Bearer t", ``},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
