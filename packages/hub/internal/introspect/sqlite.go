package introspect

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

// sqliteBusyTimeoutMS is how long a read waits for a writer's lock.
const sqliteBusyTimeoutMS = "5000"

// sqliteOpen opens the file of a sqlite:// URL (SPEC §2: the rest of the URL
// is a file path) read-only, on one connection, once the policy allowed it
// (dbtarget: inside STK_SQLITE_DIR, never the Hub's own files); it opens the
// resolved path that was checked. A missing file is an error, never
// created: the SQLite URI's mode=ro makes SQLite refuse to create it, and
// the Stat before tells "file not found" from other failures.
func sqliteOpen(ctx context.Context, targets *dbtarget.Policy, rawURL string) (*sql.Conn, func(), error) {
	abs, err := targets.SQLitePath(rawURL)
	if err != nil {
		return nil, nil, wrap(err, CategoryInvalidURL)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, nil, wrap(err, CategoryUnreachable)
	}
	if fi.IsDir() {
		return nil, nil, &ProbeError{Category: CategoryNotADatabase}
	}
	// A "file:" URI so that SQLite itself applies mode=ro (modernc drops
	// the query of a plain file name); url.URL escapes '?', '#' and '%'
	// in the path, which SQLite decodes.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: url.Values{
		"mode":    {"ro"},
		"_pragma": {"busy_timeout(" + sqliteBusyTimeoutMS + ")"},
	}.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, wrap(err, CategoryUnreachable)
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, nil, wrap(err, CategoryUnreachable)
	}
	return conn, func() { _ = conn.Close(); _ = db.Close() }, nil
}

func sqliteProbe(ctx context.Context, targets *dbtarget.Policy, rawURL string) (string, error) {
	conn, done, err := sqliteOpen(ctx, targets, rawURL)
	if err != nil {
		return "", err
	}
	defer done()
	var v string
	if err := conn.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "", wrap(err, CategoryUnreachable)
	}
	// sqlite_version() does not touch the file: read its schema to tell a
	// database from any other file.
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return "", wrap(err, CategoryUnreachable)
	}
	return "SQLite " + v, nil
}

func sqliteTables(ctx context.Context, targets *dbtarget.Policy, rawURL string) ([]schema.Table, error) {
	conn, done, err := sqliteOpen(ctx, targets, rawURL)
	if err != nil {
		return nil, err
	}
	defer done()
	// One read transaction: one consistent view of the schema.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	defer func() { _ = tx.Rollback() }()
	tables, err := sqliteReadCatalog(ctx, tx)
	if err != nil {
		return nil, wrap(err, CategoryCatalog)
	}
	return tables, nil
}

// sqliteTable is a table as read, before foreign keys are resolved.
type sqliteTable struct {
	schema.Table
	strict bool
	fks    []sqliteFK
}

type sqliteFK struct {
	id       int
	cols     []string
	refTable string
	refCols  []sql.NullString // NULL: the parent's primary key
}

