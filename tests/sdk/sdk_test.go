//go:build sdk

// Package sdk runs the TypeScript SDK's tests that need live servers: it
// builds stk and stk-bridge, starts real `stk dev` stacks serving
// examples/todo-web (on SQLite, and on PostgreSQL in a throwaway cluster from
// internal/testpg, there also through a separate stk-bridge process), and
// runs packages/client's node tests against them with the URLs, the dev API
// key and end-user tokens in environment variables.
//
// It needs Node (>= 18) and the workspace's node_modules with the SDK built
// (npm ci && npm run build -w @santokit/client), so it is behind the sdk
// build tag and run by `make test-ts`, not by a bare `go test ./...`:
//
//	go test -tags sdk ./tests/sdk/
package sdk

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/santokit/santokit/internal/testpg"
)

// stkBin and bridgeBin are the stk and stk-bridge binaries built by TestMain.
var stkBin, bridgeBin string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "stk-sdk-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
			"github.com/santokit/santokit/packages/cli/cmd/stk",
			"github.com/santokit/santokit/packages/bridge/cmd/stk-bridge")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "sdk: building stk and stk-bridge:", err)
			return 1
		}
		stkBin = filepath.Join(dir, "stk")
		bridgeBin = filepath.Join(dir, "stk-bridge")
		return m.Run()
	}()
	testpg.Stop()
	os.Exit(code)
}

// repoRoot is the repository's top directory (this package is tests/sdk).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// clientDir is packages/client, checked to hold a built SDK.
func clientDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "packages", "client")
	for _, f := range []string{"dist/index.js", "dist/santokit.browser.js"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("packages/client/%s is missing: build the SDK first (npm ci && npm run build -w @santokit/client; make test-ts does both)", f)
		}
	}
	return dir
}

// devInfo is what `stk dev --json` prints once ready.
type devInfo struct {
	HubURL    string `json:"hubUrl"`
	BridgeURL string `json:"bridgeUrl"`
	APIKey    string `json:"apiKey"`
	IssuerURL string `json:"issuerUrl"`
	WebURL    string `json:"webUrl"`
}

// project copies examples/todo-web's project files (not web/) to a fresh
// directory, so each stack has its own .santokit/ state.
func project(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "examples", "todo-web")
	dst := t.TempDir()
	for _, d := range []string{"config", "logics"} {
		if err := os.CopyFS(filepath.Join(dst, d), os.DirFS(filepath.Join(src, d))); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, "schema.sql"), filepath.Join(dst, "schema.sql"))
	return dst
}

// startDev runs `stk dev DIR --json` on free loopback ports until the test
// ends (SIGTERM, then a kill after 10 s) and returns what it printed.
func startDev(t *testing.T, dir string, args ...string) devInfo {
	t.Helper()
	args = append([]string{"dev", dir, "--json", "--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(stkBin, args...)
	cmd.Stdin = strings.NewReader("")
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stk-dev.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	infoCh := make(chan devInfo, 1)
	errCh := make(chan error, 1)
	go func() {
		var info devInfo
		if err := json.NewDecoder(bufio.NewReader(out)).Decode(&info); err != nil {
			errCh <- err
			return
		}
		infoCh <- info
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case info := <-infoCh:
		if info.BridgeURL == "" || info.APIKey == "" || info.IssuerURL == "" {
			t.Fatalf("stk dev printed %+v", info)
		}
		return info
	case err := <-errCh:
		log, _ := os.ReadFile(stderr.Name())
		t.Fatalf("stk dev %s: no JSON on stdout (%v); stderr:\n%s", strings.Join(args, " "), err, log)
	case <-time.After(90 * time.Second):
		log, _ := os.ReadFile(stderr.Name())
		t.Fatalf("stk dev not ready after 90 s; stderr:\n%s", log)
	}
	return devInfo{}
}

// token prints an end-user token for sub, signed by dir's dev issuer.
func token(t *testing.T, dir, sub string) string {
	t.Helper()
	out, err := exec.Command(stkBin, "dev", "token", dir, "--sub", sub).Output()
	if err != nil {
		t.Fatalf("stk dev token --sub %s: %v", sub, err)
	}
	return strings.TrimSpace(string(out))
}

// target is one live stack as the node tests read it (STK_SDK_TARGETS).
type target struct {
	Name      string            `json:"name"`
	BridgeURL string            `json:"bridgeUrl"`
	APIKey    string            `json:"apiKey"`
	Project   string            `json:"project"`
	Env       string            `json:"env"`
	Tokens    map[string]string `json:"tokens"`
}

func newTarget(t *testing.T, name, dir string, info devInfo) target {
	return target{
		Name: name, BridgeURL: info.BridgeURL, APIKey: info.APIKey, Project: "dev", Env: "dev",
		Tokens: map[string]string{"alice": token(t, dir, "alice"), "bob": token(t, dir, "bob")},
	}
}

// runNode runs `node --test` in packages/client with env added; its output
// goes to the test log as it comes.
func runNode(t *testing.T, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"--test", "--test-reporter=spec"}, args...)...)
	cmd.Dir = clientDir(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("node --test %s: %v", strings.Join(args, " "), err)
	}
}

