// Package execute runs a plan (packages/core/plan) on a database pool and
// writes the /call response body (SPEC §4.5): a select runs alone (on
// PostgreSQL in a pipeline it may share with concurrent calls' selects,
// packages/bridge/internal/pgpipe), or with its count in the same
// read-only snapshot; writes run in a transaction,
// update/delete roll back when they touch more rows than the cap (SPEC §4.6).
// A logic (SPEC §6) runs as a read when readonly, as a write otherwise,
// and fails past the row cap (STK_MAX_LIMIT) rather than truncating.
// Rows are encoded straight from the driver's values into the response
// buffer by the plan's normalized column types, the same on PostgreSQL and
// SQLite. Errors are mapped to §3 errors without forwarding driver text.
package execute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/core/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Executor runs plans with the Bridge's limits.
type Executor struct {
	// StatementTimeout is the per-statement limit (STK_STATEMENT_TIMEOUT).
	// PostgreSQL enforces it server-side (statement_timeout, set by
	// dbpool); the context deadline derived from it is the backstop, and
	// SQLite's only enforcement (an interrupt).
	StatementTimeout time.Duration
	// MaxAffected caps the rows one update/delete may touch (0: no cap).
	MaxAffected int
	// Tracer makes a span per SQL statement (nil: tracing off).
	Tracer *tracing.Tracer
}

// Result summarizes a run for logs and metrics.
type Result struct {
	Rows     int
	Affected int64
	Total    int64
}

// backstopSlack lets PostgreSQL's own statement_timeout fire (and keep the
// connection) before the context deadline does.
const backstopSlack = time.Second

// textResults asks PostgreSQL for every result column in text format: the
// encoder reads one well-defined text form per type (the session's
// TimeZone, DateStyle and bytea_output are pinned by dbpool) and embeds
// json/jsonb text as it is.
var textResults = pgx.QueryResultFormats{pgx.TextFormatCode}