func sqliteReadCatalog(ctx context.Context, tx *sql.Tx) ([]schema.Table, error) {
	// pragma_table_list tells ordinary tables from views, virtual tables and
	// their shadow tables, which sqlite_schema does not; sqlite_% are
	// SQLite's own (sqlite_schema, sqlite_sequence, sqlite_stat1, …).
	var tables []*sqliteTable
	err := queryRows(ctx, tx, `SELECT name, strict FROM pragma_table_list()
		WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY name`, nil, func(rows *sql.Rows) error {
		t := &sqliteTable{}
		if err := rows.Scan(&t.Name, &t.strict); err != nil {
			return err
		}
		tables = append(tables, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if err := sqliteReadTable(ctx, tx, t); err != nil {
			return nil, err
		}
	}

	byName := make(map[string]*sqliteTable, len(tables))
	for _, t := range tables {
		byName[t.Name] = t
	}
	out := make([]schema.Table, 0, len(tables))
	for _, t := range tables {
		t.ForeignKeys = sqliteForeignKeys(t, byName)
		out = append(out, t.Table)
	}
	return out, nil
}

func sqliteReadTable(ctx context.Context, tx *sql.Tx, t *sqliteTable) error {
	type pkCol struct {
		name string
		pos  int
	}
	var pk []pkCol
	// hidden: 0 ordinary, 1 hidden column of a virtual table, 2 virtual
	// generated, 3 stored generated.
	err := queryRows(ctx, tx, `SELECT name, type, "notnull", dflt_value, pk, hidden
		FROM pragma_table_xinfo(?1, 'main') ORDER BY cid`, []any{t.Name}, func(rows *sql.Rows) error {
		var (
			c       schema.Column
			notNull bool
			def     sql.NullString
			pos     int
			hidden  int
		)
		if err := rows.Scan(&c.Name, &c.DBType, &notNull, &def, &pos, &hidden); err != nil {
			return err
		}
		if hidden == 1 {
			return nil
		}
		c.Type = schema.NormalizeSQLite(c.DBType)
		if t.strict && strings.EqualFold(strings.TrimSpace(c.DBType), "ANY") {
			// STRICT's ANY stores values as given, unlike a non-STRICT
			// ANY (NUMERIC affinity).
			c.Type = schema.Other
		}
		c.Nullable = !notNull
		c.Generated = hidden == 2 || hidden == 3
		if def.Valid && !c.Generated {
			s := def.String
			c.Default = &s
		}
		if pos > 0 {
			pk = append(pk, pkCol{c.Name, pos})
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(pk, func(i, j int) bool { return pk[i].pos < pk[j].pos })
	for _, p := range pk {
		t.PrimaryKey = append(t.PrimaryKey, p.name)
	}

	// Indexes. origin: c (CREATE INDEX), u (UNIQUE constraint), pk (PRIMARY
	// KEY constraint).
	type indexRow struct {
		name            string
		unique, partial bool
		origin          string
	}
	var idxRows []indexRow
	err = queryRows(ctx, tx, `SELECT name, "unique", origin, partial
		FROM pragma_index_list(?1, 'main') ORDER BY name`, []any{t.Name}, func(rows *sql.Rows) error {
		var r indexRow
		if err := rows.Scan(&r.name, &r.unique, &r.origin, &r.partial); err != nil {
			return err
		}
		idxRows = append(idxRows, r)
		return nil
	})
	if err != nil {
		return err
	}
	pkIndex := false
	for _, r := range idxRows {
		if r.origin == "pk" {
			pkIndex = true
		}
		var parts []string
		// index_info lists the key columns only; name is NULL for an
		// expression (cid -2) and for the rowid (cid -1).
		err := queryRows(ctx, tx, `SELECT name FROM pragma_index_info(?1, 'main') ORDER BY seqno`,
			[]any{r.name}, func(rows *sql.Rows) error {
				var n sql.NullString
				if err := rows.Scan(&n); err != nil {
					return err
				}
				parts = append(parts, n.String)
				return nil
			})
		if err != nil {
			return err
		}
		if idx, ok := plainIndex(r.name, parts, r.unique, r.partial); ok {
			t.Indexes = append(t.Indexes, idx)
		}
	}

	// A single-column PRIMARY KEY declared exactly INTEGER on a rowid table
	// is an alias of the rowid: SQLite assigns it and it is never NULL.
	// Every other primary key (other types, INTEGER PRIMARY KEY DESC,
	// WITHOUT ROWID tables) has a "pk" index.
	if len(t.PrimaryKey) == 1 && !pkIndex {
		c, _ := t.Column(t.PrimaryKey[0])
		if c != nil && strings.EqualFold(strings.TrimSpace(c.DBType), "INTEGER") {
			c.Identity = true
			c.Nullable = false
		}
	}

	// Foreign keys, one row per column, in key order.
	var cur *sqliteFK
	return queryRows(ctx, tx, `SELECT id, "table", "from", "to"
		FROM pragma_foreign_key_list(?1, 'main') ORDER BY id, seq`, []any{t.Name}, func(rows *sql.Rows) error {
		var (
			id       int
			ref, col string
			to       sql.NullString
		)
		if err := rows.Scan(&id, &ref, &col, &to); err != nil {
			return err
		}
		if cur == nil || cur.id != id {
			t.fks = append(t.fks, sqliteFK{id: id, refTable: ref})
			cur = &t.fks[len(t.fks)-1]
		}
		cur.cols = append(cur.cols, col)
		cur.refCols = append(cur.refCols, to)
		return nil
	})
}

// sqliteForeignKeys resolves the foreign keys of t. SQLite keeps no
// constraint names in its catalog, so each gets PostgreSQL's default name,
// <table>_<columns>_fkey (made unique with a suffix when two share columns).
// A reference without columns is to the parent's primary key.
func sqliteForeignKeys(t *sqliteTable, byName map[string]*sqliteTable) []schema.ForeignKey {
	var out []schema.ForeignKey
	used := map[string]bool{}
	for _, fk := range t.fks {
		refCols := make([]string, 0, len(fk.refCols))
		implicit := false
		for _, c := range fk.refCols {
			if !c.Valid {
				implicit = true
				break
			}
			refCols = append(refCols, c.String)
		}
		if implicit {
			refCols = []string{}
			if parent, ok := byName[fk.refTable]; ok && len(parent.PrimaryKey) == len(fk.cols) {
				refCols = append(refCols, parent.PrimaryKey...)
			}
		}
		name := t.Name + "_" + strings.Join(fk.cols, "_") + "_fkey"
		for n := 1; used[name]; n++ {
			name = fmt.Sprintf("%s_%s_fkey%d", t.Name, strings.Join(fk.cols, "_"), n)
		}
		used[name] = true
		out = append(out, schema.ForeignKey{Name: name, Columns: fk.cols, RefTable: fk.refTable, RefColumns: refCols})
	}
	return out
}

// queryRows runs query and calls each for every row.
func queryRows(ctx context.Context, tx *sql.Tx, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
