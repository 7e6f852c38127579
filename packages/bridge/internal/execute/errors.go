package execute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
)

// Error mapping (SPEC §3, §4.2 step 7). Driver messages are never
// forwarded — a PostgreSQL Detail carries row values — so each error is
// rebuilt from structured fields (codes, constraint, table and column
// names); the driver's error stays the cause, for the Bridge's own log.

func unavailable(cause error) *apierr.Error {
	return apierr.Wrap(apierr.ServiceUnavailable, cause, "database unavailable")
}

// mapError turns an error of a query into a §3 error. timeout is the
// statement timeout, for the 504 message; reqCtx is the request's context
// (to tell a client that went away from a deadline).
func mapError(reqCtx context.Context, err error, timeout time.Duration) *apierr.Error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return mapPG(pgErr, timeout)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		if e := mapSQLite(se, timeout); e != nil {
			return e
		}
	}
	var refusal *dbtarget.Refusal
	switch {
	case reqCtx.Err() != nil:
		return apierr.Wrap(apierr.ServiceUnavailable, err, "request canceled")
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return timedOut(err, timeout)
	case errors.As(err, &refusal):
		// A DNS answer outside STK_DB_ALLOWED_HOSTS at dial time.
		return apierr.Wrap(apierr.ServiceUnavailable, err, "database unavailable: %s", refusal.Reason)
	case errors.Is(err, dbpool.ErrInvalidURL):
		return apierr.Wrap(apierr.ServiceUnavailable, err, "database unavailable: the connection URL is invalid")
	case errors.Is(err, dbpool.ErrClosed):
		return apierr.Wrap(apierr.ServiceUnavailable, err, "the Bridge is shutting down")
	}
	if se != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return unavailable(err)
	case strings.Contains(err.Error(), "failed to encode"), strings.Contains(err.Error(), "cannot find encode plan"):
		// An argument the planner built that pgx cannot send: our bug.
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	// Anything else from the driver outside a server error is about the
	// connection (closed, reset, pool closed).
	return unavailable(err)
}

// writeRefused reports whether err is a write refused by a read-only
// transaction (PostgreSQL 25006) or a query_only connection (SQLite
// SQLITE_READONLY): for a readonly logic, its statement tried to write.
func writeRefused(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "25006"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_READONLY
}

func timedOut(cause error, timeout time.Duration) *apierr.Error {
	return apierr.Wrap(apierr.Timeout, cause, "the statement ran past its time limit of %s", timeout)
}

func mapPG(e *pgconn.PgError, timeout time.Duration) *apierr.Error {
	table := e.TableName
	switch e.Code {
	case "23505": // unique_violation
		cols := detailColumns(e.Detail)
		return conflict(e, fmt.Sprintf("duplicate value for %s (unique constraint %s)", qualify(table, cols), e.ConstraintName), cols)
	case "23503": // foreign_key_violation
		cols := detailColumns(e.Detail)
		return conflict(e, fmt.Sprintf("foreign key constraint %s on %s violated: the referenced row does not exist, or rows still reference this one", e.ConstraintName, qualify(table, cols)), cols)
	case "23P01": // exclusion_violation
		return conflict(e, fmt.Sprintf("exclusion constraint %s on %s violated", e.ConstraintName, table), nil)
	case "23502": // not_null_violation
		return apierr.Wrap(apierr.BadRequest, e, "column %s must not be null", qualify(table, []string{e.ColumnName})).
			WithDetail("column", e.ColumnName).WithDetail("table", table)
	case "23514": // check_violation
		return apierr.Wrap(apierr.BadRequest, e, "check constraint %s on %s failed", e.ConstraintName, table).
			WithDetail("constraint", e.ConstraintName).WithDetail("table", table)
	case "57014": // query_canceled: statement_timeout
		return timedOut(e, timeout)
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return apierr.Wrap(apierr.ServiceUnavailable, e, "the statement conflicted with a concurrent transaction; retry")
	case "42P01", "42703": // undefined_table, undefined_column
		return apierr.Wrap(apierr.SchemaDrift, e, "the database no longer matches the release's schema snapshot (a table or column is missing)")
	case "428C9": // generated_always: a value for a GENERATED ALWAYS column
		col := e.ColumnName
		if rest, ok := strings.CutPrefix(e.Detail, `Column "`); ok && col == "" {
			col, _, _ = strings.Cut(rest, `"`)
		}
		return apierr.Wrap(apierr.BadRequest, e, "column %s is generated by the database and cannot be written", orUnknown(col)).
			WithDetail("column", col)
	case "22001":
		return apierr.Wrap(apierr.BadRequest, e, "a value is too long for its column%s", onColumn(e.ColumnName))
	case "22003":
		return apierr.Wrap(apierr.BadRequest, e, "a value is out of range for its column%s", onColumn(e.ColumnName))
	case "25006": // read_only_sql_transaction (a standby)
		return apierr.Wrap(apierr.ServiceUnavailable, e, "database unavailable: it is read-only")
	case "53300", "57P01", "57P02", "57P03", "3D000", "28000", "28P01":
		// too many connections, shutdown, cannot connect now, no such
		// database, authentication failed
		return unavailable(e)
	}
	switch {
	case strings.HasPrefix(e.Code, "22"): // data exception
		return apierr.Wrap(apierr.BadRequest, e, "a value is not valid for its column%s", onColumn(e.ColumnName))
	case strings.HasPrefix(e.Code, "08"), strings.HasPrefix(e.Code, "53"), strings.HasPrefix(e.Code, "58"):
		return unavailable(e)
	}
	return apierr.Wrap(apierr.Internal, e, "internal error")
}

