// Package e2e runs whole-system flows (ARCHITECTURE §4): testscript files in
// testdata/ drive the real `stk` binary against a real `stk-hub` process and
// a real PostgreSQL. TestMain builds both binaries once; each script gets a
// fresh Hub store, a fresh "bring your own" database ($PGURL) whose role has
// a password marker ($PGMARKER) that must never show up anywhere, and the
// custom commands documented on cmds below.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/santokit/santokit/internal/testpg"
)

// binDir holds the stk and stk-hub binaries built by TestMain.
var binDir string

// roleSeq numbers the PostgreSQL roles of the scripts (roles are per cluster).
var roleSeq atomic.Int64

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "stk-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
			"github.com/santokit/santokit/packages/cli/cmd/stk",
			"github.com/santokit/santokit/packages/hub/cmd/stk-hub")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building stk and stk-hub:", err)
			return 1
		}
		binDir = dir
		return m.Run()
	}()
	testpg.Stop()
	os.Exit(code)
}

// TestScripts runs every flow with the Hub store on SQLite ($WORK/hub.db).
func TestScripts(t *testing.T) {
	t.Parallel()
	runScripts(t, "sqlite")
}

// TestScriptsPostgresStore runs the same flows with the Hub store on
// PostgreSQL.
func TestScriptsPostgresStore(t *testing.T) {
	t.Parallel()
	runScripts(t, "postgres")
}

type stateKey struct{}

// scriptState is what the custom commands of one script share.
type scriptState struct {
	tb         testing.TB
	role       string // owner of the BYO databases
	store      string // STK_HUB_DATABASE_URL
	storeKind  string // sqlite or postgres
	masterKeys string
	hub        *exec.Cmd
	hubDone    chan error
	hubLog     *os.File
	lastExit   int
}

func runScripts(t *testing.T, storeKind string) {
	if _, err := testpg.ServerURL(); err != nil {
		t.Fatalf("testpg: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup:               func(env *testscript.Env) error { return setup(env, storeKind) },
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "pgstore":
				return storeKind == "postgres", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"stk":             cmdStk,
			"exitcode":        cmdExitcode,
			"hub-start":       cmdHubStart,
			"hub-stop":        cmdHubStop,
			"http":            cmdHTTP,
			"pg-exec":         cmdPgExec,
			"pg-newdb":        cmdPgNewDB,
			"capture":         cmdCapture,
			"envfile":         cmdEnvfile,
			"no-secret":       cmdNoSecret,
			"store-no-secret": cmdStoreNoSecret,
		},
	})
}

func setup(env *testscript.Env, storeKind string) error {
	tb, ok := env.T().(testing.TB)
	if !ok {
		return errors.New("testscript T is not a testing.TB")
	}
	st := &scriptState{tb: tb, storeKind: storeKind, masterKeys: "v1:" + base64.StdEncoding.EncodeToString(randomBytes(32))}
	env.Values[stateKey{}] = st
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))

	// The Hub store.
	if storeKind == "postgres" {
		st.store = testpg.New(tb)
	} else {
		st.store = "sqlite://" + filepath.Join(env.WorkDir, "hub.db")
	}

	// The BYO database: owned by a role with a password (the cluster trusts
	// local connections, so any password would do; what matters is that the
	// URL carries a recognizable secret).
	server, err := testpg.ServerURL()
	if err != nil {
		return err
	}
	role := fmt.Sprintf("stk_app_%d_%d", os.Getpid(), roleSeq.Add(1))
	st.role = role
	marker := "Pw" + hex.EncodeToString(randomBytes(12))
	tb.Cleanup(func() { // registered first, so it runs after the database is dropped
		_ = adminExec(server, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize())
	})
	if err := adminExec(server, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN PASSWORD '"+marker+"'"); err != nil {
		return err
	}
	u, err := newOwnedDB(tb, server, role, marker)
	if err != nil {
		return err
	}
	db := strings.TrimPrefix(u.Path, "/")
	env.Setenv("PGURL", u.String())
	env.Setenv("PGUSER", role)
	env.Setenv("PGMARKER", marker)
	env.Setenv("PGHOSTPORT", u.Host)
	env.Setenv("PGDB", db)

	// The same credentials on a port where nothing listens.
	closed := *u
	closed.Host = "127.0.0.1:" + strconv.Itoa(closedPort(tb))
	env.Setenv("PGURL_CLOSED", closed.String())
	return nil
}

// newOwnedDB creates a database owned by role and returns its URL with the
// role's credentials.
func newOwnedDB(tb testing.TB, server, role, password string) (*url.URL, error) {
	u, err := url.Parse(testpg.New(tb))
	if err != nil {
		return nil, err
	}
	db := strings.TrimPrefix(u.Path, "/")
	if err := adminExec(server, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+pgx.Identifier{role}.Sanitize()); err != nil {
		return nil, err
	}
	u.User = url.UserPassword(role, password)
	return u, nil
}

func adminExec(server string, stmts ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(server)
	if err != nil {
		return err
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(s, " ", 3)[:2], err)
		}
	}
	return nil
}

