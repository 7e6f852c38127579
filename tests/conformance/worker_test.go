//go:build worker

// The Workers runtime (SPEC §16) against the same cases: the Worker built
// by `npm run build` in packages/worker runs in workerd (npm), configured
// like a deployment — the Hub's URL and the bridge token as bindings, the
// data database behind an emulated Hyperdrive binding (workerd's hyperdrive
// binding to an external TCP service on loopback) — and every postgres case
// is posted to it instead of the Bridge. SQLite cases are the Bridge's
// only: the Worker answers a SQLite connection 503 (worker_bundle_test.go
// checks that). `make test-worker` builds the Worker and runs this file
// (the build tag keeps `go test ./...` from needing Node).
package conformance

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is where node_modules and packages/worker/dist are.
const repoRoot = "../.."

func TestWorkerConformance(t *testing.T) {
	cases := loadCases(t)
	st := setup(t, "postgres")
	st.bridge = startWorker(t, st, nil)
	st.waitServing(t, st.keys["reader"])
	st.waitServing(t, st.keys["other"])
	var passed, failed []string
	for _, c := range cases {
		if !c.runsOn("postgres") {
			continue
		}
		ok := t.Run(c.id(), func(t *testing.T) {
			st.reset(t)
			st.run(t, c)
		})
		if ok {
			passed = append(passed, c.id())
		} else {
			failed = append(failed, c.id())
		}
	}
	sort.Strings(failed)
	for _, f := range failed {
		t.Logf("failed on the Worker: %s", f)
	}
	// The line `make test-worker` prints (and CI reads).
	fmt.Printf("worker: %d passed, %d failed\n", len(passed), len(failed))
}

// workerOptions are STK_* bindings that override startWorker's defaults.
type workerOptions map[string]string

// startWorker runs the built Worker in workerd against st's Hub and data
// database and returns its base URL. The process ends with the test.
func startWorker(t *testing.T, st *stack, opts workerOptions) string {
	t.Helper()
	return startWorkerHub(t, st, st.hub.base, opts)
}

func startWorkerHub(t *testing.T, st *stack, hubURL string, opts workerOptions) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(repoRoot, "node_modules", ".bin", "workerd"))
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(repoRoot, "packages", "worker", "dist")
	for _, f := range []string{bin, filepath.Join(dist, "worker.js"), filepath.Join(dist, "plan.wasm")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is missing: run `make test-worker` (npm ci, then npm run build in packages/worker): %v", f, err)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"worker.js", "plan.wasm"} {
		b, err := os.ReadFile(filepath.Join(dist, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"STK_HUB_URL":           hubURL,
		"STK_BRIDGE_TOKEN":      bridgeToken,
		"STK_STATEMENT_TIMEOUT": "1s",
		"STK_MAX_AFFECTED":      "3",
		"STK_MAX_LIMIT":         "50",
		"STK_MAX_BATCH":         "10",
		"STK_MAX_BODY_BYTES":    "65536",
	}
	for k, v := range opts {
		vars[k] = v
	}
	pg, err := url.Parse(st.dataURL)
	if err != nil {
		t.Fatal(err)
	}
	var hyperdrive string
	if pg.Scheme == "postgres" || pg.Scheme == "postgresql" {
		pass, _ := pg.User.Password()
		hyperdrive = hyperdriveBinding("HYPERDRIVE_MAIN", "pg", strings.TrimPrefix(pg.Path, "/"), pg.User.Username(), pass)
	}
	config := workerdConfig(vars, pg.Host, hyperdrive)
	if err := os.WriteFile(filepath.Join(dir, "config.capnp"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	// workerd serves on a listener opened here (--socket-fd): no port race.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	cmd := exec.Command(bin, "serve", "config.capnp", "--socket-fd", "http=3")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{lf}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("workerd: %v", err)
	}
	lf.Close()
	l.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() || testing.Verbose() && os.Getenv("STK_CONFORMANCE_LOGS") != "" {
			t.Logf("workerd output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd did not serve /healthz within 20s (%v); output:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hyperdriveBinding is an emulated Hyperdrive binding: workerd hands the
// Worker a connection string whose host it routes to the service named by
// designator (here the data database's address).
func hyperdriveBinding(name, designator, database, user, password string) string {
	q := strconv.Quote
	return fmt.Sprintf("    (name = %s, hyperdrive = (designator = %s, database = %s, user = %s, password = %s, scheme = \"postgresql\")),\n",
		q(name), q(designator), q(database), q(user), q(password))
}

// workerdConfig is a workerd configuration for the Worker: the bindings a
// wrangler.toml would give it, and a Hyperdrive binding to pgAddr (none
// when hyperdrive is empty).
func workerdConfig(vars map[string]string, pgAddr, hyperdrive string) string {
	q := strconv.Quote
	var b strings.Builder
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "    (name = %s, text = %s),\n", q(k), q(vars[k]))
	}
	b.WriteString(hyperdrive)
	pgService := ""
	if hyperdrive != "" {
		pgService = `    (name = "pg", external = (address = ` + q(pgAddr) + `, tcp = ())),
`
	}
	return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The Hub and the issuers' JWKS are on loopback in tests.
    (name = "internet", network = (allow = ["public", "private", "local"])),
` + pgService + `  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "plan.wasm", wasm = embed "plan.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
` + b.String() + `  ],
);
`
}

// lockedBuffer collects a process's output for failure messages.
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
