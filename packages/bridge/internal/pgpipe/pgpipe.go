// Package pgpipe runs the single read statements of concurrent /call
// requests on PostgreSQL in pipelines. While the connections it may use are
// busy, statements queue; the next pipeline carries up to MaxBatch of them
// in one write, and PostgreSQL answers them all in one flush: one round
// trip and one server wake-up shared between many requests, which is what
// two cores spend most of their time on otherwise (docs/decisions/0008).
//
// The statements of a pipeline share one Sync, so one implicit
// transaction; each still takes its own snapshot (read committed) and has
// its own statement_timeout. When one fails, the server skips the rest, and
// those run again in the next pipeline: an error stays with its statement,
// as if each had been sent alone.
//
// Statements are prepared once per connection (named stk_<n>, at most
// CacheSize per connection) and run with the statement's cached result
// description, all columns in text format. A statement measured slower than
// SlowAfter on a connection runs alone there, so a slow report does not
// hold up the lookups queued behind it.
package pgpipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config tunes a Batcher; zero values take the defaults.
type Config struct {
	// Runners bounds the pipelines in flight, so the connections they
	// hold (default 4).
	Runners int
	// StatementTimeout is the connections' statement_timeout: a pipeline
	// of n statements is abandoned (its connection closed) after n times
	// it, plus a second, should the server not enforce it.
	StatementTimeout time.Duration
	// MaxBatch bounds the statements of one pipeline (default 8: on two
	// cores, larger pipelines raised the tail latency and not throughput).
	MaxBatch int
	// CacheSize bounds the statements prepared per connection (default 256).
	CacheSize int
	// SlowAfter: a statement whose recent runs average more than this runs
	// alone (default 20ms).
	SlowAfter time.Duration
}

// ErrClosed: the batcher is closed.
var ErrClosed = errors.New("database pool closed")

// Batcher coalesces read statements onto a pool's connections.
//
// There are no goroutines of its own: a caller that finds fewer than
// Runners pipelines in flight leads one itself — it takes a connection,
// the statements queued so far and its own, sends them, finishes them, and
// hands the lead to the first caller still queued, which was to be woken
// anyway. A caller that does not lead waits for its result.
type Batcher struct {
	cfg  Config
	pool *pgxpool.Pool

	mu      sync.Mutex
	queue   []*job // waiting for a leader, oldest first
	leaders int
	closed  bool
	caches  map[*pgconn.PgConn]*stmtCache

	scratch               sync.Pool // *scratch
	pipelines, statements atomic.Int64
}

// scratch is what a leader reuses.
type scratch struct {
	eqb   pgx.ExtendedQueryBuilder
	batch []*job
}

// New returns a batcher; Start gives it its pool. Set the pool config's
// BeforeClose to Forget, so that a closed connection's statements are
// forgotten with it.
func New(cfg Config) *Batcher {
	if cfg.Runners <= 0 {
		cfg.Runners = 4
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 8
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 256
	}
	if cfg.SlowAfter <= 0 {
		cfg.SlowAfter = 20 * time.Millisecond
	}
	b := &Batcher{cfg: cfg, caches: map[*pgconn.PgConn]*stmtCache{}}
	b.scratch.New = func() any { return &scratch{} }
	return b
}

// Start gives the batcher its pool.
func (b *Batcher) Start(pool *pgxpool.Pool) { b.pool = pool }

// Forget drops what is known of c's prepared statements (pgxpool's
// BeforeClose hook).
func (b *Batcher) Forget(c *pgx.Conn) {
	b.mu.Lock()
	delete(b.caches, c.PgConn())
	b.mu.Unlock()
}

// Close refuses new statements; those still queued fail with ErrClosed.
// The caller closes the pool afterwards.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.failQueued(ErrClosed)
}

// Stats counts what the batcher sent.
type Stats struct {
	// Pipelines sent, and the statements they carried.
	Pipelines, Statements int64
}

// Stats returns the counts so far.
func (b *Batcher) Stats() Stats {
	return Stats{Pipelines: b.pipelines.Load(), Statements: b.statements.Load()}
}