// closedPort returns a loopback port that was free a moment ago.
func closedPort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

// stk ARGS… runs the built stk with the script's environment and stdin. Its
// stdout and stderr are kept for stdout/stderr as with exec, and appended to
// $WORK/stk-output.log for the final secret check; the exit code is kept
// for exitcode. With ! it must fail, without it must succeed.
func cmdStk(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	err := ts.Exec("stk", args...)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("stk: %v", err)
		}
		code = ee.ExitCode()
	}
	st.lastExit = code
	f, ferr := os.OpenFile(filepath.Join(ts.Getenv("WORK"), "stk-output.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	ts.Check(ferr)
	_, _ = io.WriteString(f, ts.ReadFile("stdout"))
	_, _ = io.WriteString(f, ts.ReadFile("stderr"))
	ts.Check(f.Close())
	switch {
	case neg && code == 0:
		ts.Fatalf("stk: unexpected success")
	case !neg && code != 0:
		ts.Fatalf("stk: exit status %d", code)
	}
}

// exitcode N checks the exit code of the last stk command.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := state(ts).lastExit; got != want {
		ts.Fatalf("stk exited %d, want %d", got, want)
	}
}

// hub-start starts stk-hub on a free loopback port with the script's store
// and master key (the same ones across restarts), operator auth disabled and
// debug logging appended to $WORK/hub.log; it waits for /readyz, sets
// STK_HUB_URL, and stops the Hub when the script ends.
func cmdHubStart(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if neg || len(args) != 0 {
		ts.Fatalf("usage: hub-start")
	}
	if st.hub != nil {
		ts.Fatalf("hub-start: a Hub is already running")
	}
	logPath := filepath.Join(ts.Getenv("WORK"), "hub.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	ts.Check(err)
	start, err := logf.Seek(0, io.SeekEnd)
	ts.Check(err)
	cmd := exec.Command(filepath.Join(binDir, "stk-hub"))
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = []string{
		"PATH=" + ts.Getenv("PATH"),
		"HOME=" + ts.Getenv("WORK"),
		"TMPDIR=" + ts.Getenv("TMPDIR"),
		"STK_HUB_ADDR=127.0.0.1:0",
		"STK_HUB_DATABASE_URL=" + st.store,
		"STK_MASTER_KEYS=" + st.masterKeys,
		"STK_DISABLE_AUTH=true",
		"STK_LOG_LEVEL=debug",
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	ts.Check(cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	st.hub, st.hubDone, st.hubLog = cmd, done, logf
	ts.Defer(func() { stopHub(st) })

	addr := waitListening(ts, logPath, start, done)
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("hub-start: %s/readyz not ready after 20s (%v)", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Setenv("STK_HUB_URL", base)
	ts.Setenv("HUB_ADDR", addr)
}

// waitListening reads the Hub's log from offset until the "listening" line
// and returns its addr.
func waitListening(ts *testscript.TestScript, logPath string, offset int64, done chan error) string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if addr := listeningAddr(logPath, offset); addr != "" {
			return addr
		}
		select {
		case err := <-done:
			done <- err
			b, _ := os.ReadFile(logPath)
			ts.Fatalf("hub-start: stk-hub exited (%v) before listening:\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ts.Fatalf("hub-start: no \"listening\" log line after 30s")
		}
	}
}

func listeningAddr(logPath string, offset int64) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
			return line.Addr
		}
	}
	return ""
}

// stopHub sends SIGTERM and waits (then kills); it returns the exit error.
func stopHub(st *scriptState) error {
	if st.hub == nil {
		return nil
	}
	cmd, done := st.hub, st.hubDone
	st.hub = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		err = errors.New("did not stop within 15s of SIGTERM")
	}
	_ = st.hubLog.Close()
	return err
}

// hub-stop stops the Hub with SIGTERM; it must exit with status 0
// (graceful shutdown, SPEC §12).
func cmdHubStop(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if st.hub == nil {
		ts.Fatalf("hub-stop: no Hub running")
	}
	err := stopHub(st)
	switch {
	case err != nil && !neg:
		ts.Fatalf("hub-stop: stk-hub: %v", err)
	case err == nil && neg:
		ts.Fatalf("hub-stop: stk-hub exited cleanly")
	}
}

