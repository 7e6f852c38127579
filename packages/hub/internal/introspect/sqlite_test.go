package introspect

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/schema"
)

// sqliteFile creates a database file with ddl and returns its sqlite:// URL.
func sqliteFile(t *testing.T, ddl string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		t.Fatalf("ddl: %v", err)
	}
	return "sqlite://" + path
}

const sqliteDDL = `
-- Composite primary key, in another order than the columns.
CREATE TABLE owners (
	org_id INTEGER NOT NULL,
	id BIGINT NOT NULL,
	PRIMARY KEY (id, org_id)
);

CREATE TABLE everything (
	id INTEGER PRIMARY KEY,
	c_text TEXT NOT NULL DEFAULT 'x',
	c_varchar VARCHAR(40),
	c_char CHAR(3),
	c_clob CLOB,
	c_int INT,
	c_bigint BIGINT,
	c_smallint SMALLINT,
	c_tinyint TINYINT,
	c_numeric NUMERIC(10,2),
	c_decimal DECIMAL,
	c_real REAL,
	c_double DOUBLE PRECISION,
	c_float FLOAT,
	c_bool BOOLEAN NOT NULL DEFAULT 0,
	c_datetime DATETIME DEFAULT CURRENT_TIMESTAMP,
	c_timestamptz TIMESTAMPTZ,
	c_timestamp TIMESTAMP,
	c_date DATE,
	c_time TIME,
	c_uuid UUID,
	c_json JSON,
	c_jsonb JSONB,
	c_blob BLOB,
	c_bytea BYTEA,
	c_untyped,
	c_string STRING,
	c_longtext LONGTEXT,
	c_virtual INTEGER GENERATED ALWAYS AS (c_int * 2) VIRTUAL,
	c_stored TEXT GENERATED ALWAYS AS (upper(c_text)) STORED,
	owner_id BIGINT,
	owner_org INTEGER,
	parent_id INTEGER REFERENCES everything,
	FOREIGN KEY (owner_id, owner_org) REFERENCES owners (id, org_id)
);
CREATE UNIQUE INDEX everything_uuid_key ON everything (c_uuid);
CREATE INDEX everything_date_int_idx ON everything (c_date, c_int);
CREATE INDEX everything_lower_idx ON everything (lower(c_text));
CREATE UNIQUE INDEX everything_mixed_idx ON everything (c_smallint, lower(c_text));
CREATE UNIQUE INDEX everything_partial_idx ON everything (c_bigint) WHERE c_bool;

-- A TEXT primary key is no rowid alias: it has an index and (SQLite's
-- legacy quirk) accepts NULL unless declared NOT NULL.
CREATE TABLE tags (name TEXT PRIMARY KEY, note TEXT UNIQUE);
CREATE TABLE kv (k TEXT PRIMARY KEY, v ANY) STRICT, WITHOUT ROWID;
-- AUTOINCREMENT creates sqlite_sequence, which is SQLite's own.
CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INT);
-- Two foreign keys over the same column get distinct names.
CREATE TABLE links (tag TEXT REFERENCES tags (name), FOREIGN KEY (tag) REFERENCES tags);

CREATE VIEW everything_view AS SELECT id, c_text FROM everything;
CREATE VIRTUAL TABLE docs USING fts5(body);
INSERT INTO counters (n) VALUES (1);
`

