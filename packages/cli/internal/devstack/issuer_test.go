package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/examples"
	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/httpserve"
)

// freeAddr is a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// realBridge is the embedded Bridge, for tests that verify tokens.
func realBridge(ctx context.Context, getenv func(string) string, log *slog.Logger) (dataPlane, error) {
	return embeddedBridge(nil)(ctx, getenv, log)
}

// callAs POSTs body to the Bridge with the given headers.
func callAs(t *testing.T, bridgeURL string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, bridgeURL+"/call", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "X-Santokit-Project": Project, "X-Santokit-Env": Env}
}

// authors lists the author of each row of a select's answer.
func authors(t *testing.T, body string) []string {
	t.Helper()
	var out struct {
		Data []struct {
			Author string `json:"author"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var a []string
	for _, r := range out.Data {
		a = append(a, r.Author)
	}
	return a
}

var bearerRe = regexp.MustCompile(`'Authorization: Bearer ([^']+)'`)

// The built-in example through the real Bridge: the dev issuer is trusted
// even on another port than the default (config/auth.yaml names the default
// URL; stk dev applies the real one), the printed end-user curl's token is
// alice's and selects her notes only, stk dev token's tokens are another
// user's, an insert sets the owner, and a token of another issuer is 401.
func TestDevEndUsers(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Options{Dir: dir, newBridge: realBridge})
	info := r.info
	if info.IssuerURL == "" || info.IssuerURL == DefaultIssuerURL {
		t.Fatalf("issuer %q: want the port-0 URL", info.IssuerURL)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, StateDirName, issuerURLName))); got != info.IssuerURL {
		t.Errorf("issuer.url %q, issuer %q", got, info.IssuerURL)
	}
	fi, err := os.Stat(filepath.Join(dir, StateDirName, issuerKeysName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("issuer.keys: %v %v", fi, err)
	}
	cfg, err := hub(t, r).GetAuthConfig(context.Background(), Project, Env)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Issuers) != 1 || cfg.Issuers[0].Issuer != info.IssuerURL || r.info.Release.AuthID != cfg.ID {
		t.Fatalf("staged auth %+v, release %+v", cfg, r.info.Release)
	}
	if info.EndUserPath != "db/main/notes/select" || !strings.Contains(info.EndUserCurl, "'X-Santokit-Project: dev' -H 'X-Santokit-Env: dev'") {
		t.Fatalf("end-user curl %q (%s)", info.EndUserCurl, info.EndUserPath)
	}
	m := bearerRe.FindStringSubmatch(info.EndUserCurl)
	if m == nil {
		t.Fatalf("no token in %q", info.EndUserCurl)
	}
	aliceTok := m[1]
	selectNotes := `{"path":"db/main/notes/select","params":{"orderBy":{"id":"asc"}}}`

	code, body := callAs(t, info.BridgeURL, bearer(aliceTok), selectNotes)
	if code != 200 || strings.Join(authors(t, body), ",") != "alice,alice" {
		t.Fatalf("alice: %d %s", code, body)
	}
	bob, err := MintToken(dir, "bob", nil, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if bob.Issuer != info.IssuerURL || bob.Sub != "bob" {
		t.Errorf("token %+v", bob)
	}
	code, body = callAs(t, info.BridgeURL, bearer(bob.Token), selectNotes)
	if code != 200 || strings.Join(authors(t, body), ",") != "bob" {
		t.Fatalf("bob: %d %s", code, body)
	}
	code, body = callAs(t, info.BridgeURL, bearer(bob.Token), `{"path":"db/main/notes/insert","params":{"data":{"body":"new"}}}`)
	if code != 200 || strings.Join(authors(t, body), ",") != "bob" {
		t.Fatalf("bob's insert: %d %s", code, body)
	}
	code, body = callAs(t, info.BridgeURL, bearer(bob.Token), `{"path":"db/main/notes/insert","params":{"data":{"body":"x","author":"alice"}}}`)
	if code != 403 || !strings.Contains(body, "author") {
		t.Fatalf("bob writing as alice: %d %s", code, body)
	}
	code, body = callAs(t, info.BridgeURL, map[string]string{"X-Santokit-Api-Key": info.APIKey}, selectNotes)
	if code != 200 || strings.Join(authors(t, body), ",") != "alice,alice,bob,bob" {
		t.Fatalf("API key: %d %s", code, body)
	}

	other, err := devissuer.Start(devissuer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	forged, err := other.Mint("alice", nil, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := callAs(t, info.BridgeURL, bearer(forged), selectNotes); code != 401 {
		t.Fatalf("another issuer's token: %d %s", code, body)
	}
}

// stk dev token's errors: no issuer in the directory, bad options.
func TestMintTokenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := MintToken(dir, "alice", nil, nil, time.Minute)
	var ni *NoIssuerError
	if !errors.As(err, &ni) || !strings.Contains(err.Error(), filepath.Join(dir, StateDirName)) || !strings.Contains(err.Error(), "run stk dev") {
		t.Fatalf("no .santokit: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, StateDirName), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateDirName, issuerURLName), []byte(DefaultIssuerURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := MintToken(dir, "alice", nil, nil, time.Minute); !errors.As(err, &ni) {
		t.Fatalf("no keys: %v", err)
	}
	for _, c := range []struct {
		sub    string
		roles  []string
		claims map[string]any
		ttl    time.Duration
		want   string
	}{
		{"", nil, nil, time.Minute, "--sub"},
		{"alice", nil, nil, 0, "--ttl"},
		{"alice", []string{""}, nil, time.Minute, "--role"},
		{"alice", nil, map[string]any{"exp": 1}, time.Minute, "--claim exp"},
		{"alice", nil, map[string]any{"roles": "x"}, time.Minute, "--claim roles"},
	} {
		_, err := MintToken(dir, c.sub, c.roles, c.claims, c.ttl)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// Watch applies config/auth.yaml: a change releases, a bad file is reported
// at its line and the last good config stays.
func TestDevWatchAppliesAuth(t *testing.T) {
	dir := initProject(t)
	r := start(t, Options{Dir: dir, Watch: true})
	first := r.info.Release
	if first.AuthID == "" {
		t.Fatalf("no auth config in the first release: %+v", first)
	}
	authFile := filepath.Join(dir, filepath.FromSlash(AuthPath))
	src := readFile(t, authFile)
	if err := os.WriteFile(authFile, []byte(src+"    audience: my-api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := waitApplied(t, r)
	if a.Err != nil || a.File != filepath.Join(dir, AuthPath) || a.Release.ID == first.ID || a.Release.AuthID == first.AuthID {
		t.Fatalf("after an auth change: %+v", a)
	}
	cfg, err := hub(t, r).GetAuthConfig(context.Background(), Project, Env)
	if err != nil || len(cfg.Issuers) != 1 || cfg.Issuers[0].Audience != "my-api" || cfg.Issuers[0].Issuer != r.info.IssuerURL {
		t.Fatalf("staged %+v, %v", cfg, err)
	}

	bad := "version: 1\nissuers:\n  - name: x\n    issuer: http://example.com/\n"
	if err := os.WriteFile(authFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	a = waitApplied(t, r)
	var he *hubclient.Error
	if !errors.As(a.Err, &he) || he.Code != "SCHEMA_VALIDATION_FAILED" || a.File != filepath.Join(dir, AuthPath) {
		t.Fatalf("bad auth.yaml: %+v", a)
	}
	if d, _ := json.Marshal(he.Details); !strings.Contains(string(d), `"line":4`) {
		t.Errorf("problems without the line: %s", d)
	}
	cur, err := hub(t, r).GetAuthConfig(context.Background(), Project, Env)
	if err != nil || cur.ID != cfg.ID {
		t.Fatalf("staged after a bad file: %+v, %v", cur, err)
	}

	// A good auth.yaml saved with a broken permissions file is not lost:
	// it is released once the permissions are fixed.
	permFile := filepath.Join(dir, filepath.FromSlash(PermissionsPath))
	perms := readFile(t, permFile)
	if err := os.WriteFile(permFile, []byte("version: 1\ntables: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(authFile, []byte(src+"    audience: other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a = waitApplied(t, r); a.Err == nil || a.File != filepath.Join(dir, PermissionsPath) {
		t.Fatalf("broken permissions: %+v", a)
	}
	if err := os.WriteFile(permFile, []byte(perms), 0o644); err != nil {
		t.Fatal(err)
	}
	a = waitApplied(t, r)
	cur, err = hub(t, r).GetAuthConfig(context.Background(), Project, Env)
	if a.Err != nil || err != nil || cur.Issuers[0].Audience != "other" || a.Release.AuthID != cur.ID {
		t.Fatalf("after the fix: %+v; staged %+v, %v", a, cur, err)
	}
}

func waitApplied(t *testing.T, r *running) Apply {
	t.Helper()
	for {
		select {
		case a := <-r.applied:
			return a
		case n := <-r.notices:
			t.Logf("notice: %s", n)
		case <-time.After(20 * time.Second):
			t.Fatal("no apply within 20s")
		}
	}
}

// An issuer address in use is reported naming --issuer-addr.
func TestDevIssuerAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Run(context.Background(), Options{Dir: t.TempDir(), HubAddr: "127.0.0.1:0", BridgeAddr: "127.0.0.1:0", IssuerAddr: l.Addr().String(), newBridge: newFakeBridge})
	var ie *httpserve.AddrInUseError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "--issuer-addr") {
		t.Errorf("Run: %v", err)
	}
	err = Run(context.Background(), Options{Dir: t.TempDir(), HubAddr: "127.0.0.1:0", BridgeAddr: "127.0.0.1:0", IssuerAddr: "0.0.0.0:0", newBridge: newFakeBridge})
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("Run on 0.0.0.0: %v", err)
	}
}

// Tokens survive a restart on the same issuer address: the keys and the
// URL are kept in .santokit/.
func TestDevTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	r1 := start(t, Options{Dir: dir, IssuerAddr: addr, newBridge: realBridge})
	tok, err := MintToken(dir, "bob", nil, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r1.stop(t)
	r2 := start(t, Options{Dir: dir, IssuerAddr: addr, newBridge: realBridge})
	if r2.info.IssuerURL != r1.info.IssuerURL || !r2.info.Release.Reused {
		t.Fatalf("issuer %s then %s; release %+v", r1.info.IssuerURL, r2.info.IssuerURL, r2.info.Release)
	}
	code, body := callAs(t, r2.info.BridgeURL, bearer(tok.Token), `{"path":"db/main/notes/select"}`)
	if code != 200 || strings.Join(authors(t, body), ",") != "bob" {
		t.Fatalf("bob's earlier token after a restart: %d %s", code, body)
	}
}

func TestResolveIssuer(t *testing.T) {
	src := []byte("version: 1\nissuers:\n  - name: stk-dev\n    issuer: " + DefaultIssuerURL + "\n")
	if got := resolveIssuer(src, DefaultIssuerURL); string(got) != string(src) {
		t.Errorf("default URL rewritten: %s", got)
	}
	got := string(resolveIssuer(src, "http://127.0.0.1:5555"))
	if !strings.Contains(got, "issuer: http://127.0.0.1:5555\n") || strings.Contains(got, DefaultIssuerURL) || strings.Count(got, "\n") != strings.Count(string(src), "\n") {
		t.Errorf("resolved: %s", got)
	}
	for in, want := range map[string]string{
		`issuer: "` + DefaultIssuerURL + `"`:            `issuer: "http://127.0.0.1:5555"`,
		"issuer: " + DefaultIssuerURL:                   "issuer: http://127.0.0.1:5555",
		"jwksUrl: " + DefaultIssuerURL + "/jwks.json\n": "jwksUrl: http://127.0.0.1:5555/jwks.json\n",
		"issuer: " + DefaultIssuerURL + "0\n":           "issuer: " + DefaultIssuerURL + "0\n", // another port
	} {
		if got := string(resolveIssuer([]byte(in), "http://127.0.0.1:5555")); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

// Every template of stk init trusts the dev issuer at its default URL, and
// its auth config validates.
func TestLayoutsTrustTheDevIssuer(t *testing.T) {
	for _, tm := range examples.Templates() {
		files, _ := examples.Files(tm.Name)
		src, err := fs.ReadFile(files, AuthPath)
		if err != nil {
			t.Fatal(err)
		}
		name := tm.Name
		doc, problems := authconfig.Parse(src)
		if len(problems) > 0 || doc == nil || len(doc.Issuers) != 1 || doc.Issuers[0].Issuer != DefaultIssuerURL {
			t.Errorf("%s auth.yaml: %+v %v", name, doc, problems)
		}
	}
}
