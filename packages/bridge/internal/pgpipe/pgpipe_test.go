package pgpipe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/santokit/santokit/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// open returns a batcher on a pool of conns connections to url.
func open(t testing.TB, url string, conns int, cfg Config) (*Batcher, *pgxpool.Pool) {
	t.Helper()
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = int32(conns)
	if cfg.StatementTimeout > 0 {
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	}
	b := New(cfg)
	pc.BeforeClose = b.Forget
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	b.Start(pool)
	t.Cleanup(func() { b.Close(); pool.Close() })
	return b, pool
}

// rows reads a result as text.
func rows(out *[][]string) func(*pgconn.ResultReader) error {
	return func(rr *pgconn.ResultReader) error {
		for rr.NextRow() {
			var row []string
			for _, v := range rr.Values() {
				row = append(row, string(v))
			}
			*out = append(*out, row)
		}
		return nil
	}
}

func (b *Batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// call is a Query run in the background.
type call struct {
	rows [][]string
	err  error
	done chan struct{}
}

func (c *call) wait(t *testing.T) *call {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("query did not return")
	}
	return c
}

func start(ctx context.Context, b *Batcher, sql string, args ...any) *call {
	c := &call{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = b.Query(ctx, sql, args, rows(&c.rows))
	}()
	return c
}

// blocked starts a statement that holds the only lead for d, and returns
// it once it is sent.
func blocked(t *testing.T, b *Batcher, d time.Duration) *call {
	t.Helper()
	sent := b.Stats().Pipelines
	c := start(context.Background(), b, "SELECT pg_sleep($1::float8)", d.Seconds())
	waitFor(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.leaders == b.cfg.Runners && b.Stats().Pipelines == sent+1
	})
	return c
}

