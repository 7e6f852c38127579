package e2e

// What a newcomer hit (issue #11 items 7–9), through the real binaries that
// TestMain builds: `stk dev` over a PostgreSQL database of one's own outside
// a project, `stk dev --watch` over a whole project, the files `stk init`
// writes, and addresses already in use.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stkDev is one `stk dev` process.
type stkDev struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan error
	// bridge and key are those of the printed curl.
	bridge, key string
}

var devCurlRe = regexp.MustCompile(`(?m)^\s*curl -s (\S+)/call -H 'X-Santokit-Api-Key: (stk_[^']+)'`)

// startStkDev runs the built stk with args in dir (free ports, human
// output), stdin as its standard input, until it prints its curl.
func startStkDev(t *testing.T, dir, stdin string, args ...string) *stkDev {
	t.Helper()
	args = append([]string{"dev", "--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}, args...)
	d := &stkDev{cmd: exec.Command(filepath.Join(binDir, "stk"), args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd.Dir = dir
	d.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")}
	d.cmd.Stdin = strings.NewReader(stdin)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := devCurlRe.FindStringSubmatch(d.stdout.String()); m != nil {
			d.bridge, d.key = m[1], m[2]
			return d
		}
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("stk dev exited (%v) before ready\nstdout %s\nstderr %s", err, d.stdout, d.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stk dev not ready after 60s\nstdout %s\nstderr %s", d.stdout, d.stderr)
		}
	}
}

// stop interrupts stk dev as Ctrl+C does; it must exit 0.
func (d *stkDev) stop(t *testing.T) {
	t.Helper()
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Errorf("stk dev after SIGINT: %v\nstderr %s", err, d.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Error("stk dev did not stop within 30s of SIGINT")
	}
}

// call POSTs {"path": path} to the Bridge with the printed key.
func (d *stkDev) call(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.bridge+"/call", strings.NewReader(`{"path":"`+path+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Santokit-Api-Key", d.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitOutput waits until stdout matches re.
func (d *stkDev) waitOutput(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !re.MatchString(d.stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s in stdout:\n%s\nstderr %s", re, d.stdout, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCall repeats a call until it answers status.
func (d *stkDev) waitCall(t *testing.T, path string, status int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := d.call(t, path)
		if got == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s, want %d\nstdout %s", path, got, body, status, d.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ownedDatabase creates a database owned by a new role whose password is a
// recognizable marker, and returns its URL and the marker.
func ownedDatabase(t *testing.T) (string, string) {
	t.Helper()
	server, err := testpg.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("stk_dev_%d_%d", os.Getpid(), roleSeq.Add(1))
	marker := "Pw" + fmt.Sprintf("%x", randomBytes(12))
	t.Cleanup(func() { _ = adminExec(server, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()) })
	if err := adminExec(server, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN PASSWORD '"+marker+"'"); err != nil {
		t.Fatal(err)
	}
	u, err := newOwnedDB(t, server, role, marker)
	if err != nil {
		t.Fatal(err)
	}
	return u.String(), marker
}

// noMarker fails if the password marker appears in any of the texts or in
// any file under dir.
func noMarker(t *testing.T, marker, dir string, texts map[string]string) {
	t.Helper()
	for name, s := range texts {
		if strings.Contains(s, marker) {
			t.Errorf("the database password appears in %s", name)
		}
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(marker)) {
			t.Errorf("the database password appears in %s", path)
		}
		return nil
	})
}

// Item 7: outside a project, `stk dev --db` serves the database's own
// tables with _default rules, names them, and keeps the password out of
// every output, log, file and process command line.
func TestNewcomerDevOwnPostgres(t *testing.T) {
	dbURL, marker := ownedDatabase(t)
	pg, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pg.Exec(t.Context(), `CREATE TABLE books (id bigserial PRIMARY KEY, title text NOT NULL);
		INSERT INTO books (title) VALUES ('Dune')`)
	pg.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d := startStkDev(t, dir, dbURL+"\n", "--db-stdin")
	out := d.stdout.String()
	if !regexp.MustCompile(`(?m)^\s*Tables\s+books$`).MatchString(out) || !strings.Contains(out, "***") {
		t.Errorf("stdout does not name the table books or the redacted URL:\n%s", out)
	}
	if !strings.Contains(out, `"path":"db/main/books/select"`) {
		t.Errorf("the curl does not select books:\n%s", out)
	}
	if status, body := d.call(t, "db/main/books/select"); status != 200 || !strings.Contains(body, "Dune") {
		t.Errorf("select books: %d %s", status, body)
	}
	// The key has writer: _default lets it write.
	if status, body := d.call(t, "db/main/books/delete"); status != 400 || !strings.Contains(body, "where") {
		t.Errorf("delete without where (allowed, then refused for the missing where): %d %s", status, body)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", d.cmd.Process.Pid, d.cmd.Process.Pid))
	d.stop(t)
	if len(bytes.TrimSpace(children)) > 0 {
		t.Errorf("stk dev started child processes: %s", children)
	}
	noMarker(t, marker, dir, map[string]string{"stdout": d.stdout.String(), "stderr": d.stderr.String(), "the command line": string(cmdline)})
}

// Item 7: a database without tables is a clear error (exit 1, NOT_FOUND),
// not a crash or a curl that cannot work.
func TestNewcomerDevEmptyPostgres(t *testing.T) {
	dbURL, marker := ownedDatabase(t)
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "stk"), "dev", "--db", dbURL, "--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\nstderr %s", err, stderr.String())
	}
	if !regexp.MustCompile(`^error: the database postgres postgres://\S+:\*\*\*@\S+ has no tables .*create your tables.* \(code NOT_FOUND\)\n$`).Match(stderr.Bytes()) {
		t.Errorf("stderr %q", stderr.String())
	}
	noMarker(t, marker, dir, map[string]string{"stdout": stdout.String(), "stderr": stderr.String()})
}

// Item 8: --watch follows the whole project: schema.sql rebuilds the data
// database (the Bridge serves the new table), a YAML syntax error in the
// permissions prints file:line:column with the parser's message and keeps
// the last good release, a failing schema.sql keeps the database, and
// logics/ is reported.
func TestNewcomerDevWatchProject(t *testing.T) {
	root := t.TempDir()
	if out, err := exec.Command(filepath.Join(binDir, "stk"), "init", filepath.Join(root, "app"), "--template", "minimal").CombinedOutput(); err != nil {
		t.Fatalf("stk init: %v %s", err, out)
	}
	d := startStkDev(t, root, "", "app", "--watch")
	d.waitCall(t, "db/main/todos/select", 200)

	schema := filepath.Join(root, "app", "schema.sql")
	src, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, "\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nINSERT INTO notes (body) VALUES ('hello');\n"...)
	if err := os.WriteFile(schema, src, 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOutput(t, regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d rebuilt app/\.santokit/data\.db from schema\.sql \(the previous one is kept as data\.db\.bak\)$`))
	if body := d.waitCall(t, "db/main/notes/select", 200); !strings.Contains(body, "hello") {
		t.Errorf("notes: %s", body)
	}
	if _, err := os.Stat(filepath.Join(root, "app", ".santokit", "data.db.bak")); err != nil {
		t.Errorf("data.db.bak: %v", err)
	}

	perm := filepath.Join(root, "app", "config", "permissions.yaml")
	good, err := os.ReadFile(perm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(perm, []byte("version: 1\ntables:\n  _default:\n    select: [reader\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOutput(t, regexp.MustCompile(`(?m)^app/config/permissions\.yaml:\d+:\d+: invalid YAML: .+$`))
	d.waitOutput(t, regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d not applied app/config/permissions\.yaml: permissions: line \d+, column \d+: invalid YAML: .+ \(code SCHEMA_VALIDATION_FAILED, request req_\w+\); the last good release stays served$`))
	if status, body := d.call(t, "db/main/notes/select"); status != 200 {
		t.Errorf("after a broken permissions file the old release does not serve: %d %s", status, body)
	}
	if err := os.WriteFile(perm, good, 0o644); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(schema, []byte("CREATE TABLE broken (;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOutput(t, regexp.MustCompile(`(?m)^app/schema\.sql:1: .*syntax error.*$`))
	d.waitOutput(t, regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d not applied app/schema\.sql: SQLite refused schema\.sql: .+ \(code SCHEMA_VALIDATION_FAILED\); the database and the release stay as they were$`))
	if body := d.waitCall(t, "db/main/notes/select", 200); !strings.Contains(body, "hello") {
		t.Errorf("after a failing schema.sql: %s", body)
	}

	if err := os.WriteFile(filepath.Join(root, "app", "logics", "mine.sql"), []byte("SELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOutput(t, regexp.MustCompile(`(?m)^app/logics/mine\.sql:1:1: a logic file starts with front matter`))
	d.waitOutput(t, regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d not applied app/logics: .+ \(code SCHEMA_VALIDATION_FAILED, request req_\w+\); the last good release stays served$`))
}

// Item 9: the files stk init writes speak to a user who has only them,
// whichever the template (#18 item 1).
func TestNewcomerInitTexts(t *testing.T) {
	for _, tmpl := range []string{"todo", "blog", "saas", "minimal"} {
		dir := filepath.Join(t.TempDir(), "app")
		if out, err := exec.Command(filepath.Join(binDir, "stk"), "init", dir, "--template", tmpl).CombinedOutput(); err != nil {
			t.Fatalf("stk init: %v %s", err, out)
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			for _, bad := range []string{"§", "SPEC", "todo example", "example's", "decision 00", "examples/"} {
				if bytes.Contains(b, []byte(bad)) && !(bad == "examples/" && filepath.Base(p) == "README.md") {
					t.Errorf("%s: %s mentions %q", tmpl, p, bad)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Item 9: an address in use names itself and the setting that picks
// another, for stk-hub, stk-bridge and stk dev; stk dev labels it CONFLICT
// (exit 1), not INTERNAL_ERROR.
func TestNewcomerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	dir := t.TempDir()
	run := func(env []string, name string, args ...string) (int, string) {
		cmd := exec.Command(filepath.Join(binDir, name), args...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	hubEnv := []string{"STK_HUB_ADDR=" + taken, "STK_HUB_DATABASE_URL=sqlite://" + filepath.Join(dir, "hub.db"),
		"STK_MASTER_KEYS=v1:" + base64Key(), "STK_BRIDGE_TOKENS=tok", "STK_BOOTSTRAP_ADMIN_EMAIL=owner@example.com",
		"STK_BOOTSTRAP_ADMIN_PASSWORD=a-long-password-1"}
	for _, c := range []struct {
		name, want string
		env        []string
		args       []string
	}{
		{"stk-hub", "STK_HUB_ADDR", hubEnv, nil},
		{"stk-bridge", "STK_BRIDGE_ADDR", []string{"STK_BRIDGE_ADDR=" + taken, "STK_BRIDGE_TOKEN=tok", "STK_HUB_URL=http://127.0.0.1:1"}, nil},
		{"stk", "--hub-addr", nil, []string{"dev", "--hub-addr", taken, "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}},
		{"stk", "--bridge-addr", nil, []string{"dev", "--hub-addr", "127.0.0.1:0", "--bridge-addr", taken}},
	} {
		code, out := run(c.env, c.name, c.args...)
		if code != 1 || !strings.Contains(out, "address "+taken+" is already in use") || !strings.Contains(out, "choose another with "+c.want) ||
			strings.Contains(out, "INTERNAL_ERROR") {
			t.Errorf("%s %v: exit %d\n%s", c.name, c.args, code, out)
		}
		if c.name == "stk" && !strings.Contains(out, "(code CONFLICT)") {
			t.Errorf("%s %v: not CONFLICT\n%s", c.name, c.args, out)
		}
	}
}

func base64Key() string { return base64.StdEncoding.EncodeToString(randomBytes(32)) }
