package commands

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// oauthHub is a fake Hub for the CLI side of the OAuth logins (issue 14):
// its start page stands for the whole provider round trip and redirects
// straight to the loopback redirect URI, with a one-time code bound to the
// challenge or with a refusal; the token exchange checks the verifier.
type oauthHub struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	providers []hubapi.Provider
	// refuse, when set, is the result of the refusal the start page
	// redirects with.
	refuse string
	// exchangeStatus, when set, is answered to the token exchange.
	exchangeStatus int
	// challenges are the code challenges by one-time code issued.
	challenges map[string]string
	starts     []url.Values
	exchanges  int
	// polls are the device-token answers, in order (the last repeats).
	polls    []func(w http.ResponseWriter)
	pollSeen int
	// deviceProvider is the provider of the last device code request.
	deviceProvider string
}

const oauthEmail = "sso@example.com"

func newOAuthHub(t *testing.T, providers ...string) *oauthHub {
	h := &oauthHub{t: t, challenges: map[string]string{}}
	for _, p := range providers {
		h.providers = append(h.providers, hubapi.Provider{Name: p, Type: hubapi.ProviderOIDC})
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func writeJSONTo(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func envelope(w http.ResponseWriter, status int, code, msg string, details map[string]any) {
	writeJSONTo(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "requestId": "req_fake", "details": details}})
}

func (h *oauthHub) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	q := r.URL.Query()
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/auth/providers":
		writeJSONTo(w, 200, hubapi.List[hubapi.Provider]{Items: append([]hubapi.Provider{}, h.providers...)})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/auth/oauth/") && strings.HasSuffix(r.URL.Path, "/start"):
		h.starts = append(h.starts, q)
		back, _ := url.Parse(q.Get("redirect_uri"))
		bq := url.Values{"state": {q.Get("state")}}
		if h.refuse != "" {
			bq.Set("error", "access_denied")
			bq.Set("error_description", "no operator account has the email "+oauthEmail+"\x1b[31m: ask an org owner")
			bq.Set("result", h.refuse)
		} else {
			code := fmt.Sprintf("stkoc_%d", len(h.challenges)+1)
			h.challenges[code] = q.Get("code_challenge")
			bq.Set("code", code)
		}
		back.RawQuery = bq.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	case r.Method == "GET" && r.URL.Path == "/v1/auth/oauth/done":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<p>result %s</p>", q.Get("result"))
	case r.Method == "POST" && r.URL.Path == "/v1/auth/oauth/token":
		h.exchanges++
		var in hubapi.OAuthToken
		_ = json.Unmarshal(b, &in)
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		want, ok := h.challenges[in.Code]
		delete(h.challenges, in.Code)
		if h.exchangeStatus != 0 || !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != want {
			envelope(w, 401, "UNAUTHORIZED", "the login code is invalid, expired or already used", nil)
			return
		}
		writeJSONTo(w, 200, hubapi.Tokens{AccessToken: "at-oauth", RefreshToken: "rt-oauth", ExpiresIn: 900, TokenType: "Bearer"})
	case r.Method == "GET" && r.URL.Path == "/v1/auth/whoami":
		if r.Header.Get("Authorization") != "Bearer at-oauth" {
			envelope(w, 401, "UNAUTHORIZED", "missing or invalid credentials", nil)
			return
		}
		writeJSONTo(w, 200, hubapi.Whoami{Kind: "user", ID: "usr_2", Email: oauthEmail, Name: oauthEmail})
	case r.Method == "POST" && r.URL.Path == "/v1/auth/device/code":
		var in hubapi.DeviceCodeRequest
		_ = json.Unmarshal(b, &in)
		h.deviceProvider = in.Provider
		writeJSONTo(w, 200, hubapi.DeviceCode{DeviceCode: "stkdc_secret", UserCode: "BCDF-GHJK",
			VerificationURI: h.srv.URL + "/v1/auth/device", VerificationURIComplete: h.srv.URL + "/v1/auth/device?user_code=BCDF-GHJK",
			ExpiresIn: 600, Interval: 1})
	case r.Method == "POST" && r.URL.Path == "/v1/auth/device/token":
		var in hubapi.DeviceToken
		_ = json.Unmarshal(b, &in)
		if in.DeviceCode != "stkdc_secret" {
			envelope(w, 401, "UNAUTHORIZED", "the device code expired", map[string]any{"reason": hubapi.DeviceExpiredToken})
			return
		}
		i := min(h.pollSeen, len(h.polls)-1)
		h.pollSeen++
		h.polls[i](w)
	default:
		envelope(w, 404, "NOT_FOUND", "no route", nil)
	}
}