// Query runs sql with args and calls read with its result, on the
// goroutine leading the pipeline while the caller waits. read must not keep
// the ResultReader or its values; what it does not consume is discarded.
// The error is read's, or the statement's (*pgconn.PgError), or the
// connection's; if read panics, Query panics with the same value. A caller whose ctx ends while its statement is queued gets
// ctx's error at once, and the statement is not sent; once sent, it runs
// to its end (bounded by statement_timeout).
func (b *Batcher) Query(ctx context.Context, sql string, args []any, read func(*pgconn.ResultReader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := jobPool.Get().(*job)
	j.ctx, j.sql, j.args, j.read, j.err, j.retried, j.panicked = ctx, sql, args, read, nil, false, nil
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		j.release()
		return ErrClosed
	case b.leaders < b.cfg.Runners:
		b.leaders++
		b.mu.Unlock()
		b.lead(j)
	default:
		b.queue = append(b.queue, j)
		b.mu.Unlock()
	}
	for {
		var lead bool
		select {
		case lead = <-j.done:
		case <-ctx.Done():
			if b.dequeue(j) {
				j.release()
				return ctx.Err()
			}
			// Taken into a pipeline, or handed the lead: see it through.
			lead = <-j.done
		}
		if !lead {
			break
		}
		b.lead(j)
	}
	err, p := j.err, j.panicked
	j.release()
	if p != nil {
		panic(p)
	}
	return err
}

type job struct {
	ctx     context.Context
	sql     string
	args    []any
	read    func(*pgconn.ResultReader) error
	err     error
	retried bool
	// panicked is what read panicked with.
	panicked any
	// done receives false when the job is finished, true when its
	// goroutine is to lead the next pipeline.
	done chan bool
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan bool, 1)} }}

func (j *job) finish(err error) {
	j.err = err
	j.done <- false
}

func (j *job) release() {
	j.ctx, j.args, j.read, j.err, j.panicked = nil, nil, nil, nil, nil
	jobPool.Put(j)
}

// lead runs one pipeline: first's statement and those queued, then hands
// the lead on. It finishes first like the others.
func (b *Batcher) lead(first *job) {
	defer b.handOff()
	if err := first.ctx.Err(); err != nil {
		first.finish(err)
		return
	}
	conn, err := b.pool.Acquire(first.ctx)
	if err != nil {
		first.finish(err)
		if first.ctx.Err() == nil {
			// The database is unreachable: what queued meanwhile would
			// only wait for the same answer.
			b.failQueued(err)
		}
		return
	}
	defer conn.Release()
	sc := b.scratch.Get().(*scratch)
	defer b.scratch.Put(sc)
	cache := b.cacheOf(conn.Conn().PgConn())
	sc.batch = b.take(sc.batch[:0], first, cache)
	b.send(conn.Conn(), cache, sc.batch, &sc.eqb)
	clear(sc.batch)
}

// take appends first and the queued jobs that fit to batch. A statement
// slow on this connection runs alone: it is not taken after first, and
// when first is slow nothing is.
func (b *Batcher) take(batch []*job, first *job, cache *stmtCache) []*job {
	batch = append(batch, first)
	if cache.slow(first.sql) {
		return batch
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.queue[:0]
	for _, j := range b.queue {
		if len(batch) < b.cfg.MaxBatch && !cache.slow(j.sql) {
			batch = append(batch, j)
		} else {
			kept = append(kept, j)
		}
	}
	clear(b.queue[len(kept):])
	b.queue = kept
	return batch
}

// dequeue removes j from the queue, if it is still there.
func (b *Batcher) dequeue(j *job) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.queue, j)
	if i < 0 {
		return false
	}
	b.queue = slices.Delete(b.queue, i, i+1)
	return true
}

// handOff passes the lead to the oldest queued job, or gives it up.
func (b *Batcher) handOff() {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.leaders--
		b.mu.Unlock()
		return
	}
	next := b.queue[0]
	copy(b.queue, b.queue[1:])
	b.queue[len(b.queue)-1] = nil
	b.queue = b.queue[:len(b.queue)-1]
	b.mu.Unlock()
	next.done <- true
}

// failQueued fails the jobs queued now with err.
func (b *Batcher) failQueued(err error) {
	b.mu.Lock()
	q := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, j := range q {
		j.finish(err)
	}
}

func (b *Batcher) cacheOf(c *pgconn.PgConn) *stmtCache {
	b.mu.Lock()
	defer b.mu.Unlock()
	sc := b.caches[c]
	if sc == nil {
		sc = &stmtCache{byName: map[string]*stmt{}, size: b.cfg.CacheSize, slowAfter: b.cfg.SlowAfter}
		b.caches[c] = sc
	}
	return sc
}

// backstopSlack lets the server's statement_timeout fire (and keep the
// connection) before the pipeline's own deadline does.
const backstopSlack = time.Second

// textResults asks for every result column in text format.
var textResults = []int16{pgx.TextFormatCode}