// queue starts calls one after another, each queued before the next.
func queue(t *testing.T, b *Batcher, ctx context.Context, stmts ...[]any) []*call {
	t.Helper()
	var calls []*call
	for i, s := range stmts {
		calls = append(calls, start(ctx, b, s[0].(string), s[1:]...))
		waitFor(t, func() bool { return b.queued() == i+1 })
	}
	return calls
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func q(sql string, args ...any) []any { return append([]any{sql}, args...) }

// Many concurrent callers each get their own statement's rows.
func TestConcurrentCallersGetTheirOwnRows(t *testing.T) {
	b, _ := open(t, testpg.New(t), 4, Config{Runners: 2, MaxBatch: 8})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				n := g*1000 + i
				var out [][]string
				sql := "SELECT $1::int8 AS n, repeat('x', $2::int) AS pad"
				if i%3 == 0 {
					sql = "SELECT $1::int8 + 0 AS n, repeat('y', $2::int) AS pad, generate_series(1, 2) AS k"
				}
				if err := b.Query(context.Background(), sql, []any{n, i % 7}, rows(&out)); err != nil {
					errs <- err
					return
				}
				want := 1
				if i%3 == 0 {
					want = 2
				}
				if len(out) != want || out[0][0] != strconv.Itoa(n) || len(out[0][1]) != i%7 {
					errs <- fmt.Errorf("call %d got %v", n, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.Statements != 64*40 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d statements in %d pipelines", st.Statements, st.Pipelines)
}

// Statements queued behind a busy connection share pipelines of at most
// MaxBatch, in their order.
func TestQueuedStatementsShareAPipeline(t *testing.T) {
	b, _ := open(t, testpg.New(t), 1, Config{Runners: 1, MaxBatch: 4})
	blocker := blocked(t, b, 300*time.Millisecond)
	before := b.Stats()
	var stmts [][]any
	for i := range 6 {
		stmts = append(stmts, q("SELECT $1::int", i))
	}
	calls := queue(t, b, context.Background(), stmts...)
	for i, c := range calls {
		if c.wait(t); c.err != nil || len(c.rows) != 1 || c.rows[0][0] != strconv.Itoa(i) {
			t.Fatalf("call %d: %v %v", i, c.rows, c.err)
		}
	}
	if blocker.wait(t).err != nil {
		t.Fatal(blocker.err)
	}
	after := b.Stats()
	if got := after.Pipelines - before.Pipelines; got != 2 {
		t.Fatalf("6 queued statements went in %d pipelines, want 2 (4 + 2)", got)
	}
}

// A statement that fails, or whose reader fails, fails alone: the others
// of its pipeline, before and after it, get their rows.
func TestAnErrorStaysWithItsStatement(t *testing.T) {
	b, _ := open(t, testpg.New(t), 1, Config{Runners: 1, StatementTimeout: 300 * time.Millisecond})
	blocker := blocked(t, b, 200*time.Millisecond)
	calls := queue(t, b, context.Background(),
		q("SELECT $1::int", 1),
		q("SELECT 1 / $1::int", 0), // division by zero
		q("SELECT $1::int", 3),
		q("SELECT pg_sleep($1::float8)", 5), // statement_timeout
		q("SELECT $1::int", 5),
		q("SELECT $1::int", 6),
	)
	// One more whose reader refuses the result: the server is fine.
	mine := errors.New("reader refused")
	var own error
	ownDone := make(chan struct{})
	go func() {
		defer close(ownDone)
		own = b.Query(context.Background(), "SELECT $1::int", []any{7}, func(*pgconn.ResultReader) error { return mine })
	}()
	waitFor(t, func() bool { return b.queued() == 7 })
	// And one whose reader panics: a bug in it fails that call only, which
	// panics in its caller's goroutine as it would have alone.
	var panicked any
	panicDone := make(chan struct{})
	go func() {
		defer close(panicDone)
		defer func() { panicked = recover() }()
		_ = b.Query(context.Background(), "SELECT $1::int", []any{9}, func(*pgconn.ResultReader) error { panic("encoder bug") })
	}()
	waitFor(t, func() bool { return b.queued() == 8 })
	last := queue2(t, b, q("SELECT $1::int", 8))
	for i, c := range append(calls, last) {
		c.wait(t)
		var pe *pgconn.PgError
		switch i {
		case 1:
			if !errors.As(c.err, &pe) || pe.Code != "22012" {
				t.Fatalf("division by zero: %v", c.err)
			}
		case 3:
			if !errors.As(c.err, &pe) || pe.Code != "57014" {
				t.Fatalf("statement timeout: %v", c.err)
			}
		default:
			want := strconv.Itoa(i + 1)
			if i == 6 {
				want = "8"
			}
			if c.err != nil || len(c.rows) != 1 || c.rows[0][0] != want {
				t.Fatalf("call %d: %v %v", i, c.rows, c.err)
			}
		}
	}
	<-ownDone
	if !errors.Is(own, mine) {
		t.Fatalf("reader's error: %v", own)
	}
	<-panicDone
	if panicked != "encoder bug" {
		t.Fatalf("reader's panic: %v", panicked)
	}
	blocker.wait(t)
}

// queue2 starts one more call and waits until it is queued behind the
// n already queued.
func queue2(t *testing.T, b *Batcher, s []any) *call {
	t.Helper()
	n := b.queued()
	c := start(context.Background(), b, s[0].(string), s[1:]...)
	waitFor(t, func() bool { return b.queued() == n+1 })
	return c
}

// A statement slow on a connection runs alone there, so it holds up no
// one; the fast statements it once shared a pipeline with are cleared by
// running alone once.
func TestSlowStatementsRunAlone(t *testing.T) {
	b, _ := open(t, testpg.New(t), 1, Config{Runners: 1, SlowAfter: 100 * time.Millisecond})
	slow := q("SELECT pg_sleep($1::float8) AS slow", 0.25)
	fast := q("SELECT $1::int", 1)
	fast2 := q("SELECT $1::int + 1", 1)
	round := func(stmts ...[]any) int64 {
		t.Helper()
		blocker := blocked(t, b, 100*time.Millisecond)
		before := b.Stats().Pipelines
		for _, c := range queue(t, b, context.Background(), stmts...) {
			if c.wait(t).err != nil {
				t.Fatal(c.err)
			}
		}
		blocker.wait(t)
		return b.Stats().Pipelines - before
	}
	// Unknown statements share a pipeline, which is slow: all suspects.
	if n := round(fast, slow, fast2); n != 1 {
		t.Fatalf("first round: %d pipelines, want 1", n)
	}
	// Suspects run alone, which clears the fast ones.
	if n := round(fast, slow, fast2); n != 3 {
		t.Fatalf("second round: %d pipelines, want 3", n)
	}
	// Now the slow one runs alone, and the fast ones together.
	if n := round(slow, fast, fast2); n != 2 {
		t.Fatalf("third round: %d pipelines, want 2", n)
	}
}

// A prepared statement made stale by a schema change, or lost by the
// session, is prepared again without the caller seeing an error.
func TestStaleStatementsArePreparedAgain(t *testing.T) {
	b, pool := open(t, testpg.New(t), 1, Config{Runners: 1})
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE t (a int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	if err := b.Query(ctx, "SELECT * FROM t", nil, rows(&out)); err != nil || len(out[0]) != 1 {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := pool.Exec(ctx, "ALTER TABLE t ADD COLUMN b int DEFAULT 2"); err != nil {
		t.Fatal(err)
	}
	out = nil
	if err := b.Query(ctx, "SELECT * FROM t", nil, rows(&out)); err != nil || len(out) != 1 || len(out[0]) != 2 || out[0][1] != "2" {
		t.Fatalf("after ALTER TABLE: %v %v", out, err)
	}
	if _, err := pool.Exec(ctx, "DEALLOCATE ALL", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	out = nil
	if err := b.Query(ctx, "SELECT * FROM t", nil, rows(&out)); err != nil || len(out) != 1 {
		t.Fatalf("after DEALLOCATE ALL: %v %v", out, err)
	}
}

// Each connection keeps at most CacheSize statements prepared.
func TestPreparedStatementsAreBounded(t *testing.T) {
	b, pool := open(t, testpg.New(t), 1, Config{Runners: 1, CacheSize: 4})
	ctx := context.Background()
	for i := range 10 {
		var out [][]string
		if err := b.Query(ctx, fmt.Sprintf("SELECT %d + $1::int", i), []any{1}, rows(&out)); err != nil || out[0][0] != strconv.Itoa(i+1) {
			t.Fatalf("%v %v", out, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'stk_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 1 || n > 4 {
		t.Fatalf("%d statements prepared, want at most 4", n)
	}
}

// A caller that gives up while its statement is queued gets ctx's error at
// once, and the statement never runs.
func TestCanceledBeforeSendIsNotRun(t *testing.T) {
	b, pool := open(t, testpg.New(t), 1, Config{Runners: 1})
	bg := context.Background()
	if _, err := pool.Exec(bg, "CREATE SEQUENCE s"); err != nil {
		t.Fatal(err)
	}
	blocker := blocked(t, b, time.Second)
	ctx, cancel := context.WithCancel(bg)
	c := queue(t, b, ctx, q("SELECT nextval('s') + $1::int", 0))[0]
	cancel()
	if c.wait(t); !errors.Is(c.err, context.Canceled) {
		t.Fatalf("canceled call: %v", c.err)
	}
	select {
	case <-blocker.done:
		t.Fatal("the canceled caller waited for the pipeline ahead of it")
	default:
	}
	if b.queued() != 0 {
		t.Fatal("the canceled statement is still queued")
	}
	blocker.wait(t)
	var called bool
	if err := pool.QueryRow(bg, "SELECT is_called FROM s").Scan(&called); err != nil || called {
		t.Fatalf("the canceled statement ran: %v %v", called, err)
	}
}

// A connection killed under the batcher fails its statement; the next one
// runs on a new connection, and the dead one's statements are forgotten.
func TestKilledConnectionIsReplaced(t *testing.T) {
	url := testpg.New(t)
	b, _ := open(t, url, 1, Config{Runners: 1})
	ctx := context.Background()
	var out [][]string
	if err := b.Query(ctx, "SELECT pg_backend_pid() + $1::int", []any{0}, rows(&out)); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1::int)", out[0][0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var n int
		_ = admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", out[0][0]).Scan(&n)
		return n == 0
	})
	if err := b.Query(ctx, "SELECT $1::int", []any{1}, rows(new([][]string))); err == nil {
		t.Fatal("a statement on a killed connection succeeded")
	}
	var again [][]string
	if err := b.Query(ctx, "SELECT pg_backend_pid() + $1::int", []any{0}, rows(&again)); err != nil || again[0][0] == out[0][0] {
		t.Fatalf("after the kill: %v %v", again, err)
	}
	b.mu.Lock()
	n := len(b.caches)
	b.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d connections' statements known, want 1", n)
	}
}

// With the database unreachable, every queued caller gets the error at
// once rather than each waiting for its own connection attempt.
func TestUnreachableDatabaseFailsTheQueue(t *testing.T) {
	b, _ := open(t, "postgres://u:p@127.0.0.1:1/db?connect_timeout=2", 2, Config{Runners: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	t0 := time.Now()
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errs <- b.Query(ctx, "SELECT 1", nil, rows(new([][]string)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v", err)
		}
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Fatalf("20 callers took %v to fail", d)
	}
}

// Close fails what is queued and refuses what comes after.
func TestCloseFailsTheQueue(t *testing.T) {
	b, _ := open(t, testpg.New(t), 1, Config{Runners: 1})
	blocker := blocked(t, b, 200*time.Millisecond)
	c := queue(t, b, context.Background(), q("SELECT 1"))[0]
	b.Close()
	if c.wait(t); !errors.Is(c.err, ErrClosed) {
		t.Fatalf("queued call: %v", c.err)
	}
	blocker.wait(t)
	if err := b.Query(context.Background(), "SELECT 1", nil, rows(new([][]string))); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// A statement the server refuses to prepare (a missing table) fails
// alone; the others of its pipeline are prepared and served.
func TestRefusedStatementFailsAlone(t *testing.T) {
	b, _ := open(t, testpg.New(t), 1, Config{Runners: 1})
	blocker := blocked(t, b, 200*time.Millisecond)
	calls := queue(t, b, context.Background(),
		q("SELECT $1::int", 1),
		q("SELECT * FROM nope WHERE $1::int = 1", 2),
		q("SELECT $1::int + 2", 1),
	)
	for i, c := range calls {
		c.wait(t)
		var pe *pgconn.PgError
		if i == 1 {
			if !errors.As(c.err, &pe) || pe.Code != "42P01" {
				t.Fatalf("missing table: %v", c.err)
			}
		} else if c.err != nil || len(c.rows) != 1 || c.rows[0][0] != strconv.Itoa(i+1) {
			t.Fatalf("call %d: %v %v", i, c.rows, c.err)
		}
	}
	blocker.wait(t)
}
