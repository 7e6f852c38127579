package e2e

// Operator login through an OAuth/OIDC provider (issue 14, SPEC §7.1,
// §11), through the real stk and stk-hub binaries that TestMain builds and
// an in-test provider (internal/testoidc): the browser flow of
// `stk login --no-browser` followed by this test as the browser, then
// `stk logic apply` and `stk release create` with that login; a refusal;
// the device flow with slow_down and expiry; and no secret of any of these
// flows in the Hub's logs. stk talks to the Hub through a recording proxy
// in the test process, which is how the test learns the secrets stk holds
// (the device code, the one-time code and its verifier, the tokens) to
// look for them in the logs.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testoidc"
)

// oauthHub is one stk-hub process with the provider "corp" (testoidc),
// behind a recording proxy.
type oauthHub struct {
	url      string // the Hub itself (its public URL)
	proxy    *recorder
	provider *testoidc.Provider
	secret   string // the provider's client secret
	log      *lockedBuffer
	cmd      *exec.Cmd
	done     chan error
	admin    string // the bootstrap owner's email
}

func startOAuthHub(t *testing.T, extraEnv ...string) *oauthHub {
	t.Helper()
	dir := t.TempDir()
	secret := "cs-" + hex.EncodeToString(randomBytes(16))
	p, err := testoidc.Start(testoidc.Options{ClientID: "stk-hub-e2e", ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	addr := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	h := &oauthHub{url: "http://" + addr, provider: p, secret: secret, log: &lockedBuffer{}, done: make(chan error, 1),
		admin: "owner@example.com"}
	h.cmd = exec.Command(filepath.Join(binDir, "stk-hub"))
	h.cmd.Dir = dir
	h.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir(),
		"STK_HUB_ADDR=" + addr,
		"STK_HUB_PUBLIC_URL=" + h.url,
		"STK_HUB_DATABASE_URL=sqlite://" + filepath.Join(dir, "hub.db"),
		"STK_MASTER_KEYS=v1:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		"STK_BOOTSTRAP_ADMIN_EMAIL=" + h.admin,
		"STK_BOOTSTRAP_ADMIN_PASSWORD=Adm" + hex.EncodeToString(randomBytes(12)),
		"STK_LOG_LEVEL=debug",
		"STK_OAUTH_PROVIDERS=corp",
		"STK_OAUTH_CORP_ISSUER=" + p.URL(),
		"STK_OAUTH_CORP_CLIENT_ID=stk-hub-e2e",
		"STK_OAUTH_CORP_CLIENT_SECRET=" + secret,
		"STK_OAUTH_DEVICE_INTERVAL=1s",
	}, extraEnv...)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.done:
		case <-time.After(15 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(h.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("stk-hub exited (%v):\n%s", err, h.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stk-hub not ready after 30s:\n%s", h.log)
		}
	}
	h.proxy = newRecorder(t, h.url)
	return h
}

// recorder is a reverse proxy to the Hub that keeps every request and
// answer body and the time of each request, by "METHOD /path".
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	times  map[string][]time.Time
	// before, when set, is called with each request before it is
	// forwarded.
	before func(route string, body []byte)
}

func newRecorder(t *testing.T, target string) *recorder {
	r := &recorder{times: map[string][]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		in, _ := io.ReadAll(req.Body)
		route := req.Method + " " + req.URL.Path
		r.mu.Lock()
		r.times[route] = append(r.times[route], time.Now())
		before := r.before
		r.mu.Unlock()
		if before != nil {
			before(route, in)
		}
		out, err := http.NewRequest(req.Method, target+req.URL.RequestURI(), bytes.NewReader(in))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = req.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(in), string(body))
		r.mu.Unlock()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// secrets are the values of the secret JSON fields that went through the
// proxy (codes, verifiers, tokens).
func (r *recorder) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		var m map[string]any
		if json.Unmarshal([]byte(b), &m) != nil {
			continue
		}
		for _, k := range []string{"code", "codeVerifier", "deviceCode", "accessToken", "refreshToken"} {
			if s, ok := m[k].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (r *recorder) bodiesSnapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func (r *recorder) at(route string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times[route]...)
}

// stkProc is one stk process run against the proxy.
type stkProc struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan error
}

// stkEnv is the environment of stk: its own config dir under home.
func stkEnv(home, hub string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"STK_HUB_URL=" + hub}
}

