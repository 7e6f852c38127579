// Package testpg gives tests a real PostgreSQL database (ARCHITECTURE §4).
// With STK_TEST_DATABASE_URL set, each test gets a new database on that
// server; otherwise the first caller starts a throwaway cluster (initdb +
// pg_ctl on a free loopback port, as the postgres user when running as root)
// that Main stops when the test binary ends. Missing server binaries fail the
// test with instructions: they never skip it.
package testpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is the process-wide throwaway server. Tests of one binary share
// it; every test still gets a database of its own.
type cluster struct {
	once    sync.Once
	err     error
	baseURL string // postgres://user@127.0.0.1:port/
	dataDir string
	root    string
	pgctl   string
	asUser  string
	opts    string // pg_ctl start -o
}

var (
	shared  cluster
	counter atomic.Int64
)

// Main runs the tests and then stops the cluster, if one was started. Call it
// from TestMain: os.Exit(testpg.Main(m)) is done for you.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop shuts the throwaway cluster down (no-op when none runs).
func Stop() {
	if shared.dataDir == "" {
		return
	}
	_ = runAs(shared.asUser, shared.pgctl, "stop", "-D", shared.dataDir, "-m", "immediate", "-w")
	_ = os.RemoveAll(shared.root)
}

// New returns the URL of a new, empty database for this test.
func New(t testing.TB) string {
	t.Helper()
	base, err := ServerURL()
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, withDB(base, "postgres"))
	if err != nil {
		t.Fatalf("testpg: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, withDB(base, "postgres"))
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return withDB(base, name)
}

// ServerURL returns the URL of the server (database part empty), starting
// the throwaway cluster on first use when STK_TEST_DATABASE_URL is unset.
func ServerURL() (string, error) {
	if u := os.Getenv("STK_TEST_DATABASE_URL"); u != "" {
		return u, nil
	}
	shared.once.Do(func() { shared.err = shared.start(false) })
	return shared.baseURL, shared.err
}

func withDB(base, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + db
	return u.String()
}

// binDir finds the PostgreSQL server binaries.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found: install them " +
		"(Debian: apt-get install postgresql) or set STK_TEST_DATABASE_URL to a server you run")
}

// start creates and starts the cluster. durable keeps synchronous_commit
// on, so that a commit survives an immediate shutdown (fault tests count
// committed rows across one); the shared cluster trades that for speed.
func (c *cluster) start(durable bool) error {
	dir, err := binDir()
	if err != nil {
		return err
	}
	c.pgctl = filepath.Join(dir, "pg_ctl")
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		if _, err := user.Lookup("postgres"); err != nil {
			return errors.New("running as root and no postgres user exists to own the test cluster")
		}
		c.asUser = "postgres"
	}
	root, err := os.MkdirTemp("", "stk-testpg-")
	if err != nil {
		return err
	}
	c.root = root
	if err := os.Chmod(root, 0o777); err != nil {
		return err
	}
	data := filepath.Join(root, "data")
	dbUser := "postgres"
	if c.asUser == "" {
		if u, err := user.Current(); err == nil {
			dbUser = u.Username
		}
	}
	if err := runAs(c.asUser, filepath.Join(dir, "initdb"), "-D", data, "-U", dbUser,
		"-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off -c max_connections=200", port, root)
	if !durable {
		c.opts += " -c synchronous_commit=off"
	}
	c.dataDir = data
	if err := c.pgStart(); err != nil {
		c.dataDir = ""
		return err
	}
	c.baseURL = fmt.Sprintf("postgres://%s@127.0.0.1:%d/?sslmode=disable", url.User(dbUser).String(), port)
	return nil
}

func (c *cluster) pgStart() error {
	if err := runAs(c.asUser, c.pgctl, "start", "-D", c.dataDir, "-w", "-t", "60", "-l", filepath.Join(c.root, "log"), "-o", c.opts); err != nil {
		logText, _ := os.ReadFile(filepath.Join(c.root, "log"))
		return fmt.Errorf("pg_ctl start: %w\n%s", err, logText)
	}
	return nil
}

// Cluster is a PostgreSQL server of one test's own, for fault tests that
// stop and restart it under load (the shared server must stay up for the
// other tests). It listens on a fixed loopback port across restarts and
// is removed when the test ends. Each costs an initdb: use sparingly.
type Cluster struct{ c *cluster }

// NewCluster starts a private cluster for t (durable commits: see start).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &cluster{}
	if err := c.start(true); err != nil {
		_ = os.RemoveAll(c.root)
		t.Fatalf("testpg: %v", err)
	}
	t.Cleanup(func() {
		_ = runAs(c.asUser, c.pgctl, "stop", "-D", c.dataDir, "-m", "immediate", "-w")
		_ = os.RemoveAll(c.root)
	})
	return &Cluster{c}
}

// URL is the URL of database db on the cluster.
func (c *Cluster) URL(db string) string { return withDB(c.c.baseURL, db) }

// Stop shuts the server down: mode "fast" (clients disconnected, a clean
// shutdown) or "immediate" (as a crash).
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if err := runAs(c.c.asUser, c.c.pgctl, "stop", "-D", c.c.dataDir, "-m", mode, "-w", "-t", "60"); err != nil {
		t.Fatalf("testpg: %v", err)
	}
}

// Start starts the server again on the same port after Stop.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.c.pgStart(); err != nil {
		t.Fatalf("testpg: %v", err)
	}
}

func runAs(asUser, bin string, args ...string) error {
	var cmd *exec.Cmd
	if asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", asUser, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args[:1], " "), err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return strconv.Atoi(strings.TrimPrefix(l.Addr().String(), "127.0.0.1:"))
}