// send runs batch on conn and finishes every job of it.
func (b *Batcher) send(conn *pgx.Conn, cache *stmtCache, batch []*job, eqb *pgx.ExtendedQueryBuilder) {
	jobs := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.finish(err)
			continue
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(len(jobs))*b.cfg.StatementTimeout+backstopSlack)
	defer cancel()
	pg := conn.PgConn()
	// Each round finishes at least one job, or marks one retried.
	for len(jobs) > 0 {
		if err := b.prepare(ctx, pg, cache, jobs); err != nil {
			for _, j := range jobs {
				j.finish(err)
			}
			return
		}
		jobs = b.execute(ctx, conn, cache, jobs, eqb)
	}
}

// prepare prepares, in one pipeline, the statements of jobs this
// connection does not have, after deallocating those it dropped. A job
// whose statement the server refuses gets that error in err, for execute
// to finish it with; the returned error is the connection's.
func (b *Batcher) prepare(ctx context.Context, pg *pgconn.PgConn, cache *stmtCache, jobs []*job) error {
	var want []string
	for _, j := range jobs {
		if cache.get(j.sql) == nil && !slices.Contains(want, j.sql) {
			want = append(want, j.sql)
		}
	}
	if len(want) == 0 {
		return nil
	}
	pl := pg.StartPipeline(ctx)
	cache.evict(len(want), jobs)
	dead := cache.dead
	cache.dead = nil
	for _, name := range dead {
		pl.SendDeallocate(name)
	}
	if len(dead) > 0 {
		pl.SendPipelineSync()
	}
	names := make([]string, len(want))
	for i, sql := range want {
		names[i] = cache.nextName()
		pl.SendPrepare(names[i], sql, nil)
		pl.SendPipelineSync()
	}
	if err := pl.Flush(); err != nil {
		return err
	}
	if len(dead) > 0 {
		if err := drainSync(pl); err != nil {
			return err
		}
	}
	refused := map[string]error{}
	for i, sql := range want {
		res, err := pl.GetResults()
		if err != nil && !isPgError(err) {
			_ = pl.Close()
			return err
		}
		switch sd, ok := res.(*pgconn.StatementDescription); {
		case err != nil:
			refused[sql] = err
		case ok:
			sd.Name, sd.SQL = names[i], sql
			cache.put(sql, sd)
		default:
			refused[sql] = errors.New("pipeline: unexpected result")
		}
		if _, err := pl.GetResults(); err != nil && !isPgError(err) {
			_ = pl.Close()
			return err
		}
	}
	if err := pl.Close(); err != nil && !isPgError(err) {
		return err
	}
	if len(refused) > 0 {
		for _, j := range jobs {
			if err, ok := refused[j.sql]; ok {
				j.err = err // finished by execute, which skips it
			}
		}
	}
	return nil
}

// drainSync reads the results up to and including the next Sync's.
func drainSync(pl *pgconn.Pipeline) error {
	for {
		res, err := pl.GetResults()
		if err != nil && !isPgError(err) {
			return err
		}
		if _, ok := res.(*pgconn.PipelineSync); ok {
			return nil
		}
		if res == nil && err == nil {
			return errors.New("pipeline: missing sync")
		}
	}
}

