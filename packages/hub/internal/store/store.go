// Package store persists the Hub's state — orgs, projects, envs, encrypted
// connections, schema snapshots, permission sets, releases, API keys and
// audit events — in SQLite (single-binary installs, `stk dev`) or
// PostgreSQL (production). One implementation runs over database/sql; a
// small dialect value holds what differs between the engines (driver,
// placeholders, constraint error codes, migrations). Callers see only the
// row types of model.go and model_releases.go and the sentinel errors
// ErrNotFound and ErrConflict, whichever engine is behind.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/oklog/ulid/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
)

// DefaultOrg is the org Open creates, so that `project create` works on a
// fresh Hub without naming one (SPEC §2).
const DefaultOrg = "default"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// sqlitePragmas go into the DSN rather than being run once after Open, so
// that every connection the pool opens gets them. _txlock=immediate makes
// every BeginTx a BEGIN IMMEDIATE: a deferred transaction that reads and
// then writes fails with SQLITE_BUSY, without waiting, when another writer
// got there first, which read-modify-write (revision bumps) cannot afford.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"

// SQLite extended result codes (sqlite3.h) for constraint violations.
const (
	sqliteConstraintForeignKey = 787
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// Store is the Hub's persistence. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
	// pg is the PostgreSQL connection config, for the LISTEN connection
	// of WatchRevisions (nil on SQLite).
	pg *pgx.ConnConfig
}

// dialect is what differs between the engines. Queries are written once with
// `?` placeholders and rebound for engines that number them.
type dialect struct {
	engine     string // "sqlite" | "postgres"
	goose      goose.Dialect
	migrations string // directory in the migrations FS
	numbered   bool   // placeholders are $1, $2, …
}

func sqliteDialect() dialect {
	return dialect{engine: "sqlite", goose: goose.DialectSQLite3, migrations: "migrations/sqlite"}
}

func postgresDialect() dialect {
	return dialect{engine: "postgres", goose: goose.DialectPostgres, migrations: "migrations/postgres", numbered: true}
}

// classify maps a driver error to ErrConflict (unique violation) or
// ErrNotFound (foreign key violation: the parent row is missing); any other
// error comes back as is.
func (d dialect) classify(err error) error {
	var (
		se *sqlite.Error
		pe *pgconn.PgError
	)
	switch {
	case errors.As(err, &se):
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			return ErrConflict
		case sqliteConstraintForeignKey:
			return ErrNotFound
		}
	case errors.As(err, &pe):
		switch pe.Code {
		case "23505": // unique_violation
			return ErrConflict
		case "23503": // foreign_key_violation
			return ErrNotFound
		}
	}
	return err
}

// Open connects to the store at url, applies pending migrations and makes
// sure the org "default" exists. url is sqlite://<file path> (the text after
// the scheme is a path: sqlite://./hub.db, sqlite:///var/lib/stk/hub.db) or
// postgres:// / postgresql://. Error texts never contain the URL: it may
// carry a password.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		s, err = openSQLite(strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err = openPostgres(url)
	default:
		return nil, errors.New("store: unsupported database URL: want sqlite://<path>, postgres://… or postgresql://…")
	}
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(path string) (*Store, error) {
	switch {
	case path == "":
		return nil, errors.New("store: sqlite URL has no file path (want sqlite://<path>)")
	case strings.Contains(path, "?"):
		// The driver would read the rest as its own DSN parameters.
		return nil, errors.New("store: sqlite file path must not contain '?'")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		// Each pooled connection would see a database of its own.
		return nil, errors.New("store: sqlite URL must name a plain file path")
	}
	db, err := sql.Open("sqlite", path+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	return &Store{db: db, d: sqliteDialect()}, nil
}

func openPostgres(url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts passwords from its parse errors only on a best-effort
		// basis, so its text is not passed on.
		return nil, errors.New("store: invalid postgres URL")
	}
	return &Store{db: stdlib.OpenDB(*cfg), d: postgresDialect(), pg: cfg}, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: connect to %s: %w", s.d.engine, err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if _, err := s.EnsureOrg(ctx, DefaultOrg); err != nil {
		return err
	}
	return nil
}

