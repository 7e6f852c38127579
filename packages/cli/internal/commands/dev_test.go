package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

// syncBuffer is a bytes.Buffer that stk dev writes to while the test reads.
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

// devRun is one `stk dev` running in-process.
type devRun struct {
	out     devJSON
	stdout  *syncBuffer
	stderr  *syncBuffer
	cancel  context.CancelFunc
	code    chan int
	stopped bool
}

type devJSON struct {
	HubURL    string `json:"hubUrl"`
	BridgeURL string `json:"bridgeUrl"`
	APIKey    string `json:"apiKey"`
	Curl      string `json:"curl"`
}

// startDev runs `stk dev --json` on free ports with args until it prints
// its JSON document.
func startDev(t *testing.T, args ...string) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, code: make(chan int, 1)}
	args = append([]string{"dev", "--json", "--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}, args...)
	go func() { d.code <- Execute(ctx, args, strings.NewReader(""), d.stdout, d.stderr) }()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.After(60 * time.Second)
	for {
		if s := strings.TrimSpace(d.stdout.String()); s != "" && json.Valid([]byte(s)) {
			var keys map[string]any
			_ = json.Unmarshal([]byte(s), &keys)
			delete(keys, "endUserCurl") // only when a table lets end users select
			delete(keys, "webUrl")      // only with --web
			if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, []string{"apiKey", "bridgeUrl", "curl", "hubUrl", "issuerUrl", "tokenUrl"}) {
				t.Errorf("JSON keys %v", got)
			}
			if err := json.Unmarshal([]byte(s), &d.out); err != nil {
				t.Fatal(err)
			}
			return d
		}
		select {
		case code := <-d.code:
			d.stopped = true
			t.Fatalf("stk dev exited %d before ready\nstdout %s\nstderr %s", code, d.stdout, d.stderr)
		case <-deadline:
			t.Fatalf("stk dev not ready after 60s\nstdout %s\nstderr %s", d.stdout, d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop interrupts stk dev (as SIGINT does) and expects exit 0.
func (d *devRun) stop(t *testing.T) {
	t.Helper()
	if d.stopped {
		return
	}
	d.stopped = true
	d.cancel()
	select {
	case code := <-d.code:
		if code != 0 {
			t.Errorf("stk dev exited %d after interrupt; stderr %s", code, d.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Error("stk dev did not stop within 30s of the interrupt")
	}
}

var curlRe = regexp.MustCompile(`^curl -s (\S+) -H 'X-Santokit-Api-Key: (stk_[^']+)' -H 'Content-Type: application/json' -d '([^']*)'$`)

// call sends the printed curl's request, with apiKey, and returns the status
// and the decoded body.
func (d *devRun) call(t *testing.T, apiKey, body string) (int, map[string]any) {
	t.Helper()
	m := curlRe.FindStringSubmatch(d.out.Curl)
	if m == nil {
		t.Fatalf("curl does not parse: %s", d.out.Curl)
	}
	if body == "" {
		body = m[3]
	}
	req, err := http.NewRequest(http.MethodPost, m[1], strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Santokit-Api-Key", apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, body not JSON: %s", res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// stk dev outside a project: the todo example, end to end through the Bridge
// with data-plane auth on; a second run reuses the key ring and the data.
func TestDevEndToEnd(t *testing.T) {
	dir := t.TempDir()
	d := startDev(t, dir)
	if m := curlRe.FindStringSubmatch(d.out.Curl); m == nil || m[1] != d.out.BridgeURL+"/call" || m[2] != d.out.APIKey ||
		m[3] != `{"path":"db/main/todos/select","params":{"limit":5}}` {
		t.Fatalf("curl %q", d.out.Curl)
	}
	if strings.Contains(d.out.HubURL, ":0") || strings.Contains(d.out.BridgeURL, ":0") || d.out.HubURL == d.out.BridgeURL {
		t.Errorf("addresses %s %s", d.out.HubURL, d.out.BridgeURL)
	}
	status, body := d.call(t, d.out.APIKey, "")
	rows, _ := body["data"].([]any)
	if status != 200 || len(rows) == 0 {
		t.Fatalf("select: %d %v", status, body)
	}
	// Data-plane auth is on.
	if status, _ := d.call(t, "stk_key_01JD3W7V4T9Q8X2M5N6P7R8S9T_nope", ""); status != 401 {
		t.Errorf("a wrong key: %d", status)
	}
	// The key has writer: insert a row for the second run to find.
	status, body = d.call(t, d.out.APIKey, `{"path":"db/main/todos/insert","params":{"data":{"title":"kept across runs"}}}`)
	if status != 200 {
		t.Fatalf("insert: %d %v", status, body)
	}
	key1 := readFile(t, filepath.Join(dir, ".santokit", "master.key"))
	if fi, err := os.Stat(filepath.Join(dir, ".santokit", "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode: %v %v", fi.Mode(), err)
	}
	if dec := json.NewDecoder(strings.NewReader(d.stdout.String())); dec.Decode(new(any)) != nil || dec.More() {
		t.Errorf("stdout is not one JSON document: %q", d.stdout)
	}
	first := d.out
	d.stop(t)
	if log := readFile(t, filepath.Join(dir, ".santokit", "dev.log")); !strings.Contains(log, `"component":"bridge"`) {
		t.Errorf("dev.log has no Bridge lines: %.300s", log)
	}

	d = startDev(t, dir)
	if readFile(t, filepath.Join(dir, ".santokit", "master.key")) != key1 {
		t.Error("the second run generated a new master key")
	}
	status, body = d.call(t, d.out.APIKey, `{"path":"db/main/todos/select","params":{"where":{"title":"kept across runs"}}}`)
	if rows, _ := body["data"].([]any); status != 200 || len(rows) != 1 {
		t.Errorf("the row of the first run: %d %v", status, body)
	}
	if first.APIKey == d.out.APIKey {
		t.Error("the second run printed the same key")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := d.call(t, first.APIKey, "")
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the first run's key still answers %d", status)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stk dev --watch in an `stk init` project: a change of permissions.yaml is
// served within seconds, and a bad one is reported with its line.
func TestDevWatchProject(t *testing.T) {
	dir := t.TempDir()
	if r := stk(t, "", nil, "", "init", dir, "--template", "minimal"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	d := startDev(t, dir, "--watch")
	if status, body := d.call(t, d.out.APIKey, ""); status != 200 {
		t.Fatalf("select: %d %v", status, body)
	}
	perm := filepath.Join(dir, "config", "permissions.yaml")
	src := readFile(t, perm)

	bad := strings.Replace(src, "  _default:\n", "  nosuchtable:\n    select: [reader]\n  _default:\n", 1)
	if err := os.WriteFile(perm, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	problem := regexp.MustCompile(regexp.QuoteMeta(perm) + `:\d+(:\d+)?: tables\.nosuchtable: unknown table`)
	waitFor(t, 10*time.Second, "problem line on stderr", func() bool { return problem.MatchString(d.stderr.String()) },
		func() string { return d.stderr.String() })
	if status, _ := d.call(t, d.out.APIKey, ""); status != 200 {
		t.Errorf("a bad file changed what is served: %d", status)
	}

	noRead := strings.Replace(src, "select: [reader, writer]", "select: [admin]", 1)
	if noRead == src {
		t.Fatal("the init template changed: no select: [reader, writer] line")
	}
	if err := os.WriteFile(perm, []byte(noRead), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "403 after the change", func() bool {
		status, _ := d.call(t, d.out.APIKey, "")
		return status == 403
	})
	// The Bridge may serve the new release before stk dev has printed
	// the line that reports it.
	waitFor(t, 5*time.Second, "apply line", func() bool {
		return strings.Contains(d.stderr.String(), "applied "+perm+": released rel_")
	}, func() string { return d.stderr.String() })
}

// waitFor polls ok until it holds; on timeout it fails, showing the
// output of show, if given.
func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool, show ...func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			out := ""
			for _, f := range show {
				out += "\n" + f()
			}
			t.Fatalf("no %s within %s%s", what, limit, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Human output: the URLs, the key and the curl.
func TestDevHumanOutput(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- Execute(ctx, []string{"dev", dir, "--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}, nil, out, errOut)
	}()
	waitFor(t, 60*time.Second, "the curl line", func() bool { return strings.Contains(out.String(), "curl -s http://127.0.0.1:") })
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit %d: %s", c, errOut)
	}
	for _, want := range []string{"Hub ", "Bridge ", "API key ", "stk_", "roles reader, writer", "dev.log", "Ctrl+C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestDevUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"dev", "a", "b"},
		{"dev", filepath.Join(t.TempDir(), "missing")},
		{"dev", t.TempDir(), "--db", "mysql://x"},
		{"dev", t.TempDir(), "--hub-addr", "nonsense"},
	} {
		r := stk(t, "", nil, "", args...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// --db: the project's tables live in PostgreSQL; the Bridge serves them.
func TestDevPostgres(t *testing.T) {
	dbURL := testpg.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE todos (id bigserial PRIMARY KEY, title text NOT NULL, done boolean NOT NULL DEFAULT false);
		INSERT INTO todos (title) VALUES ('from postgres')`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if r := stk(t, "", nil, "", "init", dir, "--template", "minimal"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	d := startDev(t, dir, "--db", dbURL)
	status, body := d.call(t, d.out.APIKey, "")
	rows, _ := body["data"].([]any)
	if status != 200 || len(rows) != 1 || rows[0].(map[string]any)["title"] != "from postgres" {
		t.Fatalf("select: %d %v", status, body)
	}
	if _, err := os.Stat(filepath.Join(dir, ".santokit", "data.db")); !os.IsNotExist(err) {
		t.Errorf("data.db made with --db: %v", err)
	}
}
