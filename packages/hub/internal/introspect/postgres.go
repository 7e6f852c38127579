package introspect

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

// pgSchema is the PostgreSQL schema whose tables a snapshot holds.
const pgSchema = "public"

// pgConnect opens one short-lived connection to a URL the policy allows
// (dbtarget: only the URL's own password, hosts checked at parse and at
// dial).
func pgConnect(ctx context.Context, targets *dbtarget.Policy, rawURL string) (*pgx.Conn, error) {
	cfg, err := targets.Postgres(ctx, rawURL)
	if err != nil {
		return nil, wrap(err, CategoryInvalidURL)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "santokit-hub"
	}
	// No prepared statements: the server may sit behind a transaction-mode
	// pooler, and this connection runs each statement once anyway.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(err, CategoryUnreachable)
	}
	return conn, nil
}

func pgClose(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func pgProbe(ctx context.Context, targets *dbtarget.Policy, rawURL string) (string, error) {
	conn, err := pgConnect(ctx, targets, rawURL)
	if err != nil {
		return "", err
	}
	defer pgClose(conn)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", wrap(err, CategoryUnreachable)
	}
	return v, nil
}

// pgTablesCTE selects the snapshot's tables: ordinary and partitioned tables
// of the schema, without views, foreign tables or the partitions themselves
// (they are reached through their parent).
const pgTablesCTE = `tbl AS (
	SELECT c.oid, c.relname
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
)`

const pgTablesSQL = `WITH ` + pgTablesCTE + `
SELECT oid, relname::text FROM tbl`

// The default of a generated column is its generation expression, which is
// not a default: it is left out.
const pgColumnsSQL = `WITH ` + pgTablesCTE + `
SELECT a.attrelid, a.attname::text, a.atttypid,
	pg_catalog.format_type(a.atttypid, a.atttypmod),
	NOT a.attnotnull,
	CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
	a.attidentity <> '',
	a.attgenerated <> ''
FROM pg_catalog.pg_attribute a
JOIN tbl ON tbl.oid = a.attrelid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

// pgTypesSQL returns every type the columns use, plus the types those are
// built on (array elements, domain bases), transitively.
const pgTypesSQL = `WITH RECURSIVE ` + pgTablesCTE + `,
ty(oid) AS (
	SELECT a.atttypid
	FROM pg_catalog.pg_attribute a
	JOIN tbl ON tbl.oid = a.attrelid
	WHERE a.attnum > 0 AND NOT a.attisdropped
	UNION
	SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
	FROM pg_catalog.pg_type t
	JOIN ty ON ty.oid = t.oid
	WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
)
SELECT t.oid, t.typname::text, t.typtype::text,
	t.typcategory = 'A' AND t.typelem <> 0, t.typelem, t.typbasetype
FROM pg_catalog.pg_type t
JOIN ty ON ty.oid = t.oid`

// pgConstraintsSQL returns primary keys and foreign keys with their columns
// in key order. A referenced table outside the schema is qualified. Foreign
// keys that PostgreSQL derives for each partition of a referenced
// partitioned table (conparentid set) are left out.
const pgConstraintsSQL = `WITH ` + pgTablesCTE + `
SELECT con.conrelid, con.contype::text, con.conname::text,
	ARRAY(SELECT a.attname::text
		FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
		JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
		ORDER BY k.ord),
	COALESCE((SELECT CASE WHEN rn.nspname = $1 THEN rc.relname::text
			ELSE rn.nspname::text || '.' || rc.relname::text END
		FROM pg_catalog.pg_class rc
		JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE rc.oid = con.confrelid), ''),
	ARRAY(SELECT a.attname::text
		FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
		JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
		ORDER BY k.ord)
FROM pg_catalog.pg_constraint con
JOIN tbl ON tbl.oid = con.conrelid
WHERE con.contype IN ('p', 'f') AND con.conparentid = 0
ORDER BY con.conrelid, con.conname`

// pgIndexesSQL returns the valid indexes with their key columns in order
// (INCLUDE columns left out); an expression part is an empty name.
const pgIndexesSQL = `WITH ` + pgTablesCTE + `
SELECT i.indrelid, ic.relname::text, i.indisunique, i.indpred IS NOT NULL,
	ARRAY(SELECT COALESCE(a.attname::text, '')
		FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
		LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num AND k.num > 0
		WHERE k.ord <= i.indnkeyatts
		ORDER BY k.ord)
