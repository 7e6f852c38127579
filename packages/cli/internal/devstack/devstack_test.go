package devstack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/examples"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/apierr"
)

// fakeBridge stands in for the Bridge: it answers /healthz and, on
// /bundle, fetches the env's bundle from the Hub with the bridge token it
// was configured with, as a real Bridge would.
type fakeBridge struct {
	getenv func(string) string
	srv    *http.Server
}

func newFakeBridge(_ context.Context, getenv func(string) string, _ *slog.Logger) (dataPlane, error) {
	b := &fakeBridge{getenv: getenv}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /bundle", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, getenv("STK_HUB_URL")+"/internal/v1/envs/dev/dev/bundle", nil)
		req.Header.Set("Authorization", "Bearer "+getenv("STK_BRIDGE_TOKEN"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})
	b.srv = &http.Server{Handler: mux}
	return b, nil
}

func (b *fakeBridge) Serve(ctx context.Context, l net.Listener) error {
	go func() { <-ctx.Done(); _ = b.srv.Close() }()
	err := b.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (b *fakeBridge) Close() error { return nil }

// running is a stack started by start.
type running struct {
	info    Info
	applied chan Apply
	notices chan string
	cancel  context.CancelFunc
	done    chan error
}

// start runs Run in the background until ready.
func start(t *testing.T, o Options) *running {
	t.Helper()
	if o.HubAddr == "" {
		o.HubAddr = "127.0.0.1:0"
	}
	if o.BridgeAddr == "" {
		o.BridgeAddr = "127.0.0.1:0"
	}
	if o.IssuerAddr == "" {
		o.IssuerAddr = "127.0.0.1:0"
	}
	if o.newBridge == nil {
		o.newBridge = newFakeBridge
	}
	o.Getenv = func(string) string { return "" }
	o.PollInterval = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{applied: make(chan Apply, 16), notices: make(chan string, 16), cancel: cancel, done: make(chan error, 1)}
	ready := make(chan Info, 1)
	o.Ready = func(i Info) { ready <- i }
	o.Applied = func(a Apply) { r.applied <- a }
	o.Notice = func(s string) { r.notices <- s }
	go func() { r.done <- Run(ctx, o) }()
	select {
	case r.info = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not ready after 60s")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for a clean return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not return within 30s of cancel")
	}
}

func hub(t *testing.T, r *running) *hubclient.Client {
	t.Helper()
	c, err := hubclient.New(r.info.HubURL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDevWithoutProjectSeedsAndReleases(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Options{Dir: dir})
	ctx := context.Background()
	c := hub(t, r)

	if !r.info.Seeded || r.info.PermissionsFile != "" {
		t.Errorf("seeded %v, permissions file %q", r.info.Seeded, r.info.PermissionsFile)
	}
	for name, mode := range map[string]os.FileMode{masterKeyName: 0o600, bridgeTokenName: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, StateDirName, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	if k := readFile(t, filepath.Join(dir, StateDirName, masterKeyName)); !strings.HasPrefix(k, "v1:") || len(strings.TrimSpace(k)) != 3+44 {
		t.Errorf("master.key is not a v1 key ring: %d bytes", len(k))
	}
	// The seed: todos with rows.
	db, err := sql.Open("sqlite", filepath.Join(dir, StateDirName, dataDBName))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM todos").Scan(&n); err != nil || n < 3 {
		t.Errorf("todos: %d rows, %v", n, err)
	}
	db.Close()

	rel, err := c.CurrentRelease(ctx, Project, Env)
	if err != nil || rel.ID != r.info.Release.ID || rel.Ref != ReleaseRef {
		t.Errorf("current release %+v, %v; info %s", rel, err, r.info.Release.ID)
	}
	keys, err := c.ListAPIKeys(ctx, Project, Env)
	if err != nil || len(keys.Items) != 1 || keys.Items[0].Name != KeyName || strings.Join(keys.Items[0].Roles, ",") != "reader,writer" {
		t.Errorf("keys %+v, %v", keys.Items, err)
	}
	if !strings.HasPrefix(r.info.APIKey, "stk_") || r.info.CallPath != "db/main/todos/select" {
		t.Errorf("info %+v", r.info)
	}
	want := `curl -s ` + r.info.BridgeURL + `/call -H 'X-Santokit-Api-Key: ` + r.info.APIKey +
		`' -H 'Content-Type: application/json' -d '{"path":"db/main/todos/select","params":{"limit":5}}'`
	if r.info.Curl != want {
		t.Errorf("curl\n got %s\nwant %s", r.info.Curl, want)
	}

	// The Bridge was configured to reach the Hub with the generated token.
	res, err := http.Get(r.info.BridgeURL + "/bundle")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), rel.ID) || strings.Contains(string(body), r.info.APIKey) {
		t.Errorf("bundle through the bridge token: %d %.300s", res.StatusCode, body)
	}

	// Logs go to the log file, as JSON.
	r.stop(t)
	log := readFile(t, filepath.Join(dir, StateDirName, logFileName))
	if !strings.Contains(log, `"component":"hub"`) || strings.Contains(log, r.info.APIKey) {
		t.Errorf("dev.log: %.500s", log)
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %s", line)
		}
	}
}

