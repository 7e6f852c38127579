// Package dbpool holds the Bridge's database pools (SPEC §8.2): one per
// (project, env, connection), created on first use, replaced when the
// bundle's connection changes (its Version or URL), closed when the env is
// dropped or the Bridge stops. PostgreSQL pools are pgxpool pools whose
// connections carry statement_timeout as a runtime parameter, so a slow
// statement is cancelled by the server and the connection survives
// (ARCHITECTURE §5); SQLite pools are two database/sql handles on the file
// (a reader and a single writer that begins transactions IMMEDIATE).
//
// Pools are leased: a pool replaced while requests still use it is closed
// when the last lease ends. URLs are secret and never logged or returned in
// errors.
package dbpool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/santokit/santokit/packages/bridge/internal/pgpipe"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

// Engines.
const (
	Postgres = schema.EnginePostgres
	SQLite   = schema.EngineSQLite
)

// ErrInvalidURL: the connection URL cannot be used (its text is not shown).
var ErrInvalidURL = dbtarget.ErrInvalidURL

// Config configures the pools.
type Config struct {
	// MaxConns bounds each pool (STK_DB_MAX_CONNS).
	MaxConns int
	// StatementTimeout is PostgreSQL's statement_timeout and SQLite's
	// busy_timeout (STK_STATEMENT_TIMEOUT).
	StatementTimeout time.Duration
	// Targets decides which databases may be opened (the Hub's rule,
	// applied again here); a refusal is a *dbtarget.Refusal. nil is the
	// zero Policy: no SQLite, no Unix sockets.
	Targets *dbtarget.Policy
	Log     *slog.Logger
}

// Key names a pool.
type Key struct{ Project, Env, Connection string }

// Pool is one database pool: PG for postgres, Read/Write for sqlite.
type Pool struct {
	Key    Key
	Engine string
	PG     *pgxpool.Pool
	// Reads runs PG's single read statements in pipelines (pgpipe).
	Reads *pgpipe.Batcher
	// Read serves reads (its connections are query_only); Write is one
	// connection whose transactions begin IMMEDIATE, so writers queue
	// instead of failing with SQLITE_BUSY.
	Read, Write *sql.DB

	version int
	url     string
	// Guarded by Pools.mu.
	refs    int
	retired bool
}

// Pools is the set of pools of a Bridge.
type Pools struct {
	cfg    Config
	mu     sync.Mutex
	closed bool
	pools  map[Key]*Pool
	wg     sync.WaitGroup
}

// New returns an empty set.
func New(cfg Config) *Pools {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 10
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Targets == nil {
		cfg.Targets = &dbtarget.Policy{}
	}
	return &Pools{cfg: cfg, pools: map[Key]*Pool{}}
}

// ErrClosed: the pools are shut down.
var ErrClosed = errors.New("database pools closed")

// Acquire leases the pool of (project, env, c.Name), creating it on first
// use and replacing it when c's Version or URL differ from the pool's
// (unless c is older than the pool: a request still on an earlier bundle
// uses the newer pool). release must be called once the request is done
// with the pool. Creating a pool does not connect: connection failures
// surface on first use.
func (p *Pools) Acquire(project, env string, c bundle.Connection) (*Pool, func(), error) {
	k := Key{project, env, c.Name}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, ErrClosed
	}
	cur := p.pools[k]
	if cur != nil && (cur.version > c.Version || cur.version == c.Version && cur.url == c.URL && cur.Engine == c.Engine) {
		cur.refs++
		return cur, p.releaser(cur), nil
	}
	np, err := p.open(k, c)
	if err != nil {
		return nil, nil, err
	}
	if cur != nil {
		p.retire(cur)
		p.cfg.Log.Info("database pool replaced", "project", project, "env", env, "connection", c.Name, "version", c.Version)
	}
	p.pools[k] = np
	np.refs++
	return np, p.releaser(np), nil
}

func (p *Pools) releaser(pool *Pool) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			pool.refs--
			if pool.retired && pool.refs == 0 {
				p.closeLater(pool)
			}
		})
	}
}

