package introspect

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// Statement is what a database said of one logic statement (SPEC §6).
type Statement struct {
	// Columns are the result columns with normalized types (empty for a
	// statement without a result, and on SQLite for a write, whose result
	// columns SQLite only tells by running it).
	Columns []logic.Column
	// ParamTypes are the database's types of $1… (PostgreSQL only).
	ParamTypes []string
	// Problem is why the statement does not prepare, in words safe to show
	// (the server's message, never its Detail, no URL); "" when it did.
	// Offset is the 0-based byte offset in the SQL the server pointed at,
	// or -1.
	Problem string
	Offset  int
}

// Describe prepares each statement on one connection to the database at
// url (if targets allows it) without running it, and reports its types or
// why it does not prepare. The error is a *ProbeError for a failure to
// reach the database at all; a statement that does not prepare is not an
// error but a Statement.Problem.
func Describe(ctx context.Context, targets *dbtarget.Policy, engine, url string, sqls []string) ([]Statement, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		out []Statement
		err error
	)
	switch engine {
	case schema.EnginePostgres:
		out, err = pgDescribe(ctx, targets, url, sqls)
	case schema.EngineSQLite:
		out, err = sqliteDescribe(ctx, targets, url, sqls)
	default:
		return nil, &ProbeError{Category: CategoryUnsupportedEngine}
	}
	if err != nil {
		return nil, finish(ctx, err, CategoryCatalog)
	}
	return out, nil
}

func pgDescribe(ctx context.Context, targets *dbtarget.Policy, rawURL string, sqls []string) ([]Statement, error) {
	conn, err := pgConnect(ctx, targets, rawURL)
	if err != nil {
		return nil, err
	}
	defer pgClose(conn)
	if _, err := conn.Exec(ctx, "SELECT pg_catalog.set_config('statement_timeout', $1, false)", statementTimeout(ctx)); err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	out := make([]Statement, len(sqls))
	// The OIDs of each statement's columns and params, named once all are
	// known, with one catalog query.
	var (
		oids             []uint32
		colOIDs, parOIDs = make([][]uint32, len(sqls)), make([][]uint32, len(sqls))
	)
	for i, q := range sqls {
		// The unnamed statement: Parse and Describe, never Execute.
		d, err := conn.Prepare(ctx, "", q)
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				return nil, wrap(err, CategoryCatalog)
			}
			out[i] = Statement{Problem: pgErr.Message, Offset: pgOffset(q, int(pgErr.Position))}
			continue
		}
		out[i].Offset = -1
		for _, f := range d.Fields {
			out[i].Columns = append(out[i].Columns, logic.Column{Name: f.Name})
			colOIDs[i] = append(colOIDs[i], f.DataTypeOID)
		}
		parOIDs[i] = d.ParamOIDs
		oids = append(append(oids, colOIDs[i]...), d.ParamOIDs...)
	}
	if len(oids) == 0 {
		return out, nil
	}
	types, names, err := pgTypesOf(ctx, conn, oids)
	if err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	for i := range out {
		for j, o := range colOIDs[i] {
			out[i].Columns[j].Type = schema.NormalizePostgres(pgType(types, o, 0))
		}
		for _, o := range parOIDs[i] {
			out[i].ParamTypes = append(out[i].ParamTypes, names[o])
		}
	}
	return out, nil
}

// pgTypesOfSQL reads the given types and those they are built on.
const pgTypesOfSQL = `WITH RECURSIVE ty(oid) AS (
	SELECT unnest($1::oid[])
	UNION
	SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
	FROM pg_catalog.pg_type t
	JOIN ty ON ty.oid = t.oid
	WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
)
SELECT t.oid, t.typname::text, t.typtype::text,
	t.typcategory = 'A' AND t.typelem <> 0, t.typelem, t.typbasetype,
	pg_catalog.format_type(t.oid, NULL)
FROM pg_catalog.pg_type t
JOIN ty ON ty.oid = t.oid`

func pgTypesOf(ctx context.Context, conn *pgx.Conn, oids []uint32) (map[uint32]pgTypeRow, map[uint32]string, error) {
	rows, err := conn.Query(ctx, pgTypesOfSQL, oids)
	if err != nil {
		return nil, nil, err
	}
	types := map[uint32]pgTypeRow{}
	names := map[uint32]string{}
	var (
		oid    uint32
		tr     pgTypeRow
		format string
	)
	_, err = pgx.ForEachRow(rows, []any{&oid, &tr.name, &tr.kind, &tr.isArray, &tr.elem, &tr.base, &format}, func() error {
		types[oid] = tr
		names[oid] = format
		return nil
	})
	return types, names, err
}

// pgOffset turns the server's 1-based character position into a byte
// offset of q (-1 when none).
func pgOffset(q string, pos int) int {
	if pos <= 0 {
		return -1
	}
	off := 0
	for n := 1; n < pos && off < len(q); n++ {
		_, size := utf8.DecodeRuneInString(q[off:])
		off += size
	}
	return off
}

// sqliteDescribe prepares each statement with EXPLAIN (which compiles it
// without running it) on the read-only connection of sqliteOpen; a
// statement that reads gets its result columns from a query that is never
// stepped past its first row, and whose connection cannot write.
func sqliteDescribe(ctx context.Context, targets *dbtarget.Policy, rawURL string, sqls []string) ([]Statement, error) {
	conn, done, err := sqliteOpen(ctx, targets, rawURL)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make([]Statement, len(sqls))
	for i, q := range sqls {
		// Zeros, not NULLs: SQLite refuses a NULL LIMIT or OFFSET when the
		// statement runs, and the result columns are read by running it
		// (zero rows at LIMIT 0, at most one row stepped otherwise).
		args := make([]any, maxSQLiteParam(q))
		for j := range args {
			args[j] = int64(0)
		}
		rows, err := conn.QueryContext(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			out[i] = Statement{Problem: sqliteMessage(err), Offset: -1}
			continue
		}
		_ = rows.Close()
		out[i].Offset = -1
		cols, err := sqliteColumns(ctx, conn, q, args)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		out[i].Columns = cols
	}
	return out, nil
}

// sqliteColumns reads a statement's result columns and their declared
// types; nil for a statement that writes (the connection is read-only).
func sqliteColumns(ctx context.Context, conn *sql.Conn, q string, args []any) ([]logic.Column, error) {
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := make([]logic.Column, 0, len(types))
	for _, t := range types {
		cols = append(cols, logic.Column{Name: t.Name(), Type: schema.NormalizeSQLite(t.DatabaseTypeName())})
	}
	return cols, nil
}

// maxSQLiteParam is the highest ?NNN of a compiled statement (the
// statement's own '?' are refused by the logic scanner).
func maxSQLiteParam(q string) int {
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			continue
		}
		v := 0
		for j := i + 1; j < len(q) && q[j] >= '0' && q[j] <= '9'; j++ {
			v = v*10 + int(q[j]-'0')
			if v > 999 {
				break
			}
		}
		n = max(n, v)
	}
	return n
}

// sqliteMessage is SQLite's reason without the driver's prefix and error
// code ("SQL logic error: no such table: x (1)" → "no such table: x").
func sqliteMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	msg = strings.TrimPrefix(msg, "SQL logic error: ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}
