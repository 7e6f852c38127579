package dbpool

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/dbtarget"
)

// anywhere allows SQLite files in every temporary directory of the tests
// that are not about the policy.
var anywhere = dbtarget.MustNew(dbtarget.Config{SQLiteDir: "/"})

func sqliteFile(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (x integer)"); err != nil {
		t.Fatal(err)
	}
	return "sqlite://" + path
}

// Pools are created on first use, replaced when the connection changes,
// and a replaced pool closes when its last lease ends.
func TestPoolLifecycle(t *testing.T) {
	p := New(Config{MaxConns: 3, StatementTimeout: time.Second, Targets: anywhere})
	c1 := bundle.Connection{Name: "main", Engine: SQLite, URL: sqliteFile(t, "a.db"), Version: 1}
	a, releaseA, err := p.Acquire("p", "e", c1)
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, _ := p.Acquire("p", "e", c1)
	if a != b {
		t.Fatal("same connection, two pools")
	}
	releaseB()
	if st := p.Stats(); len(st) != 1 || st[0].Max != 4 || st[0].Key != (Key{"p", "e", "main"}) {
		t.Fatalf("stats %+v", st)
	}

	c2 := c1
	c2.Version, c2.URL = 2, sqliteFile(t, "b.db")
	n, releaseN, err := p.Acquire("p", "e", c2)
	if err != nil || n == a {
		t.Fatalf("rotated connection kept the pool: %v", err)
	}
	// A request still on the older bundle gets the newer pool.
	o, releaseO, _ := p.Acquire("p", "e", c1)
	if o != n {
		t.Fatal("an older connection version replaced a newer pool")
	}
	releaseO()
	// The old pool still serves its lease...
	if err := a.Read.Ping(); err != nil {
		t.Fatalf("retired pool closed under a lease: %v", err)
	}
	releaseA()
	releaseA() // idempotent
	deadline := time.Now().Add(2 * time.Second)
	for a.Read.Ping() == nil {
		if time.Now().After(deadline) {
			t.Fatal("retired pool never closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	releaseN()

	// Another env, then the first env dropped.
	if _, r, err := p.Acquire("p", "other", c1); err != nil {
		t.Fatal(err)
	} else {
		r()
	}
	// A new bundle without the connection retires its pool at once.
	if _, r, err := p.Acquire("p", "e", c2); err != nil {
		t.Fatal(err)
	} else {
		r()
	}
	p.Sync("p", "e", []bundle.Connection{c2})
	if len(p.Stats()) != 2 {
		t.Fatal("Sync retired an unchanged pool")
	}
	p.Sync("p", "e", nil)
	if st := p.Stats(); len(st) != 1 || st[0].Key.Env != "other" {
		t.Fatalf("after Sync %+v", st)
	}
	p.CloseEnv("p", "e")
	if st := p.Stats(); len(st) != 1 || st[0].Key.Env != "other" {
		t.Fatalf("after CloseEnv %+v", st)
	}
	p.Close()
	if _, _, err := p.Acquire("p", "e", c1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestInvalidURLs(t *testing.T) {
	p := New(Config{})
	defer p.Close()
	for _, c := range []bundle.Connection{
		{Name: "a", Engine: Postgres, URL: "postgres://u:SECRETPW@h/db?sslcert=/etc/passwd"},
		{Name: "b", Engine: Postgres, URL: "mysql://u:SECRETPW@h/db"},
		{Name: "c", Engine: SQLite, URL: "sqlite://"},
		{Name: "d", Engine: "oracle", URL: "x"},
	} {
		_, _, err := p.Acquire("p", "e", c)
		if err == nil {
			t.Fatalf("%s accepted", c.Name)
		}
		if s := err.Error(); strings.Contains(s, "SECRETPW") || strings.Contains(s, "passwd") {
			t.Fatalf("error shows the URL: %s", s)
		}
	}
}