// retire takes pool out of service; p.mu is held.
func (p *Pools) retire(pool *Pool) {
	pool.retired = true
	if pool.refs == 0 {
		p.closeLater(pool)
	}
}

// closeLater closes pool in the background (pgxpool.Close waits for
// connections to come back); p.mu is held.
func (p *Pools) closeLater(pool *Pool) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pool.close()
	}()
}

func (pool *Pool) close() {
	if pool.Reads != nil {
		pool.Reads.Close()
	}
	if pool.PG != nil {
		pool.PG.Close()
	}
	if pool.Read != nil {
		_ = pool.Read.Close()
	}
	if pool.Write != nil {
		_ = pool.Write.Close()
	}
}

// CloseEnv closes the pools of an env (the env was dropped from the cache).
func (p *Pools) CloseEnv(project, env string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pool := range p.pools {
		if k.Project == project && k.Env == env {
			delete(p.pools, k)
			p.retire(pool)
		}
	}
}

// Sync retires the pools of an env whose connection was removed or
// changed in the env's new bundle, so that an old URL's connections do not
// linger until the next request.
func (p *Pools) Sync(project, env string, conns []bundle.Connection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pool := range p.pools {
		if k.Project != project || k.Env != env {
			continue
		}
		keep := false
		for _, c := range conns {
			if c.Name == k.Connection {
				keep = pool.version > c.Version || pool.version == c.Version && pool.url == c.URL && pool.Engine == c.Engine
				break
			}
		}
		if !keep {
			delete(p.pools, k)
			p.retire(pool)
		}
	}
}

// Close closes every pool, waiting for leased ones to be released.
func (p *Pools) Close() {
	p.mu.Lock()
	p.closed = true
	for k, pool := range p.pools {
		delete(p.pools, k)
		p.retire(pool)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Pools) open(k Key, c bundle.Connection) (*Pool, error) {
	pool := &Pool{Key: k, Engine: c.Engine, version: c.Version, url: c.URL}
	var err error
	switch c.Engine {
	case Postgres:
		pool.PG, pool.Reads, err = p.openPostgres(c.URL)
	case SQLite:
		pool.Read, pool.Write, err = p.openSQLite(c.URL)
	default:
		return nil, fmt.Errorf("connection %s: unsupported engine %q", c.Name, c.Engine)
	}
	if err != nil {
		return nil, err
	}
	return pool, nil
}

func (p *Pools) openPostgres(rawURL string) (*pgxpool.Pool, *pgpipe.Batcher, error) {
	// Parsed, checked and guarded by the policy (only the URL's own
	// password, never the Bridge host's PGPASSWORD or ~/.pgpass).
	cc, err := p.cfg.Targets.Postgres(context.Background(), rawURL)
	if err != nil {
		return nil, nil, err
	}
	// The URL carries only allowed keys, so no pool_* settings: this gives
	// the pool defaults (and NewWithConfig insists on a parsed config).
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, nil, ErrInvalidURL
	}
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > 10*time.Second {
		cc.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "santokit-bridge"
	}
	// Set at connection start: the server cancels a slow statement itself
	// (57014) and the connection stays usable.
	cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(p.cfg.StatementTimeout.Milliseconds(), 10)
	// Text output of these types is parsed by the executor.
	cc.RuntimeParams["DateStyle"] = "ISO, MDY"
	cc.RuntimeParams["TimeZone"] = "UTC"
	cc.RuntimeParams["IntervalStyle"] = "iso_8601"
	cc.RuntimeParams["bytea_output"] = "hex"
	cc.RuntimeParams["extra_float_digits"] = "1"
	// Transactions are read-only unless begun READ WRITE, as the
	// executor's writes are. So the server refuses (25006) a write in
	// anything else, notably a readonly logic's statement in a read
	// pipeline (pgpipe), whose implicit transaction could otherwise only
	// be made read-only by one more statement per pipeline (SPEC §6,
	// decision 0024).
	cc.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.ConnConfig = cc
	cfg.MaxConns = int32(p.cfg.MaxConns)
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	// Reads pipeline on at most half the pool, so that a burst of them
	// cannot take every connection from transactions (writes, counted
	// selects); a pipeline carries several reads, so half is plenty.
	reads := pgpipe.New(pgpipe.Config{Runners: max(1, p.cfg.MaxConns/2), StatementTimeout: p.cfg.StatementTimeout})
	cfg.BeforeClose = reads.Forget
	// A statement may turn the session default off (a readonly logic's
	// `SET default_transaction_read_only = off`), which would leave its
	// pooled connection writable for the readonly calls after it. The
	// server reports the setting (PostgreSQL 14+): a connection that comes
	// back without it is closed, not reused.
	cfg.AfterRelease = func(c *pgx.Conn) bool {
		return c.PgConn().ParameterStatus("default_transaction_read_only") != "off"
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, nil, ErrInvalidURL
	}
	reads.Start(pool)
	return pool, reads, nil
}