func pending(w http.ResponseWriter) {
	envelope(w, 400, "BAD_REQUEST", "the login is not approved yet", map[string]any{"reason": hubapi.DeviceAuthorizationPending})
}

func slowDown(interval int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", fmt.Sprint(interval))
		d := map[string]any{"reason": hubapi.DeviceSlowDown}
		if interval > 0 {
			d["interval"] = interval
		}
		envelope(w, 429, "TOO_MANY_REQUESTS", "polling too fast", d)
	}
}

func approved(w http.ResponseWriter) {
	writeJSONTo(w, 200, hubapi.Tokens{AccessToken: "at-oauth", RefreshToken: "rt-oauth", ExpiresIn: 900, TokenType: "Bearer"})
}

// browser stands for the user's browser: it follows every redirect and
// keeps the last URL it landed on.
type browser struct {
	t      *testing.T
	mu     sync.Mutex
	final  []string
	before []string // URLs visited before the login URL (stray requests)
	done   chan struct{}
}

func newBrowser(t *testing.T) *browser { return &browser{t: t, done: make(chan struct{}, 4)} }

func (b *browser) open(u string) error {
	go func() {
		defer func() { b.done <- struct{}{} }()
		start, _ := url.Parse(u)
		redirect, _ := url.Parse(start.Query().Get("redirect_uri"))
		// Stray requests first: a wrong state and another path get a
		// 400 and a 404 and do not end the login.
		for _, stray := range []string{"?state=forged&code=stkoc_forged", "/../other"} {
			res, err := http.Get(redirect.String() + stray)
			if err == nil {
				res.Body.Close()
				b.mu.Lock()
				b.before = append(b.before, res.Status)
				b.mu.Unlock()
			}
		}
		res, err := http.Get(u)
		if err != nil {
			b.t.Errorf("browser: %v", err)
			return
		}
		res.Body.Close()
		b.mu.Lock()
		b.final = append(b.final, res.Request.URL.String())
		b.mu.Unlock()
	}()
	return nil
}

func (b *browser) landed() string {
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.t.Fatal("browser did not finish")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.final) == 0 {
		return ""
	}
	return b.final[len(b.final)-1]
}

