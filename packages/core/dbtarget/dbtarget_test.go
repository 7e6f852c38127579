package dbtarget

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteFixture lays out a SQLite dir with a database, a symlinked
// subdirectory, symlinks in and out, and a "Hub store" beside it whose hard
// link sits inside the dir.
type sqliteFixture struct {
	root, dir, outside, store, key string
}

func newSQLiteFixture(t *testing.T) sqliteFixture {
	t.Helper()
	root := t.TempDir()
	f := sqliteFixture{root: root, dir: filepath.Join(root, "data"), outside: filepath.Join(root, "outside.db"),
		store: filepath.Join(root, "hub", "hub.db"), key: filepath.Join(root, "data", "master.key")}
	for _, d := range []string{f.dir, filepath.Join(root, "hub"), filepath.Join(root, "real-sub")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for _, file := range []string{filepath.Join(f.dir, "app.db"), f.outside, f.store, f.store + "-wal", f.key,
		filepath.Join(root, "real-sub", "x.db"), filepath.Join(f.dir, "hubcopy.db-wal")} {
		must(t, os.WriteFile(file, nil, 0o600))
	}
	must(t, os.Symlink(filepath.Join(root, "real-sub"), filepath.Join(f.dir, "sub-out")))
	must(t, os.MkdirAll(filepath.Join(f.dir, "inner"), 0o755))
	must(t, os.Symlink(filepath.Join(f.dir, "inner"), filepath.Join(f.dir, "sub-in")))
	must(t, os.WriteFile(filepath.Join(f.dir, "inner", "y.db"), nil, 0o600))
	must(t, os.Symlink(f.outside, filepath.Join(f.dir, "link-out.db")))
	must(t, os.Symlink(filepath.Join(f.dir, "app.db"), filepath.Join(f.dir, "link-in.db")))
	must(t, os.Symlink(f.store, filepath.Join(f.dir, "link-store.db")))
	must(t, os.Symlink(filepath.Join(root, "nowhere.db"), filepath.Join(f.dir, "dangling.db")))
	must(t, os.Link(f.store, filepath.Join(f.dir, "hardlink.db")))
	must(t, os.Link(f.store+"-wal", filepath.Join(f.dir, "hardlink-wal.db")))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSQLitePath(t *testing.T) {
	f := newSQLiteFixture(t)
	// The dir itself is reached through a symlink: it is resolved.
	dirLink := filepath.Join(f.root, "data-link")
	must(t, os.Symlink(f.dir, dirLink))
	p := MustNew(Config{SQLiteDir: dirLink, Protected: []string{f.store, f.key}})
	t.Chdir(f.dir)

	ok := func(want string) string { return want }
	cases := []struct {
		name, url string
		want      string // resolved path; "" means refused
		reason    string // a part of the refusal
	}{
		{"plain", "sqlite://" + filepath.Join(f.dir, "app.db"), ok(filepath.Join(f.dir, "app.db")), ""},
		{"relative to the working directory", "sqlite://./app.db", filepath.Join(f.dir, "app.db"), ""},
		{"through the dir's symlink", "sqlite://" + filepath.Join(dirLink, "app.db"), filepath.Join(f.dir, "app.db"), ""},
		{"not created yet", "sqlite://" + filepath.Join(f.dir, "new.db"), filepath.Join(f.dir, "new.db"), ""},
		{"symlinked dir inside", "sqlite://" + filepath.Join(f.dir, "sub-in", "y.db"), filepath.Join(f.dir, "inner", "y.db"), ""},
		{"symlinked file inside", "sqlite://" + filepath.Join(f.dir, "link-in.db"), filepath.Join(f.dir, "app.db"), ""},
		{"dot-dot out", "sqlite://" + f.dir + "/../outside.db", "", "outside STK_SQLITE_DIR"},
		{"dot-dot back in", "sqlite://" + f.dir + "/inner/../app.db", filepath.Join(f.dir, "app.db"), ""},
		{"absolute outside", "sqlite://" + f.outside, "", "outside STK_SQLITE_DIR"},
		{"the Hub store", "sqlite://" + f.store, "", "outside STK_SQLITE_DIR"},
		{"symlinked dir out", "sqlite://" + filepath.Join(f.dir, "sub-out", "x.db"), "", "outside STK_SQLITE_DIR"},
		{"symlinked file out", "sqlite://" + filepath.Join(f.dir, "link-out.db"), "", "outside STK_SQLITE_DIR"},
		{"symlink to the store", "sqlite://" + filepath.Join(f.dir, "link-store.db"), "", "outside STK_SQLITE_DIR"},
		{"dangling symlink", "sqlite://" + filepath.Join(f.dir, "dangling.db"), "", "symlink"},
		{"hard link to the store", "sqlite://" + filepath.Join(f.dir, "hardlink.db"), "", "uses itself"},
		{"hard link to the store's WAL", "sqlite://" + filepath.Join(f.dir, "hardlink-wal.db"), "", "uses itself"},
		{"protected key file inside the dir", "sqlite://" + f.key, "", "uses itself"},
		{"its WAL by name", "sqlite://" + f.key + "-wal", "", "journal"},
		{"-wal name", "sqlite://" + filepath.Join(f.dir, "hubcopy.db-wal"), "", "journal"},
		{"-shm name", "sqlite://" + filepath.Join(f.dir, "app.db-shm"), "", "journal"},
		{"-journal name", "sqlite://" + filepath.Join(f.dir, "app.db-journal"), "", "journal"},
		{"missing directory inside", "sqlite://" + filepath.Join(f.dir, "no", "x.db"), "", "does not exist"},
		{"missing directory outside", "sqlite://" + filepath.Join(f.root, "no", "x.db"), "", "outside STK_SQLITE_DIR"},
		{"query vfs", "sqlite://" + filepath.Join(f.dir, "app.db") + "?vfs=memdb", "", "without ?options"},
		{"query mode", "sqlite://./app.db?mode=memory", "", "without ?options"},
		{"fragment", "sqlite://./app.db#x", "", "without ?options"},
		{"file URI", "sqlite://file:" + filepath.Join(f.dir, "app.db"), "", "file: URIs"},
		{"memory", "sqlite://:memory:", "", "in-memory"},
		{"NUL", "sqlite://./app.db\x00x", "", "without ?options"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.SQLitePath(c.url)
			if c.want != "" {
				if err != nil || got != c.want {
					t.Fatalf("SQLitePath = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("SQLitePath = %q, %v; want a refusal naming %q", got, err, c.reason)
			}
			if strings.Contains(err.Error(), f.root) {
				t.Fatalf("the refusal %q quotes the path", err)
			}
		})
	}
	for _, u := range []string{"postgres://x", "sqlite://", "/tmp/x.db"} {
		if _, err := p.SQLitePath(u); !errors.Is(err, ErrInvalidURL) {
			t.Fatalf("SQLitePath(%q) = %v; want ErrInvalidURL", u, err)
		}
	}
}

func TestSQLiteRefusedWithoutDir(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "a.db"), nil, 0o600))
	for _, p := range []*Policy{{}, nil, MustNew(Config{})} {
		_, err := p.SQLitePath("sqlite://" + filepath.Join(dir, "a.db"))
		var r *Refusal
		if !errors.As(err, &r) || !strings.Contains(r.Reason, "set STK_SQLITE_DIR") {
			t.Fatalf("got %v, want a refusal saying how to allow SQLite", err)
		}
		if err := p.Check(context.Background(), "postgres", "postgres://u@/db?host=/tmp"); !errors.As(err, &r) {
			t.Fatalf("a socket: %v", err)
		}
		if err := p.Check(context.Background(), "postgres", "postgres://u@db.example.com/db"); err != nil {
			t.Fatalf("a TCP host: %v", err)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	must(t, os.WriteFile(file, nil, 0o600))
	for _, c := range []Config{
		{SQLiteDir: filepath.Join(dir, "missing")},
		{SQLiteDir: file},
		{AllowedHosts: "db.example.com, not a host"},
		{AllowedHosts: "10.0.0.0/33"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	env := map[string]string{"STK_SQLITE_DIR": dir, "STK_ALLOW_LOCAL_SOCKETS": "true", "STK_DB_ALLOWED_HOSTS": "db.example.com,10.0.0.0/8"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.SQLiteDir != dir || !c.AllowLocalSockets || c.AllowedHosts != env["STK_DB_ALLOWED_HOSTS"] {
		t.Fatalf("ConfigFromEnv = %+v, %v", c, err)
	}
	env["STK_ALLOW_LOCAL_SOCKETS"] = "yes please"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "STK_ALLOW_LOCAL_SOCKETS") {
		t.Fatalf("a bad boolean: %v", err)
	}
}

// fakeDNS answers host names from a table; it counts lookups.
func fakeDNS(table map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]string, error) {
		if a, ok := table[host]; ok {
			return a, nil
		}
		if _, err := net.ResolveIPAddr("ip", host); err == nil && net.ParseIP(host) != nil {
			return []string{host}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

func TestPostgresHosts(t *testing.T) {
	t.Setenv("PGHOST", "")
	dns := fakeDNS(map[string][]string{
		"db.internal":   {"10.1.2.3"},
		"rebind.test":   {"10.9.9.9", "169.254.169.254"},
		"outside.test":  {"192.0.2.7"},
		"listed.test":   {"198.51.100.1"},
		"db6.internal":  {"fd00::5"},
		"localhost":     {"127.0.0.1"},
		"prod.internal": {"10.2.0.1"},
	})
	open := &Policy{lookup: dns}
	sockets := &Policy{lookup: dns, localSockets: true}
	restricted := MustNew(Config{AllowedHosts: "listed.test, 10.0.0.0/8, fd00::/8, 203.0.113.9"})
	restricted.lookup = dns

	cases := []struct {
		name   string
		p      *Policy
		url    string
		reason string // "" allowed
	}{
		{"tcp host", open, "postgres://u:pw@db.internal:5432/app", ""},
		{"socket in host param", open, "postgres://u@/app?host=/var/run/postgresql", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"socket path escaped in the host part", open, "postgres://u@%2Fvar%2Frun%2Fpostgresql/app", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"no host at all", open, "postgres:///app", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"socket as a fallback", open, "postgres://u@db.internal:5432,%2Ftmp:5432/app", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"socket host param overrides", open, "postgres://u@db.internal/app?host=/tmp", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"sockets allowed", sockets, "postgres://u@/app?host=/var/run/postgresql", ""},
		{"listed name", restricted, "postgres://u:pw@listed.test/app", ""},
		{"listed name, case", restricted, "postgres://u:pw@LISTED.test./app", ""},
		{"name in a CIDR", restricted, "postgres://u:pw@db.internal/app", ""},
		{"IPv6 name in a CIDR", restricted, "postgres://u:pw@db6.internal/app", ""},
		{"address in a CIDR", restricted, "postgres://u:pw@10.0.0.1/app", ""},
		{"listed address", restricted, "postgres://u:pw@203.0.113.9/app", ""},
		{"IPv6 literal in a CIDR", restricted, "postgres://u:pw@[fd00::1]:5432/app", ""},
		{"address outside", restricted, "postgres://u:pw@192.0.2.7/app", "STK_DB_ALLOWED_HOSTS"},
		{"name outside", restricted, "postgres://u:pw@outside.test/app", "STK_DB_ALLOWED_HOSTS"},
		{"name partly outside", restricted, "postgres://u:pw@rebind.test/app", "STK_DB_ALLOWED_HOSTS"},
		{"unknown name", restricted, "postgres://u:pw@nxdomain.test/app", "STK_DB_ALLOWED_HOSTS"},
		{"fallback outside", restricted, "postgres://u:pw@listed.test,outside.test/app", "STK_DB_ALLOWED_HOSTS"},
		{"loopback not listed", restricted, "postgres://u:pw@127.0.0.1/app", "STK_DB_ALLOWED_HOSTS"},
		{"socket with a list", restricted, "postgres://u@/app?host=/tmp", "STK_ALLOW_LOCAL_SOCKETS=true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.p.Postgres(context.Background(), c.url)
			if err == nil && c.reason != "" {
				// A name left to the dial-time guard: its lookup refuses.
				for _, h := range append([]*pgconn.FallbackConfig{{Host: cfg.Host}}, cfg.Fallbacks...) {
					if _, lerr := cfg.LookupFunc(context.Background(), h.Host); lerr != nil {
						err = lerr
						break
					}
				}
			}
			checkErr := c.p.Check(context.Background(), "postgres", c.url)
			if c.reason == "" {
				if err != nil || checkErr != nil {
					t.Fatalf("Postgres: %v, Check: %v; want allowed", err, checkErr)
				}
				return
			}
			for _, e := range []error{err, checkErr} {
				var r *Refusal
				if !errors.As(e, &r) || !strings.Contains(r.Reason, c.reason) {
					t.Fatalf("got %v; want a refusal naming %q", e, c.reason)
				}
				if strings.Contains(e.Error(), "pw") || strings.Contains(e.Error(), ".test") || strings.Contains(e.Error(), "internal") {
					t.Fatalf("the refusal %q quotes the url", e)
				}
			}
		})
	}
	// The same message whatever the reason: nothing is learnt of the host.
	var msgs []string
	for _, u := range []string{"postgres://u@192.0.2.7/a", "postgres://u@outside.test/a", "postgres://u@nxdomain.test/a", "postgres://u@rebind.test/a"} {
		msgs = append(msgs, restricted.Check(context.Background(), "postgres", u).Error())
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Fatalf("refusals differ: %q", msgs)
		}
	}
	for _, u := range []string{"host=db.internal dbname=app", "mysql://x", "postgres://u@h/db?sslkey=/etc/shadow", "postgres://u@h/db?passfile=/x"} {
		if err := open.Check(context.Background(), "postgres", u); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Check(%q) = %v; want ErrInvalidURL", u, err)
		}
	}
}

// TestPostgresPasswordFromURLOnly: the server's PGPASSWORD never goes to a
// host the URL names.
func TestPostgresPasswordFromURLOnly(t *testing.T) {
	t.Setenv("PGPASSWORD", "server-secret")
	var p Policy
	for url, want := range map[string]string{
		"postgres://u@db.internal/app":              "",
		"postgres://u:own@db.internal/app":          "own",
		"postgres://u@db.internal/app?password=q":   "q",
		"postgres://u@db.internal,db2.internal/app": "",
	} {
		cfg, err := p.Postgres(context.Background(), url)
		if err != nil || cfg.Password != want {
			t.Errorf("%s: password %q, %v; want %q", url, cfg.Password, err, want)
		}
	}
}

// TestPostgresDialGuard: a name whose DNS answer moves outside the allowed
// networks after the check (rebinding) is refused when pgx dials it, with
// the same refusal, and no connection is attempted.
func TestPostgresDialGuard(t *testing.T) {
	answers := map[string][]string{"flip.test": {"10.0.0.7"}}
	p := MustNew(Config{AllowedHosts: "10.0.0.0/8"})
	p.lookup = fakeDNS(answers)
	cfg, err := p.Postgres(context.Background(), "postgres://u:pw@flip.test:5432/app?connect_timeout=2")
	if err != nil {
		t.Fatalf("Postgres: %v", err)
	}
	answers["flip.test"] = []string{"127.0.0.1"}
	addrs, err := cfg.LookupFunc(context.Background(), "flip.test")
	var r *Refusal
	if !errors.As(err, &r) || len(addrs) != 0 {
		t.Fatalf("lookup after rebinding = %v, %v; want a refusal", addrs, err)
	}
	// The dialer refuses an address no lookup approved, and sockets.
	if _, err := cfg.DialFunc(context.Background(), "tcp", "127.0.0.1:5432"); !errors.As(err, &r) {
		t.Fatalf("dial of an unapproved address: %v", err)
	}
	if _, err := cfg.DialFunc(context.Background(), "unix", "/tmp/.s.PGSQL.5432"); !errors.As(err, &r) {
		t.Fatalf("dial of a socket: %v", err)
	}
	// Through pgx: the refusal surfaces from Connect, unchanged.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgconn.ConnectConfig(ctx, &cfg.Config)
	if !errors.As(err, &r) || r.Reason != notAllowed().Reason {
		t.Fatalf("ConnectConfig = %v; want the allowed-hosts refusal", err)
	}
}
