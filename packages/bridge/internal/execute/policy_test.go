package execute

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/plan"
)

// A host whose addresses fall outside STK_DB_ALLOWED_HOSTS when the pool
// dials (here localhost, outside 10.0.0.0/8) is a 503 naming the rule,
// reads and writes alike, and never the host or the password.
func TestDialRefusedByPolicy(t *testing.T) {
	x := &Executor{StatementTimeout: 2 * time.Second, MaxAffected: 100}
	pools := dbpool.New(dbpool.Config{MaxConns: 2, StatementTimeout: x.StatementTimeout,
		Targets: dbtarget.MustNew(dbtarget.Config{AllowedHosts: "10.0.0.0/8"})})
	t.Cleanup(pools.Close)
	d := &db{t: t, engine: dbpool.Postgres, url: "postgres://u:SECRETPW@localhost:5432/db?connect_timeout=2", pools: pools, x: x}
	for _, p := range []*plan.Plan{
		{Engine: "postgres", SQL: `SELECT 1 AS one`},
		{Engine: "postgres", SQL: `SELECT 1 AS one`, Write: true},
	} {
		e := d.fails(p, apierr.ServiceUnavailable, "database unavailable: a postgres host of this url is not in STK_DB_ALLOWED_HOSTS")
		if strings.Contains(e.Message, "SECRETPW") || strings.Contains(e.Message, "localhost") {
			t.Fatalf("message %q", e.Message)
		}
	}
}