// stkWith runs stk in-process with the browser opener and the wait of the
// device flow given (nil: none, and the real wait).
func stkWith(t *testing.T, env map[string]string, open func(string) error, wait func(context.Context, time.Duration) error, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	a := newApp(strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	a.openURL = open
	if wait != nil {
		a.wait = wait
	}
	code := a.execute(context.Background(), args)
	return result{code, out.String(), errOut.String()}
}

func TestOAuthBrowserLogin(t *testing.T) {
	h := newOAuthHub(t, "corp")
	env, path := cfgEnv(t)
	b := newBrowser(t)
	r := stkWith(t, env, b.open, nil, "login", "--hub", h.srv.URL)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, want := b.landed(), h.srv.URL+"/v1/auth/oauth/done?result=success"; got != want {
		t.Errorf("browser landed on %s, want %s", got, want)
	}
	if !strings.Contains(r.stdout, "logged in to "+h.srv.URL+" as "+oauthEmail+" (profile default)") {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "Opened your browser to log in with corp") {
		t.Errorf("stderr %q", r.stderr)
	}
	assertNoSecrets(t, r, "at-oauth", "rt-oauth", "stkoc_")
	// The stray requests were answered and ignored: one exchange only.
	if b.before[0] != "400 Bad Request" || b.before[1] != "404 Not Found" || h.exchanges != 1 {
		t.Errorf("strays %v, %d exchanges", b.before, h.exchanges)
	}
	// The start request: a loopback redirect URI, S256, a long state.
	q := h.starts[0]
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/callback$`).MatchString(q.Get("redirect_uri")) ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 22 {
		t.Errorf("start query %v", q)
	}
	// Stored exactly as a password login stores its tokens.
	e, ok, err := credentials.New(path).Get("default")
	if err != nil || !ok || e.Hub != h.srv.URL || e.Email != oauthEmail || e.AccessToken != "at-oauth" ||
		e.RefreshToken != "rt-oauth" || time.Until(e.AccessExpiresAt) < 14*time.Minute {
		t.Errorf("entry %+v %v %v", e, ok, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v %v", fi, err)
	}
	// The login works for the next command, with no --hub.
	r = stk(t, "", env, "", "whoami", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"email": "`+oauthEmail+`"`) {
		t.Errorf("whoami: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// --json: one document naming the provider, no token.
	b = newBrowser(t)
	r = stkWith(t, env, b.open, nil, "login", "--hub", h.srv.URL, "--profile", "two", "--json")
	b.landed()
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || r.code != 0 || info["provider"] != "corp" ||
		info["email"] != oauthEmail || info["profile"] != "two" || info["credentialsFile"] != path {
		t.Errorf("json: exit %d %s (%v)", r.code, r.stdout, err)
	}
	assertNoSecrets(t, r, "at-oauth", "rt-oauth")
}

// --no-browser prints the URL on stderr, in two lines, and waits.
func TestOAuthNoBrowser(t *testing.T) {
	h := newOAuthHub(t, "corp", "github")
	env, path := cfgEnv(t)
	errOut := &syncBuffer{}
	var out strings.Builder
	opened := false
	a := newApp(strings.NewReader(""), &out, errOut, func(k string) string { return env[k] })
	a.openURL = func(string) error { opened = true; return nil }
	done := make(chan int, 1)
	go func() {
		done <- a.execute(context.Background(), []string{"login", "--hub", h.srv.URL, "--provider", "github", "--no-browser"})
	}()
	re := regexp.MustCompile(`(?m)^Open this URL in your browser to log in:\n(http\S+)\n`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %q", errOut.String())
		}
		m = re.FindStringSubmatch(errOut.String())
	}
	if !strings.HasPrefix(m[1], h.srv.URL+"/v1/auth/oauth/github/start?") {
		t.Errorf("URL %s", m[1])
	}
	res, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if code := <-done; code != 0 || opened {
		t.Fatalf("exit %d (opened %v): %s", code, opened, errOut.String())
	}
	if e, ok, _ := credentials.New(path).Get("default"); !ok || e.AccessToken != "at-oauth" {
		t.Errorf("entry %+v", e)
	}
}

// A refusal: exit 3 with the Hub's words (no terminal escapes), the browser
// on the Hub's page for that result, nothing stored.
func TestOAuthRefusal(t *testing.T) {
	h := newOAuthHub(t, "corp")
	h.refuse = hubapi.ResultUnknownEmail
	env, path := cfgEnv(t)
	b := newBrowser(t)
	r := stkWith(t, env, b.open, nil, "login", "--hub", h.srv.URL)
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "error: no operator account has the email "+oauthEmail+" [31m: ask an org owner (code FORBIDDEN)") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "\x1b") {
		t.Errorf("escape sequence printed: %q", r.stderr)
	}
	if got := b.landed(); got != h.srv.URL+"/v1/auth/oauth/done?result=unknown_email" {
		t.Errorf("browser landed on %s", got)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("credentials stored after a refusal")
	}
	// --json: the envelope, with the result.
	h.mu.Lock()
	h.refuse = hubapi.ResultDisabled
	h.mu.Unlock()
	b = newBrowser(t)
	r = stkWith(t, env, b.open, nil, "login", "--hub", h.srv.URL, "--json")
	b.landed()
	var envl struct {
		Error struct {
			Code    string
			Details map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &envl); err != nil || r.code != ExitUnauthorized ||
		envl.Error.Code != "FORBIDDEN" || envl.Error.Details["result"] != hubapi.ResultDisabled {
		t.Errorf("json: exit %d %s", r.code, r.stdout)
	}

	// The Hub refuses the code (expired, wrong verifier): exit 3, the
	// browser on the "expired" page.
	h.mu.Lock()
	h.refuse, h.exchangeStatus = "", 401
	h.mu.Unlock()
	b = newBrowser(t)
	r = stkWith(t, env, b.open, nil, "login", "--hub", h.srv.URL)
	if r.code != ExitUnauthorized || !strings.Contains(r.stderr, "the login code is invalid, expired or already used") {
		t.Errorf("exchange refused: exit %d stderr %q", r.code, r.stderr)
	}
	if got := b.landed(); got != h.srv.URL+"/v1/auth/oauth/done?result=expired" {
		t.Errorf("browser landed on %s", got)
	}
}

