package dbpool

import (
	"context"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/bundle"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// A statement that turns the session's read-only default off (a readonly
// logic can run `SET default_transaction_read_only = off`) does not leave
// a writable connection in the pool for the readonly calls after it.
func TestPostgresReadOnlyDefaultSurvivesASession(t *testing.T) {
	p := New(Config{MaxConns: 1, StatementTimeout: time.Second, Targets: anywhere})
	defer p.Close()
	pool, release, err := p.Acquire("p", "e", bundle.Connection{Name: "main", Engine: Postgres, URL: testpg.New(t), Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	c, err := pool.PG.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
		t.Fatal(err)
	}
	c.Release()
	for range 3 {
		var v string
		if err := pool.PG.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "on" {
			t.Fatalf("a pooled connection reads default_transaction_read_only = %s", v)
		}
	}
}