// http [-H 'Name: value']… METHOD PATH [BODY] sends a raw request to
// $STK_HUB_URL and prints "status N", the content-type, x-request-id and
// allow headers (when present), then the body.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! http")
	}
	hdr := http.Header{}
	for len(args) >= 2 && args[0] == "-H" {
		k, v, ok := strings.Cut(args[1], ":")
		if !ok {
			ts.Fatalf("http: -H wants 'Name: value'")
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		args = args[2:]
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: http [-H 'Name: value']... METHOD PATH [BODY]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	base := ts.Getenv("STK_HUB_URL")
	if base == "" {
		ts.Fatalf("http: no STK_HUB_URL (run hub-start first)")
	}
	req, err := http.NewRequest(args[0], base+args[1], body)
	ts.Check(err)
	req.Header = hdr
	if body != nil && hdr.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	ts.Check(err)
	w := ts.Stdout()
	fmt.Fprintf(w, "status %d\n", res.StatusCode)
	for _, k := range []string{"Content-Type", "X-Request-Id", "Allow"} {
		if v := res.Header.Values(k); len(v) > 0 {
			fmt.Fprintf(w, "%s: %s\n", strings.ToLower(k), strings.Join(v, ", "))
		}
	}
	fmt.Fprintf(w, "%s\n", bytes.TrimRight(b, "\n"))
}

// pg-exec [-url NAME] SQL runs statements on $PGURL (or on the database
// whose URL is in $NAME) as its (owning) role.
func cmdPgExec(ts *testscript.TestScript, neg bool, args []string) {
	urlVar := "PGURL"
	if len(args) == 3 && args[0] == "-url" {
		urlVar, args = args[1], args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: pg-exec [-url NAME] 'SQL'")
	}
	dbURL := ts.Getenv(urlVar)
	if dbURL == "" {
		ts.Fatalf("pg-exec: $%s is empty", urlVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	ts.Check(err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, args[0])
	switch {
	case err != nil && !neg:
		ts.Fatalf("pg-exec: %v", err)
	case err == nil && neg:
		ts.Fatalf("pg-exec: unexpected success")
	}
}

// pg-newdb NAME creates another empty database owned by the script's role
// (same password, so $PGMARKER covers it) and sets $NAME to its URL.
func cmdPgNewDB(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pg-newdb NAME")
	}
	server, err := testpg.ServerURL()
	ts.Check(err)
	u, err := newOwnedDB(st.tb, server, st.role, ts.Getenv("PGMARKER"))
	ts.Check(err)
	ts.Setenv(args[0], u.String())
}

// capture NAME REGEXP sets $NAME to the first submatch of REGEXP (which must
// have one group) in the stdout of the last command, so that a value printed
// once (an id, a secret) can be used or checked later without appearing in
// the script's text. REGEXP is matched in multi-line mode.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	if re.NumSubexp() != 1 {
		ts.Fatalf("capture: %s must have exactly one group", args[1])
	}
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if m == nil {
		ts.Fatalf("capture: no match for %s in stdout", args[1])
	}
	if m[1] == "" {
		ts.Fatalf("capture: %s matched an empty value", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// envfile NAME FILE writes the value of $NAME and a newline to FILE (for
// stdin FILE), so that a secret never appears in the script's text.
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(ts.Getenv(args[0])+"\n"), 0o600))
}

// secretVar reads the optional "-var NAME" in front of args: the variable
// holding the secret to look for (default PGMARKER).
func secretVar(ts *testscript.TestScript, cmd string, args []string) (string, []string) {
	name := "PGMARKER"
	if len(args) >= 2 && args[0] == "-var" {
		name, args = args[1], args[2:]
	}
	secret := ts.Getenv(name)
	if len(secret) < 8 {
		ts.Fatalf("%s: $%s is unset or too short to be a secret", cmd, name)
	}
	return secret, args
}

// no-secret [-var NAME] GLOB… checks that $PGMARKER (or $NAME) occurs in
// none of the files the globs match; each glob must match at least one file.
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	secret, args := secretVar(ts, "no-secret", args)
	if neg || len(args) == 0 {
		ts.Fatalf("usage: no-secret [-var NAME] GLOB...")
	}
	marker := []byte(secret)
	for _, g := range args {
		files, err := filepath.Glob(ts.MkAbs(g))
		ts.Check(err)
		if len(files) == 0 {
			ts.Fatalf("no-secret: %s matches no file", g)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			ts.Check(err)
			if bytes.Contains(b, marker) {
				ts.Fatalf("no-secret: the secret appears in %s", f)
			}
			ts.Logf("no-secret: %s (%d bytes) clean", filepath.Base(f), len(b))
		}
	}
}

// store-no-secret [-var NAME] checks that $PGMARKER (or $NAME) occurs
// nowhere in the Hub store: the SQLite files, or every row of every table of
// the PostgreSQL store.
func cmdStoreNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	marker, rest := secretVar(ts, "store-no-secret", args)
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: store-no-secret [-var NAME]")
	}
	if st.storeKind == "sqlite" {
		varFlag := args[:len(args)-len(rest)] // "-var NAME", if given
		cmdNoSecret(ts, false, append(append([]string{}, varFlag...), "hub.db*"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, st.store)
	ts.Check(err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
		FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	ts.Check(err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	ts.Check(err)
	if len(tables) == 0 {
		ts.Fatalf("store-no-secret: the store has no tables")
	}
	for _, tbl := range tables {
		var n int
		ts.Check(conn.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` t WHERE t::text LIKE '%' || $1 || '%'`, marker).Scan(&n))
		if n > 0 {
			ts.Fatalf("store-no-secret: the secret appears in %d row(s) of %s", n, tbl)
		}
	}
	ts.Logf("store-no-secret: %d tables clean", len(tables))
}