func TestOAuthBrowserTimeout(t *testing.T) {
	h := newOAuthHub(t, "corp")
	env, path := cfgEnv(t)
	start := time.Now()
	r := stkWith(t, env, func(string) error { return fmt.Errorf("no display") }, nil, "login", "--hub", h.srv.URL, "--timeout", "300ms")
	if r.code != ExitError || !strings.Contains(r.stderr, "error: no login came back from the browser within 300ms: run stk login again") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Could not open a browser (no display).\nOpen this URL in your browser to log in:\nhttp") {
		t.Errorf("no fallback URL: %q", r.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("credentials stored")
	}
}

// Which login: by the Hub's providers and the flags.
func TestLoginChoosesProvider(t *testing.T) {
	none, two := newOAuthHub(t), newOAuthHub(t, "corp", "github")
	old := newFakeHub(t) // a Hub from before OAuth logins: 404
	env, _ := cfgEnv(t)
	cases := []struct {
		hub  string
		args []string
		exit int
		want string
	}{
		{none.srv.URL, nil, ExitUsage, "standard input is not a terminal: pass --email E"},
		{old.srv.URL, nil, ExitUsage, "standard input is not a terminal: pass --email E"},
		{none.srv.URL, []string{"--device"}, ExitUsage, "this Hub has no OAuth providers: log in with --email"},
		{none.srv.URL, []string{"--no-browser"}, ExitUsage, "this Hub has no OAuth providers: log in with --email"},
		{two.srv.URL, nil, ExitUsage, "this Hub has several OAuth providers: pass --provider with one of corp, github"},
		{two.srv.URL, []string{"--provider", "gitlab"}, ExitUsage, `--provider "gitlab" is not a provider of this Hub: use one of corp, github`},
		{two.srv.URL, []string{"--email", "a@b.co", "--device"}, ExitUsage, "give one kind"},
		{two.srv.URL, []string{"--timeout", "0s"}, ExitUsage, "--timeout must be positive"},
	}
	for _, tc := range cases {
		r := stkWith(t, env, nil, nil, append([]string{"login", "--hub", tc.hub}, tc.args...)...)
		if r.code != tc.exit || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d stderr %q, want %d %q", tc.args, r.code, r.stderr, tc.exit, tc.want)
		}
	}
	if n := len(two.starts); n != 0 {
		t.Errorf("%d logins started", n)
	}
}