func startStk(t *testing.T, env []string, args ...string) *stkProc {
	t.Helper()
	p := &stkProc{cmd: exec.Command(filepath.Join(binDir, "stk"), args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

// waitStderr waits until stderr matches re and returns the submatches.
func (p *stkProc) waitStderr(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s on stk's stderr within 20s:\n%s", re, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exit waits for stk to end and returns its exit code.
func (p *stkProc) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		t.Fatalf("stk still running after %s\nstdout %s\nstderr %s", within, p.stdout, p.stderr)
	}
	return -1
}

// runStk runs stk to its end.
func runStk(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "stk"), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// follow is the user's browser: it GETs u and follows every redirect
// (Hub → provider → Hub → stk's loopback listener → Hub), keeping each URL
// it visits; it returns the last page.
func follow(t *testing.T, req *http.Request, visited *[]string) (*url.URL, int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		*visited = append(*visited, r.URL.String())
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("browser: %v (visited %v)", err, *visited)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Request.URL, res.StatusCode, string(b)
}

var loginURLRe = regexp.MustCompile(`(?m)^Open this URL in your browser to log in:\n(http\S+)\n`)

// browserLogin runs stk login --no-browser and follows its URL; it returns
// stk's exit code, the page the browser ended on and its body.
func browserLogin(t *testing.T, env []string, visited *[]string, extra ...string) (*stkProc, int, *url.URL, string) {
	t.Helper()
	p := startStk(t, env, append([]string{"login", "--no-browser"}, extra...)...)
	m := p.waitStderr(t, loginURLRe)
	req, _ := http.NewRequest(http.MethodGet, m[1], nil)
	req.Header.Set("Accept", "text/html")
	last, _, body := follow(t, req, visited)
	return p, p.exit(t, 20*time.Second), last, body
}

// noSecretsInLog fails if the Hub's log holds any of the secrets.
func (h *oauthHub) noSecretsInLog(t *testing.T, more ...string) {
	t.Helper()
	log := h.log.String()
	if !strings.Contains(log, `"path":"/v1/auth/`) {
		t.Errorf("the Hub's log has no request line of /v1/auth: not captured?\n%s", log)
	}
	// The Hub's own state and nonce toward the provider key its flow.
	for _, q := range h.provider.Authorizations() {
		more = append(more, q.Get("state"), q.Get("nonce"))
	}
	for _, s := range append(append(more, h.secret), h.proxy.secrets()...) {
		if len(s) >= 8 && strings.Contains(log, s) {
			t.Errorf("the Hub's log holds a secret (%.6s…)", s)
		}
	}
}

// codesOf are the values of the code parameters of the URLs visited (the
// provider's authorization code and the Hub's one-time code).
func codesOf(visited []string) []string {
	var out []string
	for _, v := range visited {
		if u, err := url.Parse(v); err == nil && u.Query().Get("code") != "" {
			out = append(out, u.Query().Get("code"))
		}
	}
	return out
}

// The browser flow through the real binaries: the bootstrap owner logs in
// through the provider (linked by its verified email, in another case),
// and that login sets up a project, stages logic and creates a release;
// then an operator the owner created and made a deployer does the same.
func TestOAuthBrowserLoginThenRelease(t *testing.T) {
	t.Parallel()
	h := startOAuthHub(t)
	h.provider.SetUser(testoidc.User{Subject: "sub-owner", Email: "Owner@Example.com", EmailVerified: true, Name: "Owner"})
	home := t.TempDir()
	env := stkEnv(home, h.proxy.srv.URL)

	var visited []string
	p, code, last, body := browserLogin(t, env, &visited)
	if code != 0 {
		t.Fatalf("stk login exited %d\nstderr %s", code, p.stderr)
	}
	// stk sends the browser to the result page of the Hub it talks to.
	if got := last.String(); got != h.proxy.srv.URL+"/v1/auth/oauth/done?result=success" || !strings.Contains(body, "You are logged in") {
		t.Errorf("browser ended on %s:\n%s", got, body)
	}
	if !strings.Contains(p.stdout.String(), "logged in to "+h.proxy.srv.URL+" as owner@example.com (profile default)") {
		t.Errorf("stdout %q", p.stdout)
	}
	// The browser went through stk's loopback listener, with a one-time
	// code, and the provider.
	var loopback bool
	for _, v := range visited {
		loopback = loopback || regexp.MustCompile(`^http://127\.0\.0\.1:\d+/callback\?code=stkoc_`).MatchString(v)
	}
	if !loopback || len(h.provider.Authorizations()) != 1 {
		t.Errorf("visited %d URLs, loopback %v, %d authorizations", len(visited), loopback, len(h.provider.Authorizations()))
	}

	code, out, errOut := runStk(t, env, "", "whoami", "--json")
	if code != 0 || !strings.Contains(out, `"email": "owner@example.com"`) || !strings.Contains(out, `"credential": "login"`) {
		t.Fatalf("whoami: exit %d %s %s", code, out, errOut)
	}

	// A project set up and released with that login alone.
	dbURL, marker := ownedDatabase(t)
	if err := execOn(dbURL, "CREATE TABLE notes (id bigserial PRIMARY KEY, owner text NOT NULL, body text)"); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	must := func(files map[string]string) {
		for name, content := range files {
			path := filepath.Join(work, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(map[string]string{
		"permissions.yaml":          "version: 1\ntables:\n  notes:\n    select: [authenticated]\n",
		"logics/notes/by-owner.sql": "---\nauth: authenticated\nreadonly: true\nparams:\n  owner: {type: string, required: true}\n---\nSELECT id, body FROM notes WHERE owner = :owner ORDER BY id\n",
	})
	steps := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"project", "create", "demo"}, ""},
		{"", []string{"env", "create", "--project", "demo", "dev"}, ""},
		{dbURL, []string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url-stdin"}, ""},
		{"", []string{"schema", "snapshot", "--project", "demo", "--env", "dev", "--connection", "main"}, ""},
		{"", []string{"permissions", "apply", "--project", "demo", "--env", "dev", "--file", filepath.Join(work, "permissions.yaml")}, ""},
		{"", []string{"logic", "apply", "--project", "demo", "--env", "dev", "--dir", filepath.Join(work, "logics")}, "staged logic set"},
		{"", []string{"release", "create", "--project", "demo", "--env", "dev", "--ref", "oauth1"}, "rel_"},
	}
	for _, s := range steps {
		code, out, errOut := runStk(t, env, s.stdin, s.args...)
		if code != 0 || !strings.Contains(out, s.want) {
			t.Fatalf("stk %s: exit %d\nstdout %s\nstderr %s", strings.Join(s.args, " "), code, out, errOut)
		}
	}

	// A second operator, created and made a deployer by the owner's OAuth
	// login, logs in through the provider on another machine (linked by
	// email) and releases with that login.
	for _, args := range [][]string{
		{"user", "create", "--email", "dev@example.com", "--password-stdin"},
		{"member", "add", "--project", "demo", "--email", "dev@example.com", "--role", "deployer"},
	} {
		if code, out, errOut := runStk(t, env, "Dev"+hex.EncodeToString(randomBytes(12)), args...); code != 0 {
			t.Fatalf("stk %s: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	h.provider.SetUser(testoidc.User{Subject: "sub-dev", Email: "dev@example.com", EmailVerified: true})
	devEnv := stkEnv(t.TempDir(), h.proxy.srv.URL)
	p, code, _, _ = browserLogin(t, devEnv, &visited)
	if code != 0 || !strings.Contains(p.stdout.String(), " as dev@example.com ") {
		t.Fatalf("dev's stk login: exit %d\nstdout %s\nstderr %s", code, p.stdout, p.stderr)
	}
	for _, args := range [][]string{
		{"logic", "apply", "--project", "demo", "--env", "dev", "--dir", filepath.Join(work, "logics")},
		{"release", "create", "--project", "demo", "--env", "dev", "--ref", "oauth2"},
	} {
		if code, out, errOut := runStk(t, devEnv, "", args...); code != 0 {
			t.Fatalf("dev: stk %s: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	h.noSecretsInLog(t, append(codesOf(visited), marker)...)
}

// Unknown email: stk exits 3 with the Hub's words and the browser ends on
// the Hub's page that says to ask an org owner or admin; nothing stored.
func TestOAuthBrowserLoginRefused(t *testing.T) {
	t.Parallel()
	h := startOAuthHub(t)
	h.provider.SetUser(testoidc.User{Subject: "sub-stranger", Email: "stranger@example.org", EmailVerified: true})
	home := t.TempDir()
	env := stkEnv(home, h.proxy.srv.URL)
	var visited []string
	p, code, last, body := browserLogin(t, env, &visited)
	if code != 3 || !regexp.MustCompile(`(?m)^error: .*(?i:no operator account).*\(code [A-Z_]+`).MatchString(p.stderr.String()) {
		t.Errorf("stk login: exit %d\nstderr %s", code, p.stderr)
	}
	if got := last.String(); got != h.proxy.srv.URL+"/v1/auth/oauth/done?result=unknown_email" || !strings.Contains(body, "stk user create") {
		t.Errorf("browser ended on %s:\n%s", got, body)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "santokit", "credentials.json")); err == nil {
		t.Error("credentials stored after a refusal")
	}
	h.noSecretsInLog(t, codesOf(visited)...)
}

var deviceRe = regexp.MustCompile(`To log in, open (http\S+) and enter the code ([A-Z]{4}-[A-Z]{4})\n`)

// The device flow: stk prints the code, the user enters it on the Hub's
// page in a browser and logs in at the provider. Just before stk's first
// poll reaches the Hub, the proxy polls the same device code itself, so
// stk's poll comes too soon: the Hub answers slow_down with a longer
// interval, and stk waits that long before it polls again and succeeds.
func TestOAuthDeviceLogin(t *testing.T) {
	t.Parallel()
	h := startOAuthHub(t)
	h.provider.SetUser(testoidc.User{Subject: "sub-owner", Email: "owner@example.com", EmailVerified: true})
	const poll = "POST /v1/auth/device/token"
	raw := make(chan string, 1)
	var once sync.Once
	h.proxy.mu.Lock()
	h.proxy.before = func(route string, body []byte) {
		if route != poll {
			return
		}
		once.Do(func() {
			res, err := http.Post(h.url+"/v1/auth/device/token", "application/json", bytes.NewReader(body))
			if err != nil {
				raw <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			raw <- fmt.Sprintf("%d %s", res.StatusCode, b)
		})
	}
	h.proxy.mu.Unlock()
	home := t.TempDir()
	env := stkEnv(home, h.proxy.srv.URL)
	p := startStk(t, env, "login", "--device")
	m := p.waitStderr(t, deviceRe)
	if m[1] != h.url+"/v1/auth/device" {
		t.Errorf("verification URI %s", m[1])
	}
	select {
	case got := <-raw:
		if !strings.HasPrefix(got, "400 ") || !strings.Contains(got, `"authorization_pending"`) {
			t.Errorf("the proxy's poll: %s", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("stk never polled")
	}
	// stk's own first poll is answered slow_down (the proxy records the
	// answer before passing it on).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(strings.Join(h.proxy.bodiesSnapshot(), "\n"), `"slow_down"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no slow_down answered to stk: %v", h.proxy.bodiesSnapshot())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The user enters the code (any case, no dash) and logs in.
	form := url.Values{"user_code": {strings.ToLower(strings.ReplaceAll(m[2], "-", ""))}}
	req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/auth/device", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	var visited []string
	_, status, body := follow(t, req, &visited)
	if status != http.StatusOK || !strings.Contains(body, "You are logged in") {
		t.Errorf("device page: %d\n%s", status, body)
	}
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("stk login --device: exit %d\nstderr %s", code, p.stderr)
	}
	// stk waited the lengthened interval (1 s + 5 s) after the slow_down.
	times := h.proxy.at(poll)
	if len(times) != 2 || times[1].Sub(times[0]) < 6*time.Second {
		t.Errorf("stk polled at %v, want twice, 6s or more apart", times)
	}
	if !strings.Contains(p.stdout.String(), "logged in to "+h.proxy.srv.URL+" as owner@example.com") {
		t.Errorf("stdout %q", p.stdout)
	}
	code, out, errOut := runStk(t, env, "", "whoami")
	if code != 0 || !strings.Contains(out, "owner@example.com") {
		t.Errorf("whoami: exit %d %s %s", code, out, errOut)
	}
	h.noSecretsInLog(t, codesOf(visited)...)
}

// A device code nobody approves expires: stk exits 1 and says so.
func TestOAuthDeviceLoginExpires(t *testing.T) {
	t.Parallel()
	h := startOAuthHub(t, "STK_OAUTH_DEVICE_TTL=3s")
	home := t.TempDir()
	env := stkEnv(home, h.proxy.srv.URL)
	start := time.Now()
	code, _, errOut := runStk(t, env, "", "login", "--device")
	if code != 1 || !strings.Contains(errOut, "error: the code expired: run stk login --device again") {
		t.Errorf("exit %d stderr %s", code, errOut)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
	h.noSecretsInLog(t)
}

// execOn runs one statement on the database at dbURL.
func execOn(dbURL, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}
