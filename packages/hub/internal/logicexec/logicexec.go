// Package logicexec runs one compiled logic statement for the Hub's
// `stk logic run` (SPEC §6): on a short-lived connection the connection
// policy allows, in one transaction (read-only for readonly logic) bounded
// by a statement timeout, with every value bound. Rows come back as JSON
// objects in the statement's column order. Database errors are mapped to
// §3 errors that name a constraint or a category, never a value.
package logicexec

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

// Statement is what to run.
type Statement struct {
	Engine, URL string
	SQL         string
	Args        []any
	Readonly    bool
	// Timeout is the statement timeout; MaxRows bounds the rows returned
	// (more is an error, never a truncation, as for /call).
	Timeout time.Duration
	MaxRows int
}

// Result is rows (Data, a JSON array) for a statement that returns
// columns, Affected otherwise.
type Result struct {
	Data     json.RawMessage
	HasRows  bool
	Affected int64
}

// ConnError is a failure to reach the database (not the statement's): the
// caller reports it as unreachable, by category.
type ConnError struct{ Err error }

func (e *ConnError) Error() string { return "database unreachable" }
func (e *ConnError) Unwrap() error { return e.Err }

// Run runs st. Errors are *ConnError or *apierr.Error.
func Run(ctx context.Context, targets *dbtarget.Policy, st Statement) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, st.Timeout+5*time.Second)
	defer cancel()
	switch st.Engine {
	case schema.EnginePostgres:
		return runPG(ctx, targets, st)
	case schema.EngineSQLite:
		return runSQLite(ctx, targets, st)
	}
	return Result{}, apierr.New(apierr.BadRequest, "unsupported engine %q", st.Engine)
}

func runPG(ctx context.Context, targets *dbtarget.Policy, st Statement) (Result, error) {
	cfg, err := targets.Postgres(ctx, st.URL)
	if err != nil {
		return Result{}, &ConnError{err}
	}
	cfg.RuntimeParams["application_name"] = "santokit-hub"
	// The text forms of textOIDs: ISO dates as the Bridge's (dbpool);
	// intervals in the style pgx parses (it refuses iso_8601).
	cfg.RuntimeParams["DateStyle"] = "ISO, MDY"
	cfg.RuntimeParams["IntervalStyle"] = "postgres"
	// Describe first, so that values are encoded for the types the server
	// expects (a string for a numeric or date param), without caching.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return Result{}, &ConnError{err}
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(c)
	}()
	mode := pgx.ReadWrite
	if st.Readonly {
		mode = pgx.ReadOnly
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: mode})
	if err != nil {
		return Result{}, &ConnError{err}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The server cancels a slow statement itself (ARCHITECTURE §5).
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('statement_timeout', $1, true)",
		strconv.FormatInt(max(st.Timeout.Milliseconds(), 1), 10)); err != nil {
		return Result{}, &ConnError{err}
	}
	rows, err := tx.Query(ctx, st.SQL, append([]any{textOIDs}, st.Args...)...)
	if err != nil {
		return Result{}, pgErr(err)
	}
	fields := rows.FieldDescriptions()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	w := newRowWriter(names, st.MaxRows)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			rows.Close()
			return Result{}, pgErr(err)
		}
		raw := rows.RawValues()
		for i, f := range fields {
			if _, text := textOIDs[f.DataTypeOID]; text && i < len(raw) && raw[i] != nil {
				vals[i] = string(raw[i])
			}
		}
		if err := w.add(vals); err != nil {
			rows.Close()
			return Result{}, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Result{}, pgErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, pgErr(err)
	}
	if len(fields) == 0 {
		return Result{Affected: rows.CommandTag().RowsAffected()}, nil
	}
	return Result{Data: w.done(), HasRows: true}, nil
}

// textOIDs are the types read as the server's text: pgx decodes them
// into Go values that JSON renders wrongly (a date as a midnight
// timestamp, time and interval as structs).
var textOIDs = pgx.QueryResultFormatsByOID{
	1082: pgx.TextFormatCode, // date
	1083: pgx.TextFormatCode, // time
	1266: pgx.TextFormatCode, // timetz
	1186: pgx.TextFormatCode, // interval
}

// pgErr maps a statement's error (SPEC §3): constraint violations name the
// constraint, a cancelled statement is a timeout, and anything else names
// only its SQLSTATE class.
func pgErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return &ConnError{err}
	}
	switch {
	case pe.Code == "23505" || pe.Code == "23503":
		return apierr.New(apierr.Conflict, "the statement violates constraint %s", pe.ConstraintName)
	case pe.Code == "23502":
		return apierr.New(apierr.BadRequest, "the statement leaves column %s NULL, which it may not be", pe.ColumnName)
	case pe.Code == "23514":
		return apierr.New(apierr.BadRequest, "the statement violates check constraint %s", pe.ConstraintName)
	case pe.Code == "57014":
		return apierr.New(apierr.Timeout, "the statement ran past its time limit")
	case pe.Code == "25006":
		return apierr.New(apierr.BadRequest, "the logic is readonly but its statement writes")
	case len(pe.Code) == 5 && pe.Code[:2] == "22":
		return apierr.New(apierr.BadRequest, "a param value does not fit the statement (SQLSTATE %s)", pe.Code)
	}
	return apierr.New(apierr.BadRequest, "the statement failed (SQLSTATE %s)", pe.Code)
}