FROM pg_catalog.pg_index i
JOIN tbl ON tbl.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indisvalid`

type pgTypeRow struct {
	name, kind string
	isArray    bool
	elem, base uint32
}

func pgTables(ctx context.Context, targets *dbtarget.Policy, rawURL string) ([]schema.Table, error) {
	conn, err := pgConnect(ctx, targets, rawURL)
	if err != nil {
		return nil, err
	}
	defer pgClose(conn)

	// One read-only snapshot for all catalog queries, so that a concurrent
	// migration cannot give a column without its table. The server cancels
	// a slow catalog query itself (ARCHITECTURE §5); ctx is the backstop.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('statement_timeout', $1, true)", statementTimeout(ctx)); err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	tables, err := pgReadCatalog(ctx, tx)
	if err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	return tables, nil
}

// statementTimeout is the time left before ctx's deadline, in milliseconds,
// as a statement_timeout setting.
func statementTimeout(ctx context.Context) string {
	ms := int64(defaultTimeout / time.Millisecond)
	if dl, ok := ctx.Deadline(); ok {
		ms = max(time.Until(dl).Milliseconds(), 1)
	}
	return strconv.FormatInt(ms, 10)
}

func pgReadCatalog(ctx context.Context, tx pgx.Tx) ([]schema.Table, error) {
	var (
		tables []schema.Table
		byOID  = map[uint32]int{}
	)
	rows, err := tx.Query(ctx, pgTablesSQL, pgSchema)
	if err != nil {
		return nil, err
	}
	var (
		oid  uint32
		name string
	)
	if _, err := pgx.ForEachRow(rows, []any{&oid, &name}, func() error {
		byOID[oid] = len(tables)
		tables = append(tables, schema.Table{Name: name})
		return nil
	}); err != nil {
		return nil, err
	}

	types := map[uint32]pgTypeRow{}
	rows, err = tx.Query(ctx, pgTypesSQL, pgSchema)
	if err != nil {
		return nil, err
	}
	var tr pgTypeRow
	if _, err := pgx.ForEachRow(rows, []any{&oid, &tr.name, &tr.kind, &tr.isArray, &tr.elem, &tr.base}, func() error {
		types[oid] = tr
		return nil
	}); err != nil {
		return nil, err
	}

	rows, err = tx.Query(ctx, pgColumnsSQL, pgSchema)
	if err != nil {
		return nil, err
	}
	var (
		rel, typ                     uint32
		colName, dbType              string
		nullable, identity, generate bool
		def                          pgtype.Text
	)
	if _, err := pgx.ForEachRow(rows, []any{&rel, &colName, &typ, &dbType, &nullable, &def, &identity, &generate}, func() error {
		i, ok := byOID[rel]
		if !ok {
			return nil
		}
		c := schema.Column{
			Name:      colName,
			Type:      schema.NormalizePostgres(pgType(types, typ, 0)),
			DBType:    dbType,
			Nullable:  nullable,
			Identity:  identity,
			Generated: generate,
		}
		if def.Valid {
			s := def.String
			c.Default = &s
		}
		tables[i].Columns = append(tables[i].Columns, c)
		return nil
	}); err != nil {
		return nil, err
	}

	rows, err = tx.Query(ctx, pgConstraintsSQL, pgSchema)
	if err != nil {
		return nil, err
	}
	var (
		kind, conName, refTable string
		cols, refCols           []string
	)
	if _, err := pgx.ForEachRow(rows, []any{&rel, &kind, &conName, &cols, &refTable, &refCols}, func() error {
		i, ok := byOID[rel]
		if !ok {
			return nil
		}
		switch kind {
		case "p":
			tables[i].PrimaryKey = slices.Clone(cols)
		case "f":
			tables[i].ForeignKeys = append(tables[i].ForeignKeys, schema.ForeignKey{
				Name: conName, Columns: slices.Clone(cols), RefTable: refTable, RefColumns: slices.Clone(refCols),
			})
		}
		return nil
	}); err != nil {
		return nil, err
	}

	rows, err = tx.Query(ctx, pgIndexesSQL, pgSchema)
	if err != nil {
		return nil, err
	}
	var unique, partial bool
	if _, err := pgx.ForEachRow(rows, []any{&rel, &name, &unique, &partial, &cols}, func() error {
		i, ok := byOID[rel]
		if !ok {
			return nil
		}
		if idx, ok := plainIndex(name, slices.Clone(cols), unique, partial); ok {
			tables[i].Indexes = append(tables[i].Indexes, idx)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return tables, nil
}

// pgType builds the schema.PGType of oid from the catalog rows.
func pgType(types map[uint32]pgTypeRow, oid uint32, depth int) schema.PGType {
	r, ok := types[oid]
	if !ok || depth > 32 {
		return schema.PGType{}
	}
	t := schema.PGType{Name: r.name, Kind: r.kind}
	switch {
	case r.kind == "d":
		b := pgType(types, r.base, depth+1)
		t.Base = &b
	case r.isArray:
		e := pgType(types, r.elem, depth+1)
		t.Elem = &e
	}
	return t
}

// plainIndex keeps the leading plain columns of an index: the part that can
// serve a filter on those columns (what the index gate of SPEC §5.4 asks).
// An empty name is an expression part; an index that starts with one is
// skipped. The index counts as unique only when every key part is a plain
// column and it is not partial: unique over (a, lower(b)), or over a subset
// of rows, does not make a unique.
func plainIndex(name string, parts []string, unique, partial bool) (schema.Index, bool) {
	cols := parts
	for i, p := range parts {
		if p == "" {
			cols = parts[:i]
			break
		}
	}
	if len(cols) == 0 {
		return schema.Index{}, false
	}
	return schema.Index{
		Name:    name,
		Columns: cols,
		Unique:  unique && !partial && len(cols) == len(parts),
	}, true
}
