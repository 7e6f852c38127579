package introspect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/santokit/santokit/packages/core/dbtarget"
)

// Failure categories. They are the whole text of a ProbeError: SPEC §3 and
// §15 allow a connection failure to be named only by its category.
const (
	CategoryRefused      = "connection refused"
	CategoryAuth         = "authentication failed"
	CategoryTimeout      = "timeout"
	CategoryTLS          = "TLS error"
	CategoryUnknownHost  = "unknown host"
	CategoryNoDatabase   = "database does not exist"
	CategoryFileNotFound = "file not found"
	// CategoryNotADatabase: an SQLite URL names a file that is not an SQLite
	// database (or is a directory).
	CategoryNotADatabase = "not a database"
	// CategoryPermission: the Hub process may not read an SQLite file, or a
	// PostgreSQL role lacks CONNECT on the database.
	CategoryPermission = "permission denied"
	// CategoryInvalidURL: the URL does not parse, has the wrong scheme, or
	// carries a parameter outside dbtarget.PostgresURLKeys.
	CategoryInvalidURL        = "invalid connection URL"
	CategoryUnsupportedEngine = "unsupported engine"
	// CategoryNotAllowed: the Hub's connection policy (dbtarget) refuses
	// the URL, before or at dial time; the *dbtarget.Refusal says why.
	CategoryNotAllowed = "not allowed by the Hub's connection policy"
	// CategoryCatalog: connected, but reading the catalog failed for a
	// reason none of the other categories names (Tables only).
	CategoryCatalog = "catalog read failed"
	// CategoryUnreachable is the fallback.
	CategoryUnreachable = "unreachable"
)

// ProbeError is every error Tables and Probe return. Its text is only the
// category, never the URL, user, host or a driver message; the driver's error
// stays reachable through errors.Unwrap for logs that are known to be safe
// (it may contain the host and user name, and a PostgreSQL Detail may carry
// data), so never put it in an HTTP response.
type ProbeError struct {
	Category string
	cause    error
}

func (e *ProbeError) Error() string { return e.Category }

// Unwrap returns the driver's error, so that errors.Is(err,
// context.Canceled) and the like keep working.
func (e *ProbeError) Unwrap() error { return e.cause }

// Classify names the category of a connection or query error: one of the
// Category constants, CategoryUnreachable when nothing more specific
// applies, "" for nil.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	if c := classify(err); c != "" {
		return c
	}
	return CategoryUnreachable
}

// wrap returns err as a *ProbeError, with fallback as the category when
// classify finds none.
func wrap(err error, fallback string) *ProbeError {
	var pe *ProbeError
	if errors.As(err, &pe) {
		return pe
	}
	c := classify(err)
	if c == "" {
		c = fallback
	}
	return &ProbeError{Category: c, cause: err}
}

// finish turns a failure under ctx into the returned *ProbeError: a failure
// after ctx's deadline passed is a timeout whatever the driver made of it
// (pgx may report a closed connection or a TLS read error instead).
func finish(ctx context.Context, err error, fallback string) *ProbeError {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &ProbeError{Category: CategoryTimeout, cause: err}
	}
	return wrap(err, fallback)
}

// classify returns the category of err, or "" when none applies. The order
// matters: pgx joins the errors of every address and TLS mode it tried, and a
// definite answer from a server (a PgError) outranks the network errors of
// the other attempts.
func classify(err error) string {
	var pe *ProbeError
	if errors.As(err, &pe) {
		return pe.Category
	}
	var refusal *dbtarget.Refusal
	if errors.As(err, &refusal) {
		return CategoryNotAllowed
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return CategoryAuth
		case "3D000": // invalid_catalog_name
			return CategoryNoDatabase
		case "42501": // insufficient_privilege (no CONNECT on the database)
			return CategoryPermission
		case "57014": // query_canceled: statement_timeout
			return CategoryTimeout
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return CategoryFileNotFound
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return CategoryTimeout
		}
		return CategoryUnknownHost
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return CategoryRefused
	}
	if isTimeout(err) {
		return CategoryTimeout
	}
	if isTLS(err) {
		return CategoryTLS
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		switch sqlErr.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return CategoryNotADatabase
		case sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
			return CategoryPermission
		case sqlite3.SQLITE_INTERRUPT:
			return CategoryTimeout
		}
	}
	if errors.Is(err, fs.ErrPermission) {
		return CategoryPermission
	}
	return ""
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func isTLS(err error) bool {
	var (
		verifyErr    *tls.CertificateVerificationError
		recordErr    tls.RecordHeaderError
		alertErr     tls.AlertError
		echErr       *tls.ECHRejectionError
		authorityErr x509.UnknownAuthorityError
		hostErr      x509.HostnameError
		invalidErr   x509.CertificateInvalidError
	)
	if errors.As(err, &verifyErr) || errors.As(err, &recordErr) || errors.As(err, &alertErr) ||
		errors.As(err, &echErr) || errors.As(err, &authorityErr) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidErr) {
		return true
	}
	// pgconn reports a server without TLS (sslmode=require) with an untyped
	// error, and wraps handshake failures as "tls error: …".
	msg := err.Error()
	return strings.Contains(msg, "server refused TLS connection") || strings.Contains(msg, "tls error")
}