// migrate applies the embedded migrations through a goose Provider (not
// goose's global state). On PostgreSQL an advisory session lock keeps Hub
// replicas that start together from migrating at once.
func (s *Store) migrate(ctx context.Context) error {
	dir, err := fs.Sub(migrations, s.d.migrations)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d.engine == "postgres" {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.goose, s.db, dir, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	// p.Close would close s.db, which the Store keeps using.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.d.engine, err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.engine, err)
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// PoolStats are the store's connection pool statistics (/metrics).
func (s *Store) PoolStats() sql.DBStats { return s.db.Stats() }

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.engine }

// rebind turns `?` placeholders into `$1, $2, …` for engines that number
// them. The queries of this package never contain a literal `?`.
func (d dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.d.rebind(query), args...)
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE on SQLite, see
// sqlitePragmas) and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// fail wraps err with what was being done, turning no-rows and constraint
// violations into ErrNotFound / ErrConflict. A sentinel replaces the driver
// error rather than wrapping it: its text adds nothing for the caller. The
// context must never contain a URL or a ciphertext.
func (s *Store) fail(err error, format string, args ...any) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = ErrNotFound
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
	default:
		err = s.d.classify(err)
	}
	return fmt.Errorf("store: "+format+": %w", append(args, err)...)
}

// Times are stored as 64-bit integers counting microseconds since the Unix
// epoch, in UTC, on both engines. SQLite has no timestamp type and
// PostgreSQL's TIMESTAMPTZ comes back through drivers differently; an
// integer round-trips identically, keeps microsecond precision (PostgreSQL's
// own), and sorts by time.
func micros(t time.Time) int64 { return t.UnixMicro() }

// timeCol scans a microsecond column into a UTC time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("time column holds %T, want int64", v)
	}
	*c.t = time.UnixMicro(n).UTC()
	return nil
}

// EnsureOrg returns the org called name, creating it if it does not exist.
func (s *Store) EnsureOrg(ctx context.Context, name string) (Org, error) {
	_, err := s.exec(ctx, s.db,
		`INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		"org_"+ulid.Make().String(), name, micros(time.Now()))
	if err != nil {
		return Org{}, s.fail(err, "ensure org %q", name)
	}
	return s.GetOrg(ctx, name)
}

// GetOrg returns the org called name.
func (s *Store) GetOrg(ctx context.Context, name string) (Org, error) {
	var o Org
	err := s.queryRow(ctx, s.db, `SELECT id, name, created_at FROM orgs WHERE name = ?`, name).
		Scan(&o.ID, &o.Name, timeCol{&o.CreatedAt})
	if err != nil {
		return Org{}, s.fail(err, "get org %q", name)
	}
	return o, nil
}

// CreateProject stores p (ID, OrgID, Name and CreatedAt set by the caller).
// A name taken anywhere in the Hub → ErrConflict; an unknown org →
// ErrNotFound.
func (s *Store) CreateProject(ctx context.Context, p Project) error {
	_, err := s.exec(ctx, s.db,
		`INSERT INTO projects (id, org_id, name, created_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, micros(p.CreatedAt))
	if err != nil {
		return s.fail(err, "create project %q", p.Name)
	}
	return nil
}

const projectCols = `p.id, p.org_id, o.name, p.name, p.created_at FROM projects p JOIN orgs o ON o.id = p.org_id`

func scanProject(sc interface{ Scan(...any) error }) (Project, error) {
	var p Project
	err := sc.Scan(&p.ID, &p.OrgID, &p.OrgName, &p.Name, timeCol{&p.CreatedAt})
	return p, err
}

// GetProject returns the project called name, with OrgName filled.
func (s *Store) GetProject(ctx context.Context, name string) (Project, error) {
	p, err := scanProject(s.queryRow(ctx, s.db, `SELECT `+projectCols+` WHERE p.name = ?`, name))
	if err != nil {
		return Project{}, s.fail(err, "get project %q", name)
	}
	return p, nil
}

// ListProjects returns every project of the Hub, ordered by name.
func (s *Store) ListProjects(ctx context.Context) ([]Project, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+projectCols+` ORDER BY p.name`)
	if err != nil {
		return nil, s.fail(err, "list projects")
	}
	out, err := collect(rows, scanProject)
	if err != nil {
		return nil, s.fail(err, "list projects")
	}
	return out, nil
}