func TestTablesSQLite(t *testing.T) {
	url := sqliteFile(t, sqliteDDL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Tables(ctx, testTargets, schema.EngineSQLite, url)
	if err != nil {
		t.Fatal(err)
	}
	col := func(name, typ, dbType string, nullable bool) schema.Column {
		return schema.Column{Name: name, Type: typ, DBType: dbType, Nullable: nullable}
	}
	withDefault := func(c schema.Column, d string) schema.Column { c.Default = ptr(d); return c }
	want := []schema.Table{
		{
			Name: "counters",
			Columns: []schema.Column{
				{Name: "id", Type: schema.Bigint, DBType: "INTEGER", Identity: true},
				col("n", schema.Bigint, "INT", true),
			},
			PrimaryKey:  []string{"id"},
			ForeignKeys: []schema.ForeignKey{},
			Indexes:     []schema.Index{},
		},
		{
			Name: "everything",
			Columns: []schema.Column{
				{Name: "id", Type: schema.Bigint, DBType: "INTEGER", Identity: true},
				withDefault(col("c_text", schema.Text, "TEXT", false), "'x'"),
				col("c_varchar", schema.Text, "VARCHAR(40)", true),
				col("c_char", schema.Text, "CHAR(3)", true),
				col("c_clob", schema.Text, "CLOB", true),
				col("c_int", schema.Bigint, "INT", true),
				col("c_bigint", schema.Bigint, "BIGINT", true),
				col("c_smallint", schema.Integer, "SMALLINT", true),
				col("c_tinyint", schema.Integer, "TINYINT", true),
				col("c_numeric", schema.Numeric, "NUMERIC(10,2)", true),
				col("c_decimal", schema.Numeric, "DECIMAL", true),
				col("c_real", schema.Float, "REAL", true),
				col("c_double", schema.Float, "DOUBLE PRECISION", true),
				col("c_float", schema.Float, "FLOAT", true),
				withDefault(col("c_bool", schema.Boolean, "BOOLEAN", false), "0"),
				withDefault(col("c_datetime", schema.Timestamp, "DATETIME", true), "CURRENT_TIMESTAMP"),
				col("c_timestamptz", schema.Timestamptz, "TIMESTAMPTZ", true),
				col("c_timestamp", schema.Timestamp, "TIMESTAMP", true),
				col("c_date", schema.Date, "DATE", true),
				col("c_time", schema.Time, "TIME", true),
				col("c_uuid", schema.UUID, "UUID", true),
				col("c_json", schema.JSON, "JSON", true),
				col("c_jsonb", schema.JSONB, "JSONB", true),
				col("c_blob", schema.Bytea, "BLOB", true),
				col("c_bytea", schema.Bytea, "BYTEA", true),
				col("c_untyped", schema.Other, "", true),
				col("c_string", schema.Numeric, "STRING", true),
				col("c_longtext", schema.Text, "LONGTEXT", true),
				{Name: "c_virtual", Type: schema.Bigint, DBType: "INTEGER", Nullable: true, Generated: true},
				{Name: "c_stored", Type: schema.Text, DBType: "TEXT", Nullable: true, Generated: true},
				col("owner_id", schema.Bigint, "BIGINT", true),
				col("owner_org", schema.Bigint, "INTEGER", true),
				col("parent_id", schema.Bigint, "INTEGER", true),
			},
			PrimaryKey: []string{"id"},
			ForeignKeys: []schema.ForeignKey{
				{Name: "everything_owner_id_owner_org_fkey", Columns: []string{"owner_id", "owner_org"},
					RefTable: "owners", RefColumns: []string{"id", "org_id"}},
				{Name: "everything_parent_id_fkey", Columns: []string{"parent_id"},
					RefTable: "everything", RefColumns: []string{"id"}},
			},
			Indexes: []schema.Index{
				{Name: "everything_date_int_idx", Columns: []string{"c_date", "c_int"}},
				{Name: "everything_mixed_idx", Columns: []string{"c_smallint"}},
				{Name: "everything_partial_idx", Columns: []string{"c_bigint"}},
				{Name: "everything_uuid_key", Columns: []string{"c_uuid"}, Unique: true},
			},
		},
		{
			Name: "kv",
			Columns: []schema.Column{
				col("k", schema.Text, "TEXT", false),
				col("v", schema.Other, "ANY", true),
			},
			PrimaryKey:  []string{"k"},
			ForeignKeys: []schema.ForeignKey{},
			Indexes:     []schema.Index{{Name: "sqlite_autoindex_kv_1", Columns: []string{"k"}, Unique: true}},
		},
		{
			Name:       "links",
			Columns:    []schema.Column{col("tag", schema.Text, "TEXT", true)},
			PrimaryKey: []string{},
			ForeignKeys: []schema.ForeignKey{
				{Name: "links_tag_fkey", Columns: []string{"tag"}, RefTable: "tags", RefColumns: []string{"name"}},
				{Name: "links_tag_fkey1", Columns: []string{"tag"}, RefTable: "tags", RefColumns: []string{"name"}},
			},
			Indexes: []schema.Index{},
		},
		{
			Name: "owners",
			Columns: []schema.Column{
				col("org_id", schema.Bigint, "INTEGER", false),
				col("id", schema.Bigint, "BIGINT", false),
			},
			PrimaryKey:  []string{"id", "org_id"},
			ForeignKeys: []schema.ForeignKey{},
			Indexes:     []schema.Index{{Name: "sqlite_autoindex_owners_1", Columns: []string{"id", "org_id"}, Unique: true}},
		},
		{
			Name: "tags",
			Columns: []schema.Column{
				col("name", schema.Text, "TEXT", true),
				col("note", schema.Text, "TEXT", true),
			},
			PrimaryKey:  []string{"name"},
			ForeignKeys: []schema.ForeignKey{},
			Indexes: []schema.Index{
				{Name: "sqlite_autoindex_tags_1", Columns: []string{"name"}, Unique: true},
				{Name: "sqlite_autoindex_tags_2", Columns: []string{"note"}, Unique: true},
			},
		},
	}
	assertTables(t, got, want)
}

// Introspection never writes: the file is byte-for-byte unchanged, and no
// journal or WAL file appears beside it.
func TestTablesSQLiteReadOnly(t *testing.T) {
	url := sqliteFile(t, `CREATE TABLE a (id INTEGER PRIMARY KEY)`)
	path := url[len("sqlite://"):]
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Tables(ctx, testTargets, schema.EngineSQLite, url); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("database file changed")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("files beside the database: %v", names)
	}
}
