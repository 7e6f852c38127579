package introspect

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

const secretPassword = "s3cr3t-Pa55w0rd-xyzzy"

// withCreds returns rawURL with user and password set, and database db if
// db is not empty. The throwaway cluster trusts every local connection, so
// the password is sent but not needed.
func withCreds(t *testing.T, rawURL, user, db string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if user == "" {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, secretPassword)
	if db != "" {
		u.Path = "/" + db
	}
	return u.String()
}

// assertCategory checks that err is a *ProbeError of category want whose
// text is exactly the category: no password, URL, user, host or path.
func assertCategory(t *testing.T, err error, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	var pe *ProbeError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %q is not a *ProbeError", err, err)
	}
	if pe.Category != want || err.Error() != want {
		t.Fatalf("got category %q, text %q; want %q (cause: %v)", pe.Category, err.Error(), want, errors.Unwrap(err))
	}
	if Classify(err) != want {
		t.Fatalf("Classify = %q, want %q", Classify(err), want)
	}
	for _, s := range append(secrets, secretPassword) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error text %q contains %q", err.Error(), s)
		}
	}
}

func probeCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestProbePostgresOK(t *testing.T) {
	u := withCreds(t, testpg.New(t), "", "")
	v, err := Probe(probeCtx(t, 20*time.Second), testTargets, schema.EnginePostgres, u)
	if err != nil {
		t.Fatal(err)
	}
	if v == "" || !strings.ContainsAny(v[:1], "0123456789") {
		t.Fatalf("server version %q", v)
	}
}

func TestProbePostgresDatabaseDoesNotExist(t *testing.T) {
	u := withCreds(t, testpg.New(t), "", "no_such_database")
	_, err := Probe(probeCtx(t, 20*time.Second), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryNoDatabase, u, "no_such_database", "127.0.0.1")
	// Tables fails the same way.
	_, err = Tables(probeCtx(t, 20*time.Second), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryNoDatabase, u, "no_such_database", "127.0.0.1")
}

// The cluster trusts every local connection, so a wrong password cannot be
// tested; a role that may not log in and a role that does not exist are
// refused with SQLSTATE 28000 the same way.
func TestProbePostgresAuthenticationFailed(t *testing.T) {
	base := testpg.New(t)
	ctx := probeCtx(t, 20*time.Second)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE stk_nologin_role NOLOGIN PASSWORD '"+secretPassword+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS stk_nologin_role")
		_ = conn.Close(ctx)
	})
	for _, user := range []string{"stk_nologin_role", "stk_no_such_role"} {
		u := withCreds(t, base, user, "")
		_, err := Probe(probeCtx(t, 20*time.Second), testTargets, schema.EnginePostgres, u)
		assertCategory(t, err, CategoryAuth, u, user)
	}
}

func TestProbePostgresRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	u := "postgres://someone:" + secretPassword + "@" + addr + "/db"
	_, err = Probe(probeCtx(t, 10*time.Second), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryRefused, u, addr, "someone")
}

func TestProbePostgresUnknownHost(t *testing.T) {
	u := "postgres://someone:" + secretPassword + "@no-such-host.invalid:5432/db"
	_, err := Probe(probeCtx(t, 10*time.Second), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryUnknownHost, u, "no-such-host", "someone")
}

// A server that accepts and never answers: the probe ends at the context's
// deadline with "timeout".
func TestProbePostgresTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	u := "postgres://someone:" + secretPassword + "@" + l.Addr().String() + "/db"
	start := time.Now()
	_, err = Probe(probeCtx(t, 300*time.Millisecond), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryTimeout, u, l.Addr().String())
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("probe took %v", d)
	}
}

// The test server has no TLS: sslmode=require fails as a TLS error.
func TestProbePostgresTLS(t *testing.T) {
	pu, err := url.Parse(withCreds(t, testpg.New(t), "", ""))
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("sslmode", "require")
	pu.RawQuery = q.Encode()
	u := pu.String()
	_, err = Probe(probeCtx(t, 20*time.Second), testTargets, schema.EnginePostgres, u)
	assertCategory(t, err, CategoryTLS, u)
}