// CreateEnv stores e (ID, ProjectID, Name and CreatedAt set by the caller)
// at revision 1. A name taken in the project → ErrConflict; an unknown
// project → ErrNotFound.
func (s *Store) CreateEnv(ctx context.Context, e Env) error {
	_, err := s.exec(ctx, s.db,
		`INSERT INTO envs (id, project_id, name, revision, created_at) VALUES (?, ?, ?, 1, ?)`,
		e.ID, e.ProjectID, e.Name, micros(e.CreatedAt))
	if err != nil {
		return s.fail(err, "create env %q", e.Name)
	}
	return nil
}

const envCols = `e.id, e.project_id, p.name, e.name, e.revision, COALESCE(e.current_release_id, ''), e.created_at
FROM envs e JOIN projects p ON p.id = e.project_id`

func scanEnv(sc interface{ Scan(...any) error }) (Env, error) {
	var e Env
	err := sc.Scan(&e.ID, &e.ProjectID, &e.ProjectName, &e.Name, &e.Revision, &e.CurrentReleaseID, timeCol{&e.CreatedAt})
	return e, err
}

// GetEnv returns the env by project and env name, with ProjectName filled;
// ErrNotFound if either is missing. Deleted envs (tombstones, see DeleteEnv)
// are never returned by GetEnv, GetEnvByID or ListEnvs.
func (s *Store) GetEnv(ctx context.Context, project, env string) (Env, error) {
	e, err := scanEnv(s.queryRow(ctx, s.db, `SELECT `+envCols+` WHERE p.name = ? AND e.name = ? AND e.deleted_at IS NULL`, project, env))
	if err != nil {
		return Env{}, s.fail(err, "get env %s/%s", project, env)
	}
	return e, nil
}

// ListEnvs returns the envs of a project, ordered by name.
func (s *Store) ListEnvs(ctx context.Context, projectID string) ([]Env, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+envCols+` WHERE e.project_id = ? AND e.deleted_at IS NULL ORDER BY e.name`, projectID)
	if err != nil {
		return nil, s.fail(err, "list envs")
	}
	out, err := collect(rows, scanEnv)
	if err != nil {
		return nil, s.fail(err, "list envs")
	}
	return out, nil
}

// PutConnection creates or replaces the connection (c.EnvID, c.Name) and
// bumps the env's revision (SPEC §8.1), in one transaction. A new row gets
// c.ID, version 1 and CreatedAt = UpdatedAt = c.UpdatedAt; an existing one
// keeps its id and CreatedAt, takes the new engine, ciphertext, key version
// and redacted URL, and its version goes up by one. It returns the stored
// row and whether it was created. An unknown env → ErrNotFound.
func (s *Store) PutConnection(ctx context.Context, c Connection) (Connection, bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Bumping first also locks the env row on PostgreSQL, so concurrent
		// puts to one env queue here instead of racing in the upsert.
		res, err := s.exec(ctx, tx, `UPDATE envs SET revision = revision + 1 WHERE id = ?`, c.EnvID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		if err := s.notifyRevision(ctx, tx, "id = ?", c.EnvID); err != nil {
			return err
		}
		return s.queryRow(ctx, tx, `
INSERT INTO connections
    (id, env_id, name, engine, ciphertext, key_version, redacted_url, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (env_id, name) DO UPDATE SET
    engine       = excluded.engine,
    ciphertext   = excluded.ciphertext,
    key_version  = excluded.key_version,
    redacted_url = excluded.redacted_url,
    version      = connections.version + 1,
    updated_at   = excluded.updated_at
RETURNING id, version, created_at, updated_at`,
			c.ID, c.EnvID, c.Name, c.Engine, c.Ciphertext, c.KeyVersion, c.RedactedURL,
			micros(c.UpdatedAt), micros(c.UpdatedAt),
		).Scan(&c.ID, &c.Version, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	})
	if err != nil {
		return Connection{}, false, s.fail(err, "put connection %q", c.Name)
	}
	// Versions only grow from 1, so version 1 means the row is new.
	return c, c.Version == 1, nil
}