// Run executes p on pool and appends the response body {"data": [...],
// "meta": {...}} to dst. On error dst's content is to be discarded; the
// error is an *apierr.Error.
func (x *Executor) Run(ctx context.Context, pool *dbpool.Pool, p *plan.Plan, dst []byte) ([]byte, Result, error) {
	statements := 1
	if p.CountSQL != "" {
		statements = 2
	}
	limit := x.StatementTimeout * time.Duration(statements)
	if pool.Engine == dbpool.Postgres {
		limit += backstopSlack
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r := run{x: x, p: p, out: dst}
	var err error
	switch pool.Engine {
	case dbpool.Postgres:
		err = r.postgres(runCtx, pool)
	case dbpool.SQLite:
		err = r.sqlite(runCtx, pool)
	default:
		err = fmt.Errorf("engine %q", pool.Engine)
	}
	if err != nil {
		if p.Readonly && writeRefused(err) {
			// Decision 0024: the release's statement, not the database,
			// is at fault; the message names the logic, never the SQL.
			return dst, r.res, apierr.Wrap(apierr.Forbidden, err, "logic %s is readonly: its statement may not write", p.Logic)
		}
		return dst, r.res, mapError(ctx, err, x.StatementTimeout)
	}
	return r.out, r.res, nil
}

type run struct {
	x   *Executor
	p   *plan.Plan
	out []byte
	res Result
	// cols is the shape rows are encoded with: the plan's, or, when the
	// plan does not know it (custom SQL), the result's own.
	cols []plan.Column
}

// capped reports whether the plan is subject to the affected-row cap.
func (r *run) capped() bool { return r.p.CapAffected && r.x.MaxAffected > 0 }

func (r *run) overCap() error {
	return apierr.New(apierr.BadRequest, "the %s would touch more than %d rows (the limit per call); narrow the where filter", string(r.p.Op), r.x.MaxAffected).
		WithDetail("maxAffected", r.x.MaxAffected)
}

func (r *run) setColumns(cols []plan.Column) { r.cols = cols }

// checkFailed answers a written row that does not satisfy the rule's check
// (SPEC §5.2); returning it makes Run roll the transaction back.
func (r *run) checkFailed() error { return apierr.New(apierr.Forbidden, "%s", r.p.CheckMessage) }

// appendKey writes `"name":` for column i. Encoding it per row costs less
// than allocating the keys per request: most calls return one or few rows.
func (r *run) appendKey(i int) {
	r.out = jsonscan.AppendString(r.out, r.cols[i].Name)
	r.out = append(r.out, ':')
}

func (r *run) beginData() { r.out = append(r.out, `{"data":[`...) }

// endData closes data and writes meta.
func (r *run) endData(total, affected bool) {
	r.out = append(r.out, `],"meta":{`...)
	if total {
		r.out = append(r.out, `"total":`...)
		r.out = strconv.AppendInt(r.out, r.res.Total, 10)
	}
	if affected {
		if total {
			r.out = append(r.out, ',')
		}
		r.out = append(r.out, `"affected":`...)
		r.out = strconv.AppendInt(r.out, r.res.Affected, 10)
	}
	r.out = append(r.out, `}}`...)
}

// wantsAffected: Auto CRUD writes report meta.affected; a logic reports
// it when its statement returns no rows (SPEC §4.5).
func (r *run) wantsAffected(resultCols int) bool {
	if r.p.Logic != "" {
		return resultCols == 0
	}
	return r.p.Write || resultCols == 0 && r.p.Op != plan.Select
}

// overRows reports whether n rows are more than a logic may return; the
// caller then fails the run, which rolls its transaction back (SPEC §4.6:
// never truncation).
func (r *run) overRows(n int) error {
	if r.p.MaxRows <= 0 || n <= r.p.MaxRows {
		return nil
	}
	return apierr.New(apierr.BadRequest, "logic %s returned more than %d rows (the limit per call, STK_MAX_LIMIT); narrow it with its params or a LIMIT", r.p.Logic, r.p.MaxRows).
		WithDetail("maxRows", r.p.MaxRows)
}

// ---- Tracing ----

// statement starts the span of one SQL statement of the plan (SPEC §12):
// db.system, db.operation and the table (or the logic's name) — never the
// SQL text or its arguments. With tracing off it costs a nil check.
func (r *run) statement(ctx context.Context, engine string, count bool) (context.Context, trace.Span) {
	if !r.x.Tracer.Enabled() {
		return ctx, noSpan()
	}
	system := "postgresql"
	if engine == dbpool.SQLite {
		system = "sqlite"
	}
	op, target := strings.ToUpper(string(r.p.Op)), r.p.Table
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String("db.system", system), attribute.String("santokit.connection", r.p.Connection))
	if r.p.Logic != "" {
		op, target = leadingKeyword(r.p.SQL), r.p.Logic
		attrs = append(attrs, attribute.String("santokit.logic", r.p.Logic))
	} else {
		attrs = append(attrs, attribute.String("db.sql.table", r.p.Table))
	}
	if count {
		op = "SELECT"
		attrs = append(attrs, attribute.String("santokit.statement", "count"))
	}
	attrs = append(attrs, attribute.String("db.operation", op))
	return r.x.Tracer.Start(ctx, op+" "+target, trace.SpanKindClient, attrs...)
}

// done ends a statement's span, failed when err is not nil (with a fixed
// description: a driver's message may quote row values).
func (r *run) done(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		tracing.Fail(span, "statement failed")
	}
	span.End()
}

// noSpan is the non-recording span.
func noSpan() trace.Span { return trace.SpanFromContext(context.Background()) }

