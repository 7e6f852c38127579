// Package e2e runs whole-system flows (ARCHITECTURE §4): testscript files in
// testdata/ drive the real `stk` binary against a real `stk-hub` process, a
// real `stk-bridge` process and a real PostgreSQL. TestMain builds the
// binaries once; each script gets a fresh Hub store, a fresh "bring your
// own" database ($PGURL) whose role has a password marker ($PGMARKER) that
// must never show up anywhere, a random Bridge service token ($BRIDGE_TOKEN,
// equally secret), and the custom commands documented on cmds below.
package e2e

import (
	"bufio"
	"bytes"
	"cmp"
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

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
)

// binDir holds the stk, stk-hub and stk-bridge binaries built by TestMain.
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
			"github.com/santokit/santokit/packages/hub/cmd/stk-hub",
			"github.com/santokit/santokit/packages/bridge/cmd/stk-bridge")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building stk, stk-hub and stk-bridge:", err)
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
	tb          testing.TB
	role        string // owner of the BYO databases
	store       string // STK_HUB_DATABASE_URL
	storeKind   string // sqlite or postgres
	masterKeys  string
	bridgeToken string // the Hub's STK_BRIDGE_TOKENS and the Bridge's STK_BRIDGE_TOKEN
	// adminEmail and adminPassword are the Hub's bootstrap owner.
	adminEmail, adminPassword string
	hub                       *proc
	bridge                    *proc
	lastExit                  int
	// issuers are the OIDC issuers started by issuer-start, by name.
	issuers map[string]*devissuer.Issuer
}

// proc is a server process started by a script (stk-hub or stk-bridge).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  *os.File
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
			"bridge-start":    cmdBridgeStart,
			"bridge-stop":     cmdBridgeStop,
			"http":            cmdHTTP,
			"call":            cmdCall,
			"call-until":      cmdCallUntil,
			"pg-exec":         cmdPgExec,
			"pg-newdb":        cmdPgNewDB,
			"capture":         cmdCapture,
			"envfile":         cmdEnvfile,
			"no-secret":       cmdNoSecret,
			"store-no-secret": cmdStoreNoSecret,
			"issuer-start":    cmdIssuerStart,
			"token":           cmdToken,
		},
	})
}

func setup(env *testscript.Env, storeKind string) error {
	tb, ok := env.T().(testing.TB)
	if !ok {
		return errors.New("testscript T is not a testing.TB")
	}
	st := &scriptState{tb: tb, storeKind: storeKind, masterKeys: "v1:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		bridgeToken: "brt" + hex.EncodeToString(randomBytes(20)),
		adminEmail:  "owner@example.com", adminPassword: "Adm" + hex.EncodeToString(randomBytes(12))}
	env.Values[stateKey{}] = st
	env.Setenv("BRIDGE_TOKEN", st.bridgeToken) // for no-secret -var BRIDGE_TOKEN
	env.Setenv("MASTER_KEYS", st.masterKeys)
	env.Setenv("MASTER_KEY", strings.TrimPrefix(st.masterKeys, "v1:"))              // for no-secret -var MASTER_KEY
	env.Setenv("MASTER_KEY_V2", base64.StdEncoding.EncodeToString(randomBytes(32))) // a second key for rotation
	env.Setenv("ADMIN_EMAIL", st.adminEmail)
	env.Setenv("ADMIN_PASSWORD", st.adminPassword)
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))

	// The Hub store.
	if storeKind == "postgres" {
		st.store = testpg.New(tb)
	} else {
		st.store = "sqlite://" + filepath.Join(env.WorkDir, "hub.db")
	}
	env.Setenv("HUB_DATABASE_URL", st.store) // for stk-hub keys …

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