const connectionCols = `id, env_id, name, engine, ciphertext, key_version, redacted_url, version, created_at, updated_at FROM connections`

func scanConnection(sc interface{ Scan(...any) error }) (Connection, error) {
	var c Connection
	err := sc.Scan(&c.ID, &c.EnvID, &c.Name, &c.Engine, &c.Ciphertext, &c.KeyVersion, &c.RedactedURL,
		&c.Version, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

// GetConnection returns the connection called name in the env.
func (s *Store) GetConnection(ctx context.Context, envID, name string) (Connection, error) {
	c, err := scanConnection(s.queryRow(ctx, s.db, `SELECT `+connectionCols+` WHERE env_id = ? AND name = ?`, envID, name))
	if err != nil {
		return Connection{}, s.fail(err, "get connection %q", name)
	}
	return c, nil
}

// ListConnections returns the connections of an env, ordered by name.
func (s *Store) ListConnections(ctx context.Context, envID string) ([]Connection, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+connectionCols+` WHERE env_id = ? ORDER BY name`, envID)
	if err != nil {
		return nil, s.fail(err, "list connections")
	}
	out, err := collect(rows, scanConnection)
	if err != nil {
		return nil, s.fail(err, "list connections")
	}
	return out, nil
}

// CreateSnapshot stores an immutable snapshot (there is no update or
// delete). A taken id → ErrConflict; an unknown env → ErrNotFound.
func (s *Store) CreateSnapshot(ctx context.Context, sn Snapshot) error {
	_, err := s.exec(ctx, s.db,
		`INSERT INTO snapshots (id, env_id, connection, engine, hash, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sn.ID, sn.EnvID, sn.Connection, sn.Engine, sn.Hash, sn.Content, micros(sn.CreatedAt))
	if err != nil {
		return s.fail(err, "create snapshot %q", sn.ID)
	}
	return nil
}

const snapshotCols = `id, env_id, connection, engine, hash, content, created_at`

func scanSnapshot(sc interface{ Scan(...any) error }) (Snapshot, error) {
	var sn Snapshot
	err := sc.Scan(&sn.ID, &sn.EnvID, &sn.Connection, &sn.Engine, &sn.Hash, &sn.Content, timeCol{&sn.CreatedAt})
	return sn, err
}

// GetSnapshot returns a snapshot of the env by id.
func (s *Store) GetSnapshot(ctx context.Context, envID, id string) (Snapshot, error) {
	sn, err := scanSnapshot(s.queryRow(ctx, s.db,
		`SELECT `+snapshotCols+` FROM snapshots WHERE env_id = ? AND id = ?`, envID, id))
	if err != nil {
		return Snapshot{}, s.fail(err, "get snapshot %q", id)
	}
	return sn, nil
}

// LatestSnapshot returns the newest snapshot of one connection of the env
// (by created_at, then id, which is sortable).
func (s *Store) LatestSnapshot(ctx context.Context, envID, connection string) (Snapshot, error) {
	sn, err := scanSnapshot(s.queryRow(ctx, s.db, `SELECT `+snapshotCols+` FROM snapshots
WHERE env_id = ? AND connection = ? ORDER BY created_at DESC, id DESC LIMIT 1`, envID, connection))
	if err != nil {
		return Snapshot{}, s.fail(err, "latest snapshot of %q", connection)
	}
	return sn, nil
}

// LatestSnapshots returns the newest snapshot of each connection of the env
// (the staged schema a release freezes, SPEC §9), ordered by connection.
func (s *Store) LatestSnapshots(ctx context.Context, envID string) ([]Snapshot, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+snapshotCols+` FROM (
    SELECT `+snapshotCols+`,
        ROW_NUMBER() OVER (PARTITION BY connection ORDER BY created_at DESC, id DESC) AS rn
    FROM snapshots WHERE env_id = ?
) newest WHERE rn = 1 ORDER BY connection`, envID)
	if err != nil {
		return nil, s.fail(err, "latest snapshots")
	}
	out, err := collect(rows, scanSnapshot)
	if err != nil {
		return nil, s.fail(err, "latest snapshots")
	}
	return out, nil
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{} // an empty list, not nil, so that JSON says []
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