// leadingKeyword is the first word of a logic's SQL (SELECT, WITH,
// INSERT, …): its operation, never its text.
func leadingKeyword(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n(")
	end := 0
	for end < len(sql) && end < 16 && (sql[end]|0x20 >= 'a' && sql[end]|0x20 <= 'z') {
		end++
	}
	if end == 0 {
		return "QUERY"
	}
	return strings.ToUpper(sql[:end])
}

// ---- PostgreSQL ----

func (r *run) postgres(ctx context.Context, pool *dbpool.Pool) error {
	if !r.p.Write && r.p.CountSQL == "" {
		// One read statement: it may share a pipeline with others'.
		// The connections' transactions are read-only by default
		// (dbpool), which is what refuses a write in a readonly logic.
		ctx, span := r.statement(ctx, pool.Engine, false)
		err := pool.Reads.Query(ctx, r.p.SQL, r.p.Args, r.readSingle)
		r.done(span, err)
		return err
	}
	conn, err := pool.PG.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// Connections are read-only by default (dbpool): writes say so.
	opts := pgx.TxOptions{AccessMode: pgx.ReadWrite}
	if !r.p.Write {
		// One snapshot for the rows and their count.
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		// A rollback after commit is a no-op; a rollback with an expired
		// ctx would close the connection, so it gets its own.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := r.pgRows(ctx, tx); err != nil {
		return err
	}
	if !r.p.Write {
		return tx.Commit(ctx)
	}
	if r.capped() && r.res.Affected > int64(r.x.MaxAffected) {
		return r.overCap()
	}
	return tx.Commit(ctx)
}

// readSingle writes the body of a plan that is one read statement.
func (r *run) readSingle(rr *pgconn.ResultReader) error {
	fields, err := r.encodePG(rr)
	if err != nil {
		return err
	}
	r.endData(false, r.wantsAffected(fields))
	return nil
}

// pgResult is a statement's result being read: a *pgconn.ResultReader, or
// pgx.Rows as pgxResult.
type pgResult interface {
	FieldDescriptions() []pgconn.FieldDescription
	NextRow() bool
	Values() [][]byte
	Close() (pgconn.CommandTag, error)
}

type pgxResult struct{ pgx.Rows }

func (r pgxResult) NextRow() bool    { return r.Next() }
func (r pgxResult) Values() [][]byte { return r.RawValues() }
func (r pgxResult) Close() (pgconn.CommandTag, error) {
	r.Rows.Close()
	return r.CommandTag(), r.Err()
}

type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgRows runs the plan's statement, and its count, in a transaction.
func (r *run) pgRows(ctx context.Context, q pgQuerier) error {
	fields, err := r.pgMain(ctx, q)
	if err != nil {
		return err
	}
	total := false
	if r.p.CountSQL != "" {
		total = true
		if err := r.pgCount(ctx, q); err != nil {
			return err
		}
	}
	r.endData(total, r.wantsAffected(fields))
	return nil
}

// pgMain runs the plan's statement and encodes its rows.
func (r *run) pgMain(ctx context.Context, q pgQuerier) (fields int, err error) {
	ctx, span := r.statement(ctx, dbpool.Postgres, false)
	defer func() { r.done(span, err) }()
	rows, err := q.Query(ctx, r.p.SQL, append([]any{textResults}, r.p.Args...)...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	return r.encodePG(pgxResult{rows})
}

// pgCount runs the plan's count statement into r.res.Total.
func (r *run) pgCount(ctx context.Context, q pgQuerier) (err error) {
	ctx, span := r.statement(ctx, dbpool.Postgres, true)
	defer func() { r.done(span, err) }()
	var raw []byte
	crow, err := q.Query(ctx, r.p.CountSQL, append([]any{textResults}, r.p.CountArgs...)...)
	if err != nil {
		return err
	}
	for crow.Next() {
		if v := crow.RawValues(); len(v) > 0 {
			raw = append(raw[:0], v[0]...)
		}
	}
	crow.Close()
	if err := crow.Err(); err != nil {
		return err
	}
	if r.res.Total, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	return nil
}

// encodePG writes res's rows as the data array's elements (after
// beginData) and closes res; it returns the result's column count.
func (r *run) encodePG(res pgResult) (int, error) {
	fields := res.FieldDescriptions()
	cols := r.p.Columns
	switch {
	case r.p.Check && len(fields) == 0:
		// A statement that failed before describing its result (a
		// constraint violation): res.Close below reports its error.
	case r.p.Check:
		// The last field is the rule's check, not a response column.
		if len(fields) != len(cols)+1 {
			return 0, apierr.Wrap(apierr.Internal, fmt.Errorf("plan has %d columns and a check, result %d", len(cols), len(fields)), "internal error")
		}
		fields = fields[:len(cols)]
	case len(cols) == 0 && len(fields) > 0:
		cols = make([]plan.Column, len(fields))
		for i, f := range fields {
			cols[i] = plan.Column{Name: f.Name, Type: pgOIDType(f.DataTypeOID)}
		}
	case len(cols) != len(fields) && len(fields) > 0:
		return 0, apierr.Wrap(apierr.Internal, fmt.Errorf("plan has %d columns, result %d", len(cols), len(fields)), "internal error")
	}
	r.setColumns(cols)
	r.beginData()
	n := 0
	for res.NextRow() {
		n++
		if r.capped() && n > r.x.MaxAffected {
			return 0, r.overCap()
		}
		if err := r.overRows(n); err != nil {
			return 0, err
		}
		raw := res.Values()
		if r.p.Check {
			if c := raw[len(raw)-1]; len(c) != 1 || c[0] != '1' {
				return 0, r.checkFailed()
			}
			raw = raw[:len(raw)-1]
			if len(raw) == 0 {
				continue // returning: false
			}
		}
		if n > 1 {
			r.out = append(r.out, ',')
		}
		r.out = append(r.out, '{')
		for i, v := range raw {
			if i > 0 {
				r.out = append(r.out, ',')
			}
			r.appendKey(i)
			r.out = appendPG(r.out, cols[i].Type, v)
		}
		r.out = append(r.out, '}')
	}
	tag, err := res.Close()
	if err != nil {
		return 0, err
	}
	r.res.Rows = n
	if len(fields) == 0 {
		// No result columns: data stays empty.
		r.res.Rows = 0
	}

	r.res.Affected = tag.RowsAffected()
	return len(fields), nil
}

// pgOIDType normalizes the built-in types a custom statement's result may
// have; anything else reads as other (text).
func pgOIDType(oid uint32) string {
	switch oid {
	case 16:
		return schema.Boolean
	case 20:
		return schema.Bigint
	case 21, 23:
		return schema.Integer
	case 25, 1043, 1042, 19:
		return schema.Text
	case 700, 701:
		return schema.Float
	case 1700:
		return schema.Numeric
	case 1184:
		return schema.Timestamptz
	case 1114:
		return schema.Timestamp
	case 1082:
		return schema.Date
	case 1083:
		return schema.Time
	case 2950:
		return schema.UUID
	case 114:
		return schema.JSON
	case 3802:
		return schema.JSONB
	case 17:
		return schema.Bytea
	case 1000:
		return schema.ArrayOf(schema.Boolean)
	case 1005, 1007:
		return schema.ArrayOf(schema.Integer)
	case 1016:
		return schema.ArrayOf(schema.Bigint)
	case 1009, 1015, 1014:
		return schema.ArrayOf(schema.Text)
	case 1021, 1022:
		return schema.ArrayOf(schema.Float)
	case 1231:
		return schema.ArrayOf(schema.Numeric)
	case 1185:
		return schema.ArrayOf(schema.Timestamptz)
	case 1115:
		return schema.ArrayOf(schema.Timestamp)
	case 1182:
		return schema.ArrayOf(schema.Date)
	case 1183:
		return schema.ArrayOf(schema.Time)
	case 2951:
		return schema.ArrayOf(schema.UUID)
	case 199:
		return schema.ArrayOf(schema.JSON)
	case 3807:
		return schema.ArrayOf(schema.JSONB)
	case 1001:
		return schema.ArrayOf(schema.Bytea)
	}
	return schema.Other
}

// ---- SQLite ----

type sqlQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (r *run) sqlite(ctx context.Context, pool *dbpool.Pool) error {
	if !r.p.Write && r.p.CountSQL == "" {
		return r.sqliteRows(ctx, pool.Read, false)
	}
	db := pool.Read
	if r.p.Write {
		db = pool.Write // BEGIN IMMEDIATE: writers queue on the lock
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := r.sqliteRows(ctx, tx, true); err != nil {
		return err
	}
	if r.p.Write && r.capped() && r.res.Affected > int64(r.x.MaxAffected) {
		return r.overCap()
	}
	return tx.Commit()
}

func (r *run) sqliteRows(ctx context.Context, q sqlQuerier, inTx bool) (err error) {
	// The statement's span ends before the count's, its sibling, starts.
	sctx, span := r.statement(ctx, dbpool.SQLite, false)
	defer func() { r.done(span, err) }()
	rows, err := q.QueryContext(sctx, r.p.SQL, r.p.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	cols := r.p.Columns
	check := r.p.Check
	if check {
		if len(names) != len(cols)+1 {
			return apierr.Wrap(apierr.Internal, fmt.Errorf("plan has %d columns and a check, result %d", len(cols), len(names)), "internal error")
		}
	} else if len(cols) == 0 && len(names) > 0 {
		types, _ := rows.ColumnTypes()
		cols = make([]plan.Column, len(names))
		for i, n := range names {
			// An expression has no declared type: its values are encoded
			// by their storage class ("" below).
			t := ""
			if i < len(types) && types[i].DatabaseTypeName() != "" {
				t = schema.NormalizeSQLite(types[i].DatabaseTypeName())
			}
			cols[i] = plan.Column{Name: n, Type: t}
		}
	} else if len(cols) != len(names) && len(names) > 0 {
		return apierr.Wrap(apierr.Internal, fmt.Errorf("plan has %d columns, result %d", len(cols), len(names)), "internal error")
	}
	r.setColumns(cols)
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	r.beginData()
	n := 0
	for rows.Next() {
		n++
		if r.capped() && n > r.x.MaxAffected {
			return r.overCap()
		}
		if err := r.overRows(n); err != nil {
			return err
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := vals
		if check {
			if c, ok := row[len(row)-1].(int64); !ok || c != 1 {
				return r.checkFailed()
			}
			row = row[:len(row)-1]
			if len(row) == 0 {
				continue // returning: false
			}
		}
		if n > 1 {
			r.out = append(r.out, ',')
		}
		r.out = append(r.out, '{')
		for i, v := range row {
			if i > 0 {
				r.out = append(r.out, ',')
			}
			r.appendKey(i)
			r.out = appendSQLite(r.out, cols[i].Type, v)
		}
		r.out = append(r.out, '}')
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	r.res.Rows = n
	if check && len(cols) == 0 {
		r.res.Rows = 0
	}
	affected := r.wantsAffected(len(names))
	if affected {
		if len(names) > 0 {
			r.res.Affected = int64(n) // RETURNING: one row per written row
		} else if inTx {
			// changes() of this connection: the transaction's.
			if err := q.(*sql.Tx).QueryRowContext(sctx, "SELECT changes()").Scan(&r.res.Affected); err != nil {
				return err
			}
		}
	}
	total := false
	if r.p.CountSQL != "" {
		r.done(span, nil)
		span = noSpan()
		total = true
		tx, ok := q.(*sql.Tx)
		if !ok {
			return errors.New("count outside a transaction")
		}
		cctx, cspan := r.statement(ctx, dbpool.SQLite, true)
		err := tx.QueryRowContext(cctx, r.p.CountSQL, r.p.CountArgs...).Scan(&r.res.Total)
		if r.done(cspan, err); err != nil {
			return err
		}
	}
	r.endData(total, affected)
	return nil
}