// hub-start [-nologin] starts stk-hub on a free loopback port with the
// script's store, master key, bridge token and bootstrap owner
// ($ADMIN_EMAIL, $ADMIN_PASSWORD; the same ones across restarts), operator
// auth enforced and debug logging appended to $WORK/hub.log (a script may
// set STK_MASTER_KEYS to start it with another key ring); it waits for
// /readyz, sets STK_HUB_URL and HUB_ADDR, and stops the Hub when the script
// ends. Unless -nologin is given or STK_TOKEN is already set, it logs in as
// the owner and sets STK_TOKEN (and CI_TOKEN) to a new CI token, the way a
// CI job drives stk.
func cmdHubStart(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	login := true
	if len(args) == 1 && args[0] == "-nologin" {
		login, args = false, nil
	}
	if neg || len(args) != 0 {
		ts.Fatalf("usage: hub-start [-nologin]")
	}
	if st.hub != nil {
		ts.Fatalf("hub-start: a Hub is already running")
	}
	p, addr := startProc(ts, "stk-hub", "hub.log", []string{
		"STK_HUB_ADDR=127.0.0.1:0",
		"STK_HUB_DATABASE_URL=" + st.store,
		"STK_MASTER_KEYS=" + cmp.Or(ts.Getenv("STK_MASTER_KEYS"), st.masterKeys),
		"STK_BRIDGE_TOKENS=" + st.bridgeToken,
		"STK_BOOTSTRAP_ADMIN_EMAIL=" + st.adminEmail,
		"STK_BOOTSTRAP_ADMIN_PASSWORD=" + st.adminPassword,
		"STK_LOG_LEVEL=debug",
	})
	st.hub = p
	ts.Defer(func() { _ = stopProc(st.hub); st.hub = nil })
	base := "http://" + addr
	waitReady(ts, "hub-start", base)
	ts.Setenv("STK_HUB_URL", base)
	ts.Setenv("HUB_ADDR", addr)
	if login && ts.Getenv("STK_TOKEN") == "" {
		token := ciToken(ts, base, st.adminEmail, st.adminPassword)
		ts.Setenv("STK_TOKEN", token)
		ts.Setenv("CI_TOKEN", token)
	}
}

// ciToken logs in over HTTP and creates an unscoped CI token.
func ciToken(ts *testscript.TestScript, base, email, password string) string {
	post := func(path, bearer string, in, out any) {
		b, _ := json.Marshal(in)
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
		ts.Check(err)
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		ts.Check(err)
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			ts.Fatalf("hub-start: POST %s: %d %s", path, res.StatusCode, data)
		}
		ts.Check(json.Unmarshal(data, out))
	}
	var tok struct{ AccessToken string }
	post("/v1/auth/login", "", map[string]string{"email": email, "password": password}, &tok)
	var ci struct{ Token string }
	post("/v1/tokens", tok.AccessToken, map[string]string{"name": "e2e"}, &ci)
	return ci.Token
}

// bridge-start starts stk-bridge on a free loopback port, pointing at the
// running Hub ($STK_HUB_URL) with the script's bridge token, with debug
// logging appended to $WORK/bridge.log; it waits for /readyz, sets
// BRIDGE_URL and BRIDGE_ADDR, and stops the Bridge when the script ends.
func cmdBridgeStart(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if neg || len(args) != 0 {
		ts.Fatalf("usage: bridge-start")
	}
	if st.bridge != nil {
		ts.Fatalf("bridge-start: a Bridge is already running")
	}
	hubURL := ts.Getenv("STK_HUB_URL")
	if hubURL == "" {
		ts.Fatalf("bridge-start: no STK_HUB_URL (run hub-start first)")
	}
	p, addr := startProc(ts, "stk-bridge", "bridge.log", []string{
		"STK_BRIDGE_ADDR=127.0.0.1:0",
		"STK_HUB_URL=" + hubURL,
		"STK_BRIDGE_TOKEN=" + st.bridgeToken,
		"STK_LOG_LEVEL=debug",
	})
	st.bridge = p
	ts.Defer(func() { _ = stopProc(st.bridge); st.bridge = nil })
	base := "http://" + addr
	waitReady(ts, "bridge-start", base)
	ts.Setenv("BRIDGE_URL", base)
	ts.Setenv("BRIDGE_ADDR", addr)
}

