package dbpool

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/dbtarget"
)

// TestOpenAppliesThePolicy: the Bridge applies the Hub's rule again when it
// opens a pool, whatever a bundle says (defence in depth).
func TestOpenAppliesThePolicy(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	out := filepath.Join(outside, "other.db")
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(allowed, "link.db")); err != nil {
		t.Fatal(err)
	}
	hubStore := filepath.Join(allowed, "hub.db")
	if err := os.WriteFile(hubStore, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	targets := dbtarget.MustNew(dbtarget.Config{SQLiteDir: allowed, Protected: []string{hubStore}})
	for _, tc := range []struct {
		targets *dbtarget.Policy
		c       bundle.Connection
		reason  string
	}{
		{nil, bundle.Connection{Name: "a", Engine: SQLite, URL: "sqlite://" + filepath.Join(allowed, "x.db")}, "set STK_SQLITE_DIR"},
		{targets, bundle.Connection{Name: "b", Engine: SQLite, URL: "sqlite://" + out}, "outside STK_SQLITE_DIR"},
		{targets, bundle.Connection{Name: "c", Engine: SQLite, URL: "sqlite://" + filepath.Join(allowed, "link.db")}, "outside STK_SQLITE_DIR"},
		{targets, bundle.Connection{Name: "d", Engine: SQLite, URL: "sqlite://" + hubStore}, "uses itself"},
		{targets, bundle.Connection{Name: "e", Engine: Postgres, URL: "postgres://u:SECRETPW@/db?host=/tmp"}, "STK_ALLOW_LOCAL_SOCKETS=true"},
	} {
		p := New(Config{Targets: tc.targets})
		_, _, err := p.Acquire("p", "e", tc.c)
		var r *dbtarget.Refusal
		if !errors.As(err, &r) || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: %v; want a refusal naming %q", tc.c.Name, err, tc.reason)
		}
		if err != nil && (strings.Contains(err.Error(), "SECRETPW") || strings.Contains(err.Error(), outside)) {
			t.Errorf("%s: the error quotes the URL: %v", tc.c.Name, err)
		}
		if len(p.Stats()) != 0 {
			t.Errorf("%s: a pool was kept", tc.c.Name)
		}
		p.Close()
	}
}

// TestSQLiteOpenCreatesAndConvertsNothing: the Bridge opens existing files
// only and leaves their journal mode alone (it used to force WAL on
// whatever it opened).
func TestSQLiteOpenCreatesAndConvertsNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode=DELETE").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	if _, err := db.Exec("CREATE TABLE t (x integer)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	p := New(Config{MaxConns: 2, StatementTimeout: time.Second, Targets: dbtarget.MustNew(dbtarget.Config{SQLiteDir: dir})})
	defer p.Close()
	pool, release, err := p.Acquire("p", "e", bundle.Connection{Name: "main", Engine: SQLite, URL: "sqlite://" + path, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Write.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.Read.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read %d, %v", n, err)
	}
	if err := pool.Read.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("the Bridge changed the journal mode to %q (%v)", mode, err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("a WAL file appeared: %v", err)
	}
	release()

	missing := filepath.Join(dir, "missing.db")
	pool, release, err = p.Acquire("p", "e", bundle.Connection{Name: "other", Engine: SQLite, URL: "sqlite://" + missing, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := pool.Read.Ping(); err == nil {
		t.Fatal("a missing file opened")
	}
	if err := pool.Write.Ping(); err == nil {
		t.Fatal("a missing file opened for writing")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("the missing file was created: %v", err)
	}
}

// TestDialGuard: a host name that only a CIDR could allow is checked when
// the pool connects, on the addresses it resolves to: localhost is not in
// 10.0.0.0/8, so no connection is made.
func TestDialGuard(t *testing.T) {
	p := New(Config{Targets: dbtarget.MustNew(dbtarget.Config{AllowedHosts: "10.0.0.0/8"})})
	defer p.Close()
	pool, release, err := p.Acquire("p", "e", bundle.Connection{Name: "main", Engine: Postgres, URL: "postgres://u:SECRETPW@localhost:5432/db?connect_timeout=2"})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pool.PG.Acquire(ctx)
	var r *dbtarget.Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Reason, "STK_DB_ALLOWED_HOSTS") {
		t.Fatalf("connect: %v; want the allowed-hosts refusal", err)
	}
}

// TestSQLiteNoAttach: a statement (a logic's, SPEC §6) cannot ATTACH a file
// the policy did not check — reading a database outside STK_SQLITE_DIR on
// a pooled connection, or creating one anywhere — nor VACUUM INTO one, on
// the read (query_only) and the write pool alike.
func TestSQLiteNoAttach(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "data.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x integer)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := New(Config{MaxConns: 1, StatementTimeout: time.Second, Targets: dbtarget.MustNew(dbtarget.Config{SQLiteDir: dir})})
	defer p.Close()
	pool, release, err := p.Acquire("p", "e", bundle.Connection{Name: "main", Engine: SQLite, URL: "sqlite://" + path, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for name, db := range map[string]*sql.DB{"read": pool.Read, "write": pool.Write} {
		created := filepath.Join(outside, name+".db")
		for _, q := range []string{"ATTACH 'file:" + created + "?mode=rwc' AS o", "ATTACH '" + created + "' AS o", "VACUUM INTO '" + created + "'"} {
			rows, err := db.Query(q)
			if err == nil {
				rows.Close()
				t.Errorf("%s: %s ran", name, q)
			}
			if _, err := os.Stat(created); !os.IsNotExist(err) {
				t.Fatalf("%s: %s created a file outside STK_SQLITE_DIR (%v)", name, q, err)
			}
		}
	}
	var n int
	if err := pool.Read.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("a plain read: %v", err)
	}
	if _, err := pool.Write.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("a plain write: %v", err)
	}
}

// TestSQLitePinnedPragmas: a statement cannot change the settings the
// Bridge opens its SQLite connections with — a readonly logic that ran
// PRAGMA query_only=0 made its pooled connection writable for every later
// readonly logic (SPEC §6) — while reading a pragma still works.
func TestSQLitePinnedPragmas(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x integer)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := New(Config{MaxConns: 1, StatementTimeout: time.Second, Targets: dbtarget.MustNew(dbtarget.Config{SQLiteDir: dir})})
	defer p.Close()
	pool, release, err := p.Acquire("p", "e", bundle.Connection{Name: "main", Engine: SQLite, URL: "sqlite://" + path, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, q := range []string{"PRAGMA query_only = 0", "PRAGMA query_only(false)", "PRAGMA main.query_only=OFF", "PRAGMA foreign_keys = 0", "PRAGMA busy_timeout = 0"} {
		if rows, err := pool.Read.Query(q); err == nil {
			rows.Close()
		}
	}
	if _, err := pool.Read.Exec("INSERT INTO t VALUES (1)"); err == nil {
		t.Fatal("a pragma made the read pool writable")
	}
	var fk, busy int
	if err := pool.Read.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d, %v", fk, err)
	}
	if err := pool.Read.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 1000 {
		t.Fatalf("busy_timeout %d, %v", busy, err)
	}
	rows, err := pool.Read.Query("PRAGMA table_info(t)")
	if err != nil {
		t.Fatalf("reading a pragma: %v", err)
	}
	rows.Close()
}