// TestClientIntegration runs test/integration against stk dev on SQLite, on
// PostgreSQL, and a standalone stk-bridge over the same PostgreSQL: every op,
// filters, errors with requestId, end-user tokens and logic, through the
// real binaries.
func TestClientIntegration(t *testing.T) {
	clientDir(t)

	sqliteDir := project(t)
	sqlite := startDev(t, sqliteDir)

	pgURL := testpg.New(t)
	ddl, err := os.ReadFile(filepath.Join("testdata", "todo-web.postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, string(ddl))
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pgDir := project(t)
	pg := startDev(t, pgDir, "--db", pgURL)

	checkGeneratedTypes(t, pg.HubURL)

	// The production data plane too: a separate stk-bridge process pulling
	// its bundles from stk dev's Hub with stk dev's bridge token.
	standalone := pg
	standalone.BridgeURL = startBridge(t, pg.HubURL, filepath.Join(pgDir, ".santokit", "bridge.token"))

	targets, err := json.Marshal([]target{
		newTarget(t, "sqlite (stk dev)", sqliteDir, sqlite),
		newTarget(t, "postgres (stk dev --db)", pgDir, pg),
		newTarget(t, "postgres (stk-bridge)", pgDir, standalone),
	})
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, []string{"STK_SDK_TARGETS=" + string(targets)}, "test/integration/")
}

// TestTodoWebBrowser serves examples/todo-web with `stk dev --web` and runs
// test/browser in headless Chromium: the page signs a user in, lists, adds
// and completes todos; CORS admits the page's origin only. Then the added
// row must be in the data database, owned by the user who typed their name.
func TestTodoWebBrowser(t *testing.T) {
	client := clientDir(t)
	dir := project(t)
	web := t.TempDir()
	src := filepath.Join(repoRoot(t), "examples", "todo-web", "web")
	for _, f := range []string{"index.html", "app.js"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(web, f))
	}
	copyFile(t, filepath.Join(client, "dist", "santokit.browser.js"), filepath.Join(web, "santokit.js"))
	info := startDev(t, dir, "--web", web, "--web-addr", "127.0.0.1:0")
	if info.WebURL == "" {
		t.Fatalf("stk dev --web printed no webUrl: %+v", info)
	}

	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no chromium on PATH: install Debian's (apt-get install --no-install-recommends chromium; .ci/run does)")
	}

	title := fmt.Sprintf("from the browser %d", time.Now().UnixNano())
	runNode(t, []string{
		"CHROMIUM=" + chromium,
		"STK_WEB_URL=" + info.WebURL, "STK_WEB_BRIDGE_URL=" + info.BridgeURL,
		"STK_WEB_USER=alice", "STK_WEB_TITLE=" + title,
	}, "test/browser/")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, ".santokit", "data.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var owner string
	var done bool
	if err := db.QueryRow(`SELECT owner, done FROM todos WHERE title = ?`, title).Scan(&owner, &done); err != nil {
		t.Fatalf("the row the page added is not in data.db: %v", err)
	}
	if owner != "alice" || !done {
		t.Errorf("row %q: owner %q, done %v; want alice, true", title, owner, done)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startBridge runs the stk-bridge binary against hubURL on a free loopback
// port until the test ends, and returns its URL once /readyz answers 200.
func startBridge(t *testing.T, hubURL, tokenFile string) string {
	t.Helper()
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "stk-bridge.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bridgeBin)
	cmd.Env = append(os.Environ(), "STK_BRIDGE_ADDR="+addr, "STK_HUB_URL="+hubURL,
		"STK_BRIDGE_TOKEN="+strings.TrimSpace(string(token)))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("stk-bridge exited:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("stk-bridge not ready after 60 s:\n%s", log)
		}
	}
}

// checkGeneratedTypes runs `stk gen types --lang ts` against the Hub of a
// stack serving examples/todo-web and compiles testdata/todo-web.check.ts
// against its output and the SDK's published types (resolved as the package
// @santokit/client through its exports), with tsc --strict.
func checkGeneratedTypes(t *testing.T, hubURL string) {
	t.Helper()
	dir := t.TempDir()
	gen := exec.Command(stkBin, "gen", "types", "--lang", "ts", "--project", "dev", "--env", "dev", "--out", filepath.Join(dir, "db.ts"))
	gen.Env = append(os.Environ(), "STK_HUB_URL="+hubURL, "HOME="+t.TempDir())
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("stk gen types: %v\n%s", err, out)
	}
	db, err := os.ReadFile(filepath.Join(dir, "db.ts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stk gen types wrote:\n%s", db)
	copyFile(t, filepath.Join("testdata", "todo-web.check.ts"), filepath.Join(dir, "check.ts"))
	scope := filepath.Join(dir, "node_modules", "@santokit")
	if err := os.MkdirAll(scope, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(clientDir(t), filepath.Join(scope, "client")); err != nil {
		t.Fatal(err)
	}
	tsconfig := `{"compilerOptions": {"strict": true, "noEmit": true, "module": "NodeNext", "moduleResolution": "NodeNext",
		"target": "ES2022", "lib": ["ES2022", "DOM"], "types": [], "skipLibCheck": true}, "files": ["check.ts"]}`
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tsc := exec.Command("node", filepath.Join(repoRoot(t), "node_modules", "typescript", "bin", "tsc"), "-p", dir)
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("tsc on the generated types: %v\n%s", err, out)
	}
}