func runSQLite(ctx context.Context, targets *dbtarget.Policy, st Statement) (Result, error) {
	abs, err := targets.SQLitePath(st.URL)
	if err != nil {
		return Result{}, &ConnError{err}
	}
	mode := "rw"
	if st.Readonly {
		mode = "ro"
	}
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: url.Values{
		"mode":    {mode},
		"_pragma": {"busy_timeout(5000)", "foreign_keys(1)"},
	}.Encode()}).String()
	db := sql.OpenDB(dbtarget.SQLiteConnector(dsn)) // no ATTACH: SPEC §2, §6
	defer db.Close()
	db.SetMaxOpenConns(1)
	// SQLite has no statement_timeout: the context interrupts it.
	qctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	tx, err := db.BeginTx(qctx, &sql.TxOptions{ReadOnly: st.Readonly})
	if err != nil {
		return Result{}, &ConnError{err}
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(qctx, st.SQL, st.Args...)
	if err != nil {
		return Result{}, sqliteErr(qctx, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return Result{}, sqliteErr(qctx, err)
	}
	w := newRowWriter(cols, st.MaxRows)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return Result{}, sqliteErr(qctx, err)
		}
		if err := w.add(vals); err != nil {
			rows.Close()
			return Result{}, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Result{}, sqliteErr(qctx, err)
	}
	var affected int64
	if len(cols) == 0 {
		if err := tx.QueryRowContext(qctx, "SELECT changes()").Scan(&affected); err != nil {
			return Result{}, sqliteErr(qctx, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Result{}, sqliteErr(qctx, err)
	}
	if len(cols) == 0 {
		return Result{Affected: affected}, nil
	}
	return Result{Data: w.done(), HasRows: true}, nil
}

func sqliteErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return apierr.New(apierr.Timeout, "the statement ran past its time limit")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		// Extended codes first: NOT NULL and CHECK are the values' fault
		// (400), as pgErr maps 23502 and 23514; other constraints conflict.
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return apierr.New(apierr.BadRequest, "the statement leaves a column NULL, which it may not be")
		case sqlite3.SQLITE_CONSTRAINT_CHECK:
			return apierr.New(apierr.BadRequest, "the statement violates a check constraint")
		}
		switch se.Code() & 0xff {
		case 19: // SQLITE_CONSTRAINT
			return apierr.New(apierr.Conflict, "the statement violates a constraint")
		case 8: // SQLITE_READONLY
			return apierr.New(apierr.BadRequest, "the logic is readonly but its statement writes")
		}
		return apierr.New(apierr.BadRequest, "the statement failed (SQLite code %d)", se.Code())
	}
	return &ConnError{err}
}

// rowWriter encodes rows as one JSON array of objects.
type rowWriter struct {
	keys [][]byte
	buf  bytes.Buffer
	n    int
	max  int
}

func newRowWriter(cols []string, maxRows int) *rowWriter {
	w := &rowWriter{max: maxRows}
	for _, c := range cols {
		k, _ := json.Marshal(c)
		w.keys = append(w.keys, k)
	}
	w.buf.WriteByte('[')
	return w
}

func (w *rowWriter) add(vals []any) error {
	w.n++
	if w.max > 0 && w.n > w.max {
		return apierr.New(apierr.BadRequest, "the statement returns more than %d rows: narrow it down", w.max)
	}
	if w.n > 1 {
		w.buf.WriteByte(',')
	}
	w.buf.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.Write(w.keys[i])
		w.buf.WriteByte(':')
		switch x := v.(type) {
		case [16]byte: // pgx's uuid
			v = fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
		case pgtype.InfinityModifier: // an infinite timestamp
			v = x.String()
		case float32:
			v = floatJSON(float64(x))
		case float64:
			v = floatJSON(x)
		}
		js, err := json.Marshal(v)
		if err != nil {
			js, _ = json.Marshal(fmt.Sprint(v))
		}
		w.buf.Write(js)
	}
	w.buf.WriteByte('}')
	return nil
}

// floatJSON is f, or the names PostgreSQL and the Bridge give NaN and the
// infinities, which JSON lacks.
func floatJSON(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func (w *rowWriter) done() json.RawMessage {
	w.buf.WriteByte(']')
	return w.buf.Bytes()
}