// startProc starts binary bin from binDir in $WORK with a minimal
// environment plus env, its stdout and stderr appended to $WORK/logName,
// and returns it with the addr of its "listening" log line.
func startProc(ts *testscript.TestScript, bin, logName string, env []string) (*proc, string) {
	logPath := filepath.Join(ts.Getenv("WORK"), logName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	ts.Check(err)
	start, err := logf.Seek(0, io.SeekEnd)
	ts.Check(err)
	cmd := exec.Command(filepath.Join(binDir, bin))
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append([]string{
		"PATH=" + ts.Getenv("PATH"),
		"HOME=" + ts.Getenv("WORK"),
		"TMPDIR=" + ts.Getenv("TMPDIR"),
	}, env...)
	// The connection policy (SPEC §12) and the connection bounds
	// (limits_test.go), as a script sets them with env, reach both servers.
	for _, k := range []string{"STK_SQLITE_DIR", "STK_ALLOW_LOCAL_SOCKETS", "STK_DB_ALLOWED_HOSTS",
		"STK_READ_TIMEOUT", "STK_MAX_CONNECTIONS", "STK_RATE_LIMIT"} {
		if v := ts.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	ts.Check(cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	p := &proc{name: bin, cmd: cmd, done: done, log: logf}
	return p, waitListening(ts, p, logPath, start)
}

// waitReady polls base/readyz until it answers 200.
func waitReady(ts *testscript.TestScript, cmd, base string) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: %s/readyz not ready after 20s (%v)", cmd, base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListening reads p's log from offset until the "listening" line and
// returns its addr.
func waitListening(ts *testscript.TestScript, p *proc, logPath string, offset int64) string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if addr := listeningAddr(logPath, offset); addr != "" {
			return addr
		}
		select {
		case err := <-p.done:
			p.done <- err
			b, _ := os.ReadFile(logPath)
			ts.Fatalf("%s exited (%v) before listening:\n%s", p.name, err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: no \"listening\" log line after 30s", p.name)
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

// stopProc sends SIGTERM and waits (then kills); it returns the exit
// error. A nil p is already stopped.
func stopProc(p *proc) error {
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		err = errors.New("did not stop within 15s of SIGTERM")
	}
	_ = p.log.Close()
	return err
}

// hub-stop stops the Hub with SIGTERM; it must exit with status 0
// (graceful shutdown, SPEC §12).
func cmdHubStop(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if st.hub == nil {
		ts.Fatalf("hub-stop: no Hub running")
	}
	p := st.hub
	st.hub = nil
	checkStopped(ts, "hub-stop", neg, stopProc(p))
}

// bridge-stop stops the Bridge with SIGTERM; it must exit with status 0
// (graceful shutdown, SPEC §12).
func cmdBridgeStop(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if st.bridge == nil {
		ts.Fatalf("bridge-stop: no Bridge running")
	}
	p := st.bridge
	st.bridge = nil
	checkStopped(ts, "bridge-stop", neg, stopProc(p))
}

func checkStopped(ts *testscript.TestScript, cmd string, neg bool, err error) {
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s: %v", cmd, err)
	case err == nil && neg:
		ts.Fatalf("%s: the process exited cleanly", cmd)
	}
}

// http [-url VAR] [-H 'Name: value']… METHOD PATH [BODY] sends a raw
// request to $STK_HUB_URL (or to the base URL in $VAR, e.g. BRIDGE_URL) and
// prints "status N", the content-type, x-request-id and
// allow headers (when present), then the body.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! http")
	}
	urlVar := "STK_HUB_URL"
	if len(args) >= 2 && args[0] == "-url" {
		urlVar, args = args[1], args[2:]
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
		ts.Fatalf("usage: http [-url VAR] [-H 'Name: value']... METHOD PATH [BODY]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	base := ts.Getenv(urlVar)
	if base == "" {
		ts.Fatalf("http: no %s (run hub-start or bridge-start first)", urlVar)
	}
	req, err := http.NewRequest(args[0], base+args[1], body)
	ts.Check(err)
	req.Header = hdr
	if tok := ts.Getenv("STK_TOKEN"); tok != "" && hdr.Get("Authorization") == "" && strings.HasPrefix(args[1], "/v1/") {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
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

// callRequest is one parsed call/call-until invocation.
type callRequest struct {
	keyVar string // the variable holding the API key; "" = no key
	header http.Header
	body   string
}

// parseCall reads [-key VAR|-nokey] [-H 'Name: value']… PATH [PARAMS_JSON].
func parseCall(ts *testscript.TestScript, cmd string, args []string) callRequest {
	usage := func() {
		ts.Fatalf("usage: %s [-key VAR|-nokey] [-H 'Name: value']... PATH [PARAMS_JSON]", cmd)
	}
	c := callRequest{keyVar: "APIKEY", header: http.Header{}}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-nokey":
			c.keyVar, args = "", args[1:]
		case args[0] == "-key" && len(args) >= 2:
			c.keyVar, args = args[1], args[2:]
		case args[0] == "-H" && len(args) >= 2:
			k, v, ok := strings.Cut(args[1], ":")
			if !ok {
				ts.Fatalf("%s: -H wants 'Name: value'", cmd)
			}
			c.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			args = args[2:]
		default:
			usage()
		}
	}
	if len(args) < 1 || len(args) > 2 {
		usage()
	}
	path, err := json.Marshal(args[0])
	ts.Check(err)
	c.body = `{"path":` + string(path)
	if len(args) == 2 {
		// Sent as written (it may be deliberately malformed).
		c.body += `,"params":` + args[1]
	}
	c.body += "}"
	if c.keyVar != "" {
		key := ts.Getenv(c.keyVar)
		if key == "" {
			ts.Fatalf("%s: $%s is empty (capture the API key into it, or use -nokey)", cmd, c.keyVar)
		}
		c.header.Set("X-Santokit-Api-Key", key)
	}
	c.header.Set("Content-Type", "application/json")
	return c
}

// do sends the call to $BRIDGE_URL/call and returns the status and what
// the call command prints: "status N", the content-type, x-request-id and
// retry-after headers (when present), then the body.
func (c callRequest) do(ts *testscript.TestScript, cmd string) (int, string) {
	base := ts.Getenv("BRIDGE_URL")
	if base == "" {
		ts.Fatalf("%s: no BRIDGE_URL (run bridge-start first)", cmd)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/call", strings.NewReader(c.body))
	ts.Check(err)
	req.Header = c.header.Clone()
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		ts.Fatalf("%s: %v", cmd, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	ts.Check(err)
	var out strings.Builder
	fmt.Fprintf(&out, "status %d\n", res.StatusCode)
	for _, k := range []string{"Content-Type", "X-Request-Id", "Retry-After"} {
		if v := res.Header.Values(k); len(v) > 0 {
			fmt.Fprintf(&out, "%s: %s\n", strings.ToLower(k), strings.Join(v, ", "))
		}
	}
	fmt.Fprintf(&out, "%s\n", bytes.TrimRight(b, "\n"))
	return res.StatusCode, out.String()
}

// call [-key VAR|-nokey] [-H 'Name: value']… PATH [PARAMS_JSON] POSTs
// {"path": PATH, "params": PARAMS_JSON} to $BRIDGE_URL/call with the API key
// held in $VAR (default $APIKEY; -nokey sends none) in X-Santokit-Api-Key,
// and prints "status N", the content-type, x-request-id and retry-after
// headers (when present), then the body, for stdout to match.
func cmdCall(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! call (match the status instead)")
	}
	_, out := parseCall(ts, "call", args).do(ts, "call")
	_, _ = io.WriteString(ts.Stdout(), out)
}

// callUntilTimeout bounds call-until: changes must reach the Bridge within
// 2 seconds (SPEC §7.2, §8.1); the rest is slack for loaded machines.
const callUntilTimeout = 5 * time.Second

// call-until STATUS [call's arguments] repeats the call until it answers
// STATUS, for up to 5 seconds, and prints the last answer like call.
func cmdCallUntil(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: call-until STATUS [-key VAR|-nokey] [-H 'Name: value']... PATH [PARAMS_JSON]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	c := parseCall(ts, "call-until", args[1:])
	start := time.Now()
	for tries := 1; ; tries++ {
		got, out := c.do(ts, "call-until")
		if got == want {
			ts.Logf("call-until: status %d after %d tries, %v", got, tries, time.Since(start).Round(time.Millisecond))
			_, _ = io.WriteString(ts.Stdout(), out)
			return
		}
		if time.Since(start) > callUntilTimeout {
			ts.Fatalf("call-until: no status %d within %v (%d tries); the last answer:\n%s", want, callUntilTimeout, tries, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