// execute sends jobs in one pipeline and finishes them in order. The
// jobs share one Sync: PostgreSQL answers them in one flush. A statement
// that fails ends that implicit transaction, and the server skips the
// statements after it; those are returned, to run in the next pipeline,
// with any whose prepared statement was stale (the table changed, or the
// session lost it), which is prepared again.
func (b *Batcher) execute(ctx context.Context, conn *pgx.Conn, cache *stmtCache, jobs []*job, eqb *pgx.ExtendedQueryBuilder) (again []*job) {
	pl := conn.PgConn().StartPipeline(ctx)
	sent := jobs[:0]
	for _, j := range jobs {
		if j.err != nil {
			j.finish(j.err) // its statement was refused at prepare
			continue
		}
		st := cache.get(j.sql)
		if st == nil {
			j.finish(errors.New("pipeline: statement not prepared"))
			continue
		}
		if err := eqb.Build(conn.TypeMap(), st.sd, j.args); err != nil {
			j.finish(err)
			continue
		}
		pl.SendQueryStatement(st.sd, eqb.ParamValues, eqb.ParamFormats, textResults)
		sent = append(sent, j)
	}
	if len(sent) == 0 {
		_ = pl.Close()
		return nil
	}
	b.pipelines.Add(1)
	b.statements.Add(int64(len(sent)))
	if err := pl.Sync(); err != nil {
		for _, j := range sent {
			j.finish(err)
		}
		return nil
	}
	// The jobs' texts, for timed: a finished job is its caller's again.
	var buf [8]string
	sqls := buf[:0]
	for _, j := range sent {
		sqls = append(sqls, j.sql)
	}
	start := time.Now()
	for i, j := range sent {
		res, err := pl.GetResults()
		retry := stale(err) && !j.retried // before any row was read
		var own error                     // read's: the connection is fine
		if err == nil {
			if rr, ok := res.(*pgconn.ResultReader); ok {
				own = safeRead(j, rr)
				_, err = rr.Close()
			} else {
				err = errors.New("pipeline: unexpected result")
				_ = conn.PgConn().Close(context.Background())
			}
		}
		if err != nil && !isPgError(err) {
			// The connection is gone: nothing more will come.
			for _, rest := range append(again, sent[i:]...) {
				rest.finish(err)
			}
			_ = pl.Close()
			return nil
		}
		switch {
		case retry:
			cache.drop(j.sql)
			j.retried = true
			again = append(again, j)
		case err != nil:
			j.finish(err)
		default:
			j.finish(own)
		}
		if err != nil {
			// The server skipped the rest up to the Sync.
			again = append(again, sent[i+1:]...)
			break
		}
	}
	cache.timed(sqls, time.Since(start))
	if err := pl.Close(); err != nil && !isPgError(err) {
		for _, j := range again {
			j.finish(err)
		}
		return nil
	}
	return again
}

// safeRead runs j's read. A panic in it is caught here, because the other
// callers of the pipeline wait on the leader, which must finish them all;
// j's caller panics with it again in its own goroutine.
func safeRead(j *job, rr *pgconn.ResultReader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panicked = p
			err = fmt.Errorf("reading the result: panic: %v", p)
		}
	}()
	return j.read(rr)
}

func isPgError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// stale: the prepared statement no longer fits (cached plan must not
// change result type) or no longer exists.
func stale(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "0A000" || pe.Code == "26000")
}

// stmtCache is what one connection has prepared. It is used by one runner
// at a time (the one holding the connection).
type stmtCache struct {
	byName map[string]*stmt // by SQL text
	// dead are the names of statements dropped from byName, to deallocate
	// before the next prepare.
	dead      []string
	size      int
	next      int
	slowAfter time.Duration
}

type stmt struct {
	sd *pgconn.StatementDescription
	// avg is the moving average of the statement's time when it ran
	// alone on this connection; suspect: it was in a slow pipeline.
	avg     time.Duration
	suspect bool
}

func (c *stmtCache) get(sql string) *stmt { return c.byName[sql] }

func (c *stmtCache) put(sql string, sd *pgconn.StatementDescription) {
	c.byName[sql] = &stmt{sd: sd}
}

func (c *stmtCache) drop(sql string) {
	if s := c.byName[sql]; s != nil {
		delete(c.byName, sql)
		c.dead = append(c.dead, s.sd.Name)
	}
}

func (c *stmtCache) nextName() string {
	c.next++
	return "stk_" + strconv.Itoa(c.next)
}

// evict makes room for n statements, keeping those jobs use.
func (c *stmtCache) evict(n int, jobs []*job) {
	for sql := range c.byName {
		if len(c.byName)+n <= c.size {
			break
		}
		inUse := false
		for _, j := range jobs {
			if j.sql == sql {
				inUse = true
				break
			}
		}
		if !inUse {
			c.drop(sql)
		}
	}
}

// timed records how long jobs' pipeline took. PostgreSQL sends the
// results together at the Sync, so a pipeline's time cannot be split
// among its statements: a statement that ran alone gets its time folded
// into its average; when a shared pipeline was slow, all of its statements
// become suspects and run alone next, which tells the slow one apart.
func (c *stmtCache) timed(sqls []string, d time.Duration) {
	if len(sqls) == 1 {
		if s := c.byName[sqls[0]]; s != nil {
			s.suspect = false
			if s.avg == 0 {
				s.avg = d
			} else {
				s.avg += (d - s.avg) / 4
			}
		}
		return
	}
	if d > c.slowAfter {
		for _, sql := range sqls {
			if s := c.byName[sql]; s != nil {
				s.suspect = true
			}
		}
	}
}

// slow: sql is to run alone.
func (c *stmtCache) slow(sql string) bool {
	s := c.byName[sql]
	return s != nil && (s.suspect || s.avg > c.slowAfter)
}