func conflict(e *pgconn.PgError, msg string, cols []string) *apierr.Error {
	err := apierr.Wrap(apierr.Conflict, e, "%s", msg).WithDetail("constraint", e.ConstraintName).WithDetail("table", e.TableName)
	if len(cols) > 0 {
		err = err.WithDetail("columns", cols)
	}
	return err
}

func orUnknown(col string) string {
	if col == "" {
		return "(unknown)"
	}
	return col
}

func onColumn(col string) string {
	if col == "" {
		return ""
	}
	return " " + col
}

func qualify(table string, cols []string) string {
	c := strings.Join(cols, ", ")
	switch {
	case table == "":
		return c
	case len(cols) == 0:
		return table
	case len(cols) == 1:
		return table + "." + c
	default:
		return table + " (" + c + ")"
	}
}

// detailColumns reads the column names of "Key (a, b)=(…) …" in a unique or
// foreign-key Detail — only the names, never the values after "=". A
// Detail in another language or shape gives nil.
func detailColumns(detail string) []string {
	rest, ok := strings.CutPrefix(detail, "Key (")
	if !ok {
		return nil
	}
	i := strings.Index(rest, ")=(")
	if i < 0 {
		return nil
	}
	var cols []string
	for _, c := range strings.Split(rest[:i], ", ") {
		c = strings.Trim(strings.TrimSpace(c), `"`)
		if c == "" || strings.ContainsAny(c, "()=") {
			return nil // an expression index: not column names
		}
		cols = append(cols, c)
	}
	return cols
}

// mapSQLite maps SQLite result codes; nil for codes left to the generic
// handling. SQLite's constraint messages name only the table and column
// ("UNIQUE constraint failed: users.email"), never values.
func mapSQLite(e *sqlite.Error, timeout time.Duration) *apierr.Error {
	code := e.Code()
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		what := constraintSubject(e.Error())
		return apierr.Wrap(apierr.Conflict, e, "duplicate value for %s (unique constraint)", what).WithDetail("columns", subjectColumns(what))
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return apierr.Wrap(apierr.Conflict, e, "foreign key constraint violated: the referenced row does not exist, or rows still reference this one")
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		what := constraintSubject(e.Error())
		return apierr.Wrap(apierr.BadRequest, e, "column %s must not be null", what).WithDetail("columns", subjectColumns(what))
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return apierr.Wrap(apierr.BadRequest, e, "check constraint %s failed", constraintSubject(e.Error()))
	case sqlite3.SQLITE_INTERRUPT:
		return timedOut(e, timeout)
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		// Waited busy_timeout (the statement timeout) for a lock.
		return timedOut(e, timeout)
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return unavailable(e)
	case sqlite3.SQLITE_CONSTRAINT:
		return apierr.Wrap(apierr.Conflict, e, "constraint %s failed", constraintSubject(e.Error()))
	case sqlite3.SQLITE_ERROR:
		msg := e.Error()
		if strings.Contains(msg, "no such table") || strings.Contains(msg, "no such column") || strings.Contains(msg, "has no column named") {
			return apierr.Wrap(apierr.SchemaDrift, e, "the database no longer matches the release's schema snapshot (a table or column is missing)")
		}
		if strings.Contains(msg, "interrupted") {
			return timedOut(e, timeout)
		}
	}
	return nil
}

// constraintSubject extracts "users.email" from "… constraint failed:
// UNIQUE constraint failed: users.email (2067)".
func constraintSubject(msg string) string {
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return "a column"
	}
	s := msg[i+len("constraint failed: "):]
	if j := strings.LastIndex(s, " ("); j >= 0 {
		s = s[:j]
	}
	if s = strings.TrimSpace(s); s == "" {
		return "a column"
	}
	return s
}

func subjectColumns(s string) []string {
	var cols []string
	for _, part := range strings.Split(s, ", ") {
		if i := strings.LastIndexByte(part, '.'); i >= 0 {
			part = part[i+1:]
		}
		cols = append(cols, part)
	}
	return cols
}