// pinnedPragmas are the settings openSQLite's DSN gives every connection,
// which statements may not change (dbtarget.SQLiteConnector).
var pinnedPragmas = []string{"query_only", "foreign_keys", "busy_timeout"}

// openSQLite opens sqlite://<path> once the policy allowed it, at the
// resolved path it checked. The file must exist (mode=rw): a missing file
// is a database that is down, not an empty database, and the Bridge never
// creates a file. Nor does it convert one: the journal mode stays the
// file's own (WAL is the operator's choice, made once on the file).
func (p *Pools) openSQLite(rawURL string) (read, write *sql.DB, err error) {
	abs, err := p.cfg.Targets.SQLitePath(rawURL)
	if err != nil {
		return nil, nil, err
	}
	busy := strconv.FormatInt(max(p.cfg.StatementTimeout.Milliseconds(), 1), 10)
	dsn := func(txlock string, pragmas ...string) string {
		q := url.Values{
			"mode":    {"rw"},
			"_pragma": append([]string{"busy_timeout(" + busy + ")", "foreign_keys(1)"}, pragmas...),
			"_txlock": {txlock},
		}
		// A "file:" URI, so that SQLite applies mode=rw; url.URL escapes
		// '?', '#' and '%' in the path.
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	}
	// The read pool serves only reads (the executor sends writes to
	// write), so its connections are query_only: a readonly logic that
	// tries to write is refused by SQLite itself (SPEC §6).
	read = sql.OpenDB(dbtarget.SQLiteConnector(dsn("deferred", "query_only(1)"), pinnedPragmas...))
	write = sql.OpenDB(dbtarget.SQLiteConnector(dsn("immediate"), pinnedPragmas...))
	read.SetMaxOpenConns(p.cfg.MaxConns)
	read.SetMaxIdleConns(p.cfg.MaxConns)
	read.SetConnMaxIdleTime(5 * time.Minute)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(5 * time.Minute)
	return read, write, nil
}

// Stat is a pool's state for metrics.
type Stat struct {
	Key    Key
	Engine string
	Max    int
	InUse  int
	Idle   int
	// Pipelines of reads sent so far on a PostgreSQL pool, and the
	// statements they carried (pgpipe).
	Pipelines, PipelinedStatements int64
}

// Stats lists the live pools' states, sorted.
func (p *Pools) Stats() []Stat {
	p.mu.Lock()
	pools := make([]*Pool, 0, len(p.pools))
	for _, pool := range p.pools {
		pools = append(pools, pool)
	}
	p.mu.Unlock()
	out := make([]Stat, 0, len(pools))
	for _, pool := range pools {
		s := Stat{Key: pool.Key, Engine: pool.Engine}
		if pool.PG != nil {
			ps := pool.PG.Stat()
			s.Max, s.InUse, s.Idle = int(ps.MaxConns()), int(ps.AcquiredConns()), int(ps.IdleConns())
			rs := pool.Reads.Stats()
			s.Pipelines, s.PipelinedStatements = rs.Pipelines, rs.Statements
		} else {
			r, w := pool.Read.Stats(), pool.Write.Stats()
			s.Max = r.MaxOpenConnections + w.MaxOpenConnections
			s.InUse, s.Idle = r.InUse+w.InUse, r.Idle+w.Idle
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key, out[j].Key
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		return a.Connection < b.Connection
	})
	return out
}
