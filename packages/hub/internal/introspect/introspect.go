// Package introspect reads a database's catalog into a schema snapshot's
// tables (SPEC §1) and probes a connection for `connections test` (SPEC §15).
// It speaks to PostgreSQL (schema public, through pgx) and to SQLite files
// (read-only, through modernc.org/sqlite) over short-lived connections of its
// own, and normalizes column types with packages/core/schema. Every error it
// returns names only a failure category: connection URLs, user names, hosts
// and driver messages never reach an error text (SPEC §3).
package introspect

import (
	"context"
	"time"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

// defaultTimeout bounds Tables and Probe when the caller's context has no
// deadline, so that an unanswering server cannot hold a request forever.
const defaultTimeout = 30 * time.Second

// Tables reads the tables of the database at url — engine "postgres" (a
// postgres:// URL; the tables of schema public) or "sqlite" (sqlite://<file
// path>; the file is opened read-only and never created) — in the canonical
// order of schema.Normalize, if targets allows the URL. Errors are
// *ProbeError; a refusal of targets is CategoryNotAllowed and unwraps to
// the *dbtarget.Refusal.
func Tables(ctx context.Context, targets *dbtarget.Policy, engine, url string) ([]schema.Table, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		tables []schema.Table
		err    error
	)
	switch engine {
	case schema.EnginePostgres:
		tables, err = pgTables(ctx, targets, url)
	case schema.EngineSQLite:
		tables, err = sqliteTables(ctx, targets, url)
	default:
		return nil, &ProbeError{Category: CategoryUnsupportedEngine}
	}
	if err != nil {
		return nil, finish(ctx, err, CategoryCatalog)
	}
	return schema.Normalize(tables), nil
}

// Probe connects to the database at url and returns its server version
// ("16.4 …" for PostgreSQL, "SQLite 3.x.y" for SQLite), bounded by ctx (or
// by a default timeout when ctx has none), if targets allows the URL. Errors
// are *ProbeError, whose text is only the category.
func Probe(ctx context.Context, targets *dbtarget.Policy, engine, url string) (serverVersion string, err error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var v string
	switch engine {
	case schema.EnginePostgres:
		v, err = pgProbe(ctx, targets, url)
	case schema.EngineSQLite:
		v, err = sqliteProbe(ctx, targets, url)
	default:
		return "", &ProbeError{Category: CategoryUnsupportedEngine}
	}
	if err != nil {
		return "", finish(ctx, err, CategoryUnreachable)
	}
	return v, nil
}

func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultTimeout)
}
