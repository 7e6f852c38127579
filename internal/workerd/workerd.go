// Package workerd runs the Santokit Worker (packages/worker, SPEC §16) in
// workerd, Cloudflare's runtime from npm, for tests and benchmarks: the
// built dist/worker.js and dist/plan.wasm, the STK_* settings as text
// bindings, and a Hyperdrive binding per PostgreSQL connection emulated by
// workerd itself — its `hyperdrive` binding hands the Worker a connection
// string whose host workerd routes to an external TCP service, here the
// database's loopback address. Outbound fetches may reach loopback (the
// Hub and token issuers of tests).
package workerd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure one Worker process.
type Options struct {
	// Root is the repository root (node_modules/.bin/workerd and
	// packages/worker/dist are found under it).
	Root string
	// Vars are the text bindings (STK_HUB_URL, STK_BRIDGE_TOKEN, …).
	Vars map[string]string
	// Hyperdrive maps a connection name to a PostgreSQL URL: the Worker
	// gets HYPERDRIVE_<NAME> for it.
	Hyperdrive map[string]string
	// Dir is a scratch directory for the configuration and modules.
	Dir string
}

// Process is a running workerd.
type Process struct {
	URL  string // http://127.0.0.1:port
	Pid  int
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// Start writes the configuration, starts workerd on a listener opened here
// (--socket-fd: no port race) and waits until /healthz answers.
func Start(o Options) (*Process, error) {
	bin, err := filepath.Abs(filepath.Join(o.Root, "node_modules", ".bin", "workerd"))
	if err != nil {
		return nil, err
	}
	dist := filepath.Join(o.Root, "packages", "worker", "dist")
	for _, f := range []string{bin, filepath.Join(dist, "worker.js"), filepath.Join(dist, "plan.wasm")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s is missing: run npm ci, then npm run build --workspace packages/worker (make test-worker does both): %w", f, err)
		}
	}
	for _, f := range []string{"worker.js", "plan.wasm"} {
		b, err := os.ReadFile(filepath.Join(dist, f))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(o.Dir, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	config, err := Config(o.Vars, o.Hyperdrive)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "config.capnp"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	lf, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	p := &Process{URL: "http://" + l.Addr().String(), logs: &lockedBuffer{}}
	p.cmd = exec.Command(bin, "serve", "config.capnp", "--socket-fd", "http=3")
	p.cmd.Dir = o.Dir
	p.cmd.ExtraFiles = []*os.File{lf}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("workerd: %w", err)
	}
	p.Pid = p.cmd.Process.Pid
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := client.Get(p.URL + "/healthz")
		if err == nil {
			// Any answer means workerd serves the Worker: a configured one
			// says 200, a misconfigured one 503 (which tests look at).
			res.Body.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("workerd did not serve /healthz within 20s (%v); output:\n%s", err, p.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the process.
func (p *Process) Stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// Logs is what workerd printed (the Worker's console included).
func (p *Process) Logs() string { return p.logs.String() }

// Config is the workerd configuration: the bindings a wrangler.toml would
// give the Worker, and one emulated Hyperdrive binding per connection.
func Config(vars map[string]string, hyperdrive map[string]string) (string, error) {
	q := strconv.Quote
	var bindings, services strings.Builder
	for _, k := range sortedKeys(vars) {
		fmt.Fprintf(&bindings, "    (name = %s, text = %s),\n", q(k), q(vars[k]))
	}
	for i, name := range sortedKeys(hyperdrive) {
		u, err := url.Parse(hyperdrive[name])
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return "", errors.New("workerd: a Hyperdrive binding needs a postgres:// URL with a host")
		}
		pass, _ := u.User.Password()
		svc := "db" + strconv.Itoa(i)
		fmt.Fprintf(&bindings, "    (name = %s, hyperdrive = (designator = %s, database = %s, user = %s, password = %s, scheme = \"postgresql\")),\n",
			q("HYPERDRIVE_"+strings.ToUpper(name)), q(svc), q(strings.TrimPrefix(u.Path, "/")), q(u.User.Username()), q(pass))
		fmt.Fprintf(&services, "    (name = %s, external = (address = %s, tcp = ())),\n", q(svc), q(u.Host))
	}
	return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Tests reach the Hub and token issuers on loopback.
    (name = "internet", network = (allow = ["public", "private", "local"])),
` + services.String() + `  ],
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
` + bindings.String() + `  ],
);
`, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lockedBuffer collects a process's output.
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