// waits records the device flow's waits without waiting them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func TestDeviceLogin(t *testing.T) {
	h := newOAuthHub(t, "corp", "github")
	// Pending, slow_down to 7 s, pending, slow_down without an interval
	// (5 s more), approved.
	h.polls = []func(http.ResponseWriter){pending, slowDown(7), pending, slowDown(0), approved}
	env, path := cfgEnv(t)
	var w waits
	r := stkWith(t, env, nil, w.wait, "login", "--hub", h.srv.URL, "--device", "--provider", "github")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := []time.Duration{time.Second, time.Second, 7 * time.Second, 7 * time.Second, 12 * time.Second}
	if fmt.Sprint(w.d) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", w.d, want)
	}
	if !strings.Contains(r.stderr, "To log in, open "+h.srv.URL+"/v1/auth/device and enter the code BCDF-GHJK\nor open "+h.srv.URL+"/v1/auth/device?user_code=BCDF-GHJK\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	if h.deviceProvider != "github" {
		t.Errorf("device code asked for %q", h.deviceProvider)
	}
	assertNoSecrets(t, r, "stkdc_secret", "at-oauth", "rt-oauth")
	if e, ok, _ := credentials.New(path).Get("default"); !ok || e.Email != oauthEmail || e.AccessToken != "at-oauth" || e.RefreshToken != "rt-oauth" {
		t.Errorf("entry %+v", e)
	}
	if !strings.Contains(r.stdout, "logged in to "+h.srv.URL+" as "+oauthEmail) {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestDeviceLoginEnds(t *testing.T) {
	denied := func(w http.ResponseWriter) {
		envelope(w, 403, "FORBIDDEN", "no operator account has that email: ask an org owner or admin", map[string]any{"reason": hubapi.DeviceAccessDenied})
	}
	expired := func(w http.ResponseWriter) {
		envelope(w, 401, "UNAUTHORIZED", "the device code expired", map[string]any{"reason": hubapi.DeviceExpiredToken})
	}
	cases := []struct {
		poll func(http.ResponseWriter)
		exit int
		want string
	}{
		{denied, ExitUnauthorized, "error: no operator account has that email: ask an org owner or admin (code FORBIDDEN, request req_fake)"},
		{expired, ExitError, "error: the code expired: run stk login --device again (code UNAUTHORIZED, request req_fake)"},
	}
	for _, tc := range cases {
		h := newOAuthHub(t, "corp")
		h.polls = []func(http.ResponseWriter){pending, tc.poll}
		env, path := cfgEnv(t)
		var w waits
		r := stkWith(t, env, nil, w.wait, "login", "--hub", h.srv.URL, "--device")
		if r.code != tc.exit || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("exit %d stderr %q, want %d %q", r.code, r.stderr, tc.exit, tc.want)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("credentials stored")
		}
	}
	// Not approved in time: exit 1, with the real wait.
	h := newOAuthHub(t, "corp")
	h.polls = []func(http.ResponseWriter){pending}
	env, _ := cfgEnv(t)
	r := stkWith(t, env, nil, nil, "login", "--hub", h.srv.URL, "--device", "--timeout", "1500ms")
	if r.code != ExitError || !strings.Contains(r.stderr, "error: the login was not approved within 1.5s: run stk login --device again") {
		t.Errorf("timeout: exit %d stderr %q", r.code, r.stderr)
	}
	if h.pollSeen != 1 {
		t.Errorf("%d polls in 1.5s at a 1s interval", h.pollSeen)
	}
}

// Ctrl-C while waiting for the browser: exit 1, the loopback listener
// closed, nothing stored.
func TestOAuthBrowserCanceled(t *testing.T) {
	h := newOAuthHub(t, "corp")
	env, path := cfgEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var redirect string
	var out, errOut strings.Builder
	a := newApp(strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	a.openURL = func(u string) error {
		start, _ := url.Parse(u)
		redirect = start.Query().Get("redirect_uri")
		cancel()
		return nil
	}
	code := a.execute(ctx, []string{"login", "--hub", h.srv.URL})
	if code != ExitError || !strings.Contains(errOut.String(), "error: login canceled") {
		t.Errorf("exit %d stderr %q", code, errOut.String())
	}
	if res, err := http.Get(redirect + "?state=x"); err == nil {
		res.Body.Close()
		t.Errorf("the loopback listener still answers after the login ended: %s", res.Status)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("credentials stored")
	}
}