func TestProbeInvalidURL(t *testing.T) {
	for _, u := range []string{
		"postgres://someone:" + secretPassword + "@127.0.0.1:5432/db?passfile=/etc/passwd",
		"postgres://someone:" + secretPassword + "@127.0.0.1:5432/db?servicefile=/tmp/x&service=y",
		"mysql://someone:" + secretPassword + "@127.0.0.1/db",
		"postgres://someone:" + secretPassword + "@[::1/db",
		"postgres://someone:" + secretPassword + "@127.0.0.1:notaport/db",
	} {
		_, err := Probe(probeCtx(t, 5*time.Second), testTargets, schema.EnginePostgres, u)
		assertCategory(t, err, CategoryInvalidURL, u, "someone")
		_, err = Tables(probeCtx(t, 5*time.Second), testTargets, schema.EnginePostgres, u)
		assertCategory(t, err, CategoryInvalidURL, u, "someone")
	}
	for _, u := range []string{"sqlite://", "/tmp/x.db", "file:/tmp/x.db"} {
		_, err := Probe(probeCtx(t, 5*time.Second), testTargets, schema.EngineSQLite, u)
		assertCategory(t, err, CategoryInvalidURL, u)
	}
	_, err := Probe(probeCtx(t, 5*time.Second), testTargets, "mysql", "mysql://x")
	assertCategory(t, err, CategoryUnsupportedEngine)
	_, err = Tables(probeCtx(t, 5*time.Second), testTargets, "mysql", "mysql://x")
	assertCategory(t, err, CategoryUnsupportedEngine)
}

func TestProbeSQLite(t *testing.T) {
	u := sqliteFile(t, `CREATE TABLE a (id INTEGER PRIMARY KEY)`)
	v, err := Probe(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "SQLite 3.") {
		t.Fatalf("server version %q", v)
	}
}

// A missing file is an error and is not created, by Probe or by Tables.
func TestProbeSQLiteFileNotFound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing-"+secretPassword+".db")
	u := "sqlite://" + path
	_, err := Probe(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, u)
	assertCategory(t, err, CategoryFileNotFound, path)
	_, err = Tables(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, u)
	assertCategory(t, err, CategoryFileNotFound, path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file was created: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("%d files created", len(entries))
	}
}

func TestProbeSQLiteNotADatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Probe(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, "sqlite://"+path)
	assertCategory(t, err, CategoryNotADatabase, path)
	_, err = Tables(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, "sqlite://"+path)
	assertCategory(t, err, CategoryNotADatabase, path)
	_, err = Probe(probeCtx(t, 10*time.Second), testTargets, schema.EngineSQLite, "sqlite://"+dir)
	assertCategory(t, err, CategoryNotADatabase, dir)
}

// testTargets allows every SQLite file of the tests' temporary directories
// and any TCP host: the rules themselves are dbtarget's tests.
var testTargets = dbtarget.MustNew(dbtarget.Config{SQLiteDir: "/"})

// TestPolicyRefusals: what the policy refuses is never opened, and the
// refusal is CategoryNotAllowed unwrapping to the policy's reason.
func TestPolicyRefusals(t *testing.T) {
	inside, outside := t.TempDir(), t.TempDir()
	for _, d := range []string{inside, outside} {
		if err := os.WriteFile(filepath.Join(d, "a.db"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	targets := dbtarget.MustNew(dbtarget.Config{SQLiteDir: inside, AllowedHosts: "10.0.0.0/8"})
	for _, c := range []struct{ engine, url, reason string }{
		{schema.EngineSQLite, "sqlite://" + filepath.Join(outside, "a.db"), "outside STK_SQLITE_DIR"},
		{schema.EnginePostgres, "postgres://u:" + secretPassword + "@/db?host=/tmp", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{schema.EnginePostgres, "postgres://u:" + secretPassword + "@127.0.0.1:1/db", "STK_DB_ALLOWED_HOSTS"},
	} {
		_, err := Probe(probeCtx(t, 5*time.Second), targets, c.engine, c.url)
		assertCategory(t, err, CategoryNotAllowed, outside)
		_, err = Tables(probeCtx(t, 5*time.Second), targets, c.engine, c.url)
		assertCategory(t, err, CategoryNotAllowed, outside)
		var r *dbtarget.Refusal
		if !errors.As(err, &r) || !strings.Contains(r.Reason, c.reason) {
			t.Fatalf("%s: %v does not unwrap to a refusal naming %q", c.url, err, c.reason)
		}
	}
}