// A second run reuses the master key, the bridge token and the data, and
// revokes the first run's dev key.
func TestDevRestartReuses(t *testing.T) {
	dir := t.TempDir()
	// The issuer keeps its address, as with the default one: its URL is in
	// the release's auth config.
	issuerAddr := freeAddr(t)
	r1 := start(t, Options{Dir: dir, IssuerAddr: issuerAddr})
	key1 := readFile(t, filepath.Join(dir, StateDirName, masterKeyName))
	tok1 := readFile(t, filepath.Join(dir, StateDirName, bridgeTokenName))
	first := r1.info
	r1.stop(t)

	db, err := sql.Open("sqlite", filepath.Join(dir, StateDirName, dataDBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO todos (title) VALUES ('kept across runs')"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	r2 := start(t, Options{Dir: dir, IssuerAddr: issuerAddr})
	if r2.info.Seeded {
		t.Error("second run seeded again")
	}
	if k := readFile(t, filepath.Join(dir, StateDirName, masterKeyName)); k != key1 {
		t.Error("master.key changed")
	}
	if k := readFile(t, filepath.Join(dir, StateDirName, bridgeTokenName)); k != tok1 {
		t.Error("bridge.token changed")
	}
	db, _ = sql.Open("sqlite", filepath.Join(dir, StateDirName, dataDBName))
	var n int
	if err := db.QueryRow("SELECT count(*) FROM todos WHERE title = 'kept across runs'").Scan(&n); err != nil || n != 1 {
		t.Errorf("data not kept: %d, %v", n, err)
	}
	db.Close()
	keys, err := hub(t, r2).ListAPIKeys(context.Background(), Project, Env)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, k := range keys.Items {
		status[k.KeyID] = k.Status
	}
	if len(status) != 2 || status[first.KeyID] != "revoked" || status[r2.info.KeyID] != "active" {
		t.Errorf("keys after restart: %v (first %s, second %s)", status, first.KeyID, r2.info.KeyID)
	}
	if r2.info.Release.ID != first.Release.ID || !r2.info.Release.Reused {
		t.Errorf("release not reused: %s then %+v", first.Release.ID, r2.info.Release)
	}
}

func initProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(dir, examples.Minimal(), false); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDevWatchReapplies(t *testing.T) {
	dir := initProject(t)
	r := start(t, Options{Dir: dir, Watch: true})
	if !r.info.Watching || r.info.PermissionsFile != filepath.Join(dir, PermissionsPath) || !r.info.Seeded {
		t.Errorf("info %+v", r.info)
	}
	if r.info.CallPath != "db/main/todos/select" {
		t.Errorf("call path %s", r.info.CallPath)
	}
	permFile := filepath.Join(dir, PermissionsPath)
	src := readFile(t, permFile)

	// A file with a problem: reported with its line, nothing released.
	bad := strings.Replace(src, "  _default:\n", "  nosuchtable:\n    select: [reader]\n  _default:\n", 1)
	if err := os.WriteFile(permFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	a := nextApply(t, r)
	var he *hubclient.Error
	if !errors.As(a.Err, &he) || he.Code != apierr.SchemaValidationFailed {
		t.Fatalf("bad file: %v", a.Err)
	}
	if ps, _ := he.Details["problems"].([]any); len(ps) == 0 || !strings.Contains(he.Message+jsonString(ps), "nosuchtable") {
		t.Errorf("problems %+v", he.Details)
	} else if p, _ := ps[0].(map[string]any); p["line"] == nil {
		t.Errorf("problem without a line: %v", p)
	}

	// A good change: released.
	good := strings.Replace(src, "select: [reader, writer]", "select: [admin]", 1)
	if err := os.WriteFile(permFile, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	a = nextApply(t, r)
	if a.Err != nil || a.Release.ID == "" || a.Release.ID == r.info.Release.ID {
		t.Fatalf("good file: %+v", a)
	}
	cur, err := hub(t, r).CurrentRelease(context.Background(), Project, Env)
	if err != nil || cur.ID != a.Release.ID {
		t.Errorf("current %s, %v; applied %s", cur.ID, err, a.Release.ID)
	}
	select {
	case n := <-r.notices:
		if !strings.Contains(n, "admin") {
			t.Errorf("notice %q", n)
		}
	case <-time.After(5 * time.Second):
		t.Error("no notice about the new role admin")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nextApply(t *testing.T, r *running) Apply {
	t.Helper()
	select {
	case a := <-r.applied:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no apply within 10s")
		return Apply{}
	}
}

// A project whose permissions do not validate: without --watch Run fails
// with the file named; with --watch it serves and reports.
func TestDevBadPermissions(t *testing.T) {
	dir := initProject(t)
	permFile := filepath.Join(dir, PermissionsPath)
	if err := os.WriteFile(permFile, []byte("version: 1\ntables:\n  nosuch:\n    select: [reader]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := Run(ctx, Options{Dir: dir, HubAddr: "127.0.0.1:0", BridgeAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", newBridge: newFakeBridge,
		Getenv: func(string) string { return "" }})
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.File != permFile {
		t.Fatalf("Run: %v", err)
	}

	r := start(t, Options{Dir: dir, Watch: true})
	if r.info.Release.ID != "" || r.info.APIKey == "" {
		t.Errorf("info %+v", r.info)
	}
	if a := nextApply(t, r); a.Err == nil {
		t.Error("the failed first apply was not reported")
	}
}

func TestDevUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{Dir: filepath.Join(t.TempDir(), "missing")},
		{Dir: t.TempDir(), DatabaseURL: "mysql://x"},
		{Dir: t.TempDir(), HubAddr: "nonsense"},
	} {
		o.newBridge = newFakeBridge
		o.BridgeAddr = "127.0.0.1:0"
		err := Run(ctx, o)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// A port in use is reported naming the flag.
func TestDevPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Run(context.Background(), Options{Dir: t.TempDir(), HubAddr: l.Addr().String(), BridgeAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", newBridge: newFakeBridge})
	if err == nil || !strings.Contains(err.Error(), "--hub-addr") {
		t.Errorf("Run: %v", err)
	}
}

func TestKeyRoles(t *testing.T) {
	cases := []struct{ src, want string }{
		{"version: 1\ntables:\n  _default:\n    select: [public, reader]\n    insert: [writer, authenticated]\n", "reader,writer"},
		{"version: 1\ntables:\n  _default:\n    select: [public]\n", "reader,writer"},
		{"not: [valid", "reader,writer"},
		{"version: 1\ntables:\n  t:\n    select:\n      - roles: [zeta]\n      - roles: [alpha, zeta]\n", "alpha,zeta"},
	}
	for _, tc := range cases {
		if got := strings.Join(keyRoles([]byte(tc.src)), ","); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.src, got, tc.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	cases := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}, "http://127.0.0.1:4000"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 3000}, "http://127.0.0.1:3000"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 3000}, "http://[::1]:3000"},
	}
	for _, tc := range cases {
		if got := baseURL(tc.addr); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote(`it's`); got != `'it'\''s'` {
		t.Errorf("got %s", got)
	}
}
