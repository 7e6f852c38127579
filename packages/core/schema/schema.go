// Package schema is the schema snapshot model of SPEC §1: tables, columns in
// the normalized type vocabulary shared by PostgreSQL and SQLite, keys and
// indexes, plus the content hash that makes snapshots comparable. The Hub
// fills it by introspection; permissions validation, releases and the Bridge's
// planner read it.
package schema

import (
	"sort"
	"strings"
	"time"
)

// Normalized column types (SPEC §1). Arrays are "array<T>" with T one of these.
const (
	Text        = "text"
	Integer     = "integer"
	Bigint      = "bigint"
	Numeric     = "numeric"
	Float       = "float"
	Boolean     = "boolean"
	Timestamptz = "timestamptz"
	Timestamp   = "timestamp"
	Date        = "date"
	Time        = "time"
	UUID        = "uuid"
	JSON        = "json"
	JSONB       = "jsonb"
	Bytea       = "bytea"
	Other       = "other"
)

// Scalars lists the normalized scalar types (everything but arrays).
var Scalars = []string{Text, Integer, Bigint, Numeric, Float, Boolean, Timestamptz, Timestamp,
	Date, Time, UUID, JSON, JSONB, Bytea, Other}

// ArrayOf returns the normalized array type of elem.
func ArrayOf(elem string) string { return "array<" + elem + ">" }

// ElemType returns T for "array<T>" and ok=false for scalars.
func ElemType(t string) (string, bool) {
	if strings.HasPrefix(t, "array<") && strings.HasSuffix(t, ">") {
		return t[len("array<") : len(t)-1], true
	}
	return "", false
}

// Engines supported for BYO databases (SPEC §1).
const (
	EnginePostgres = "postgres"
	EngineSQLite   = "sqlite"
)

// Snapshot is one immutable, content-hashed introspection of a connection.
type Snapshot struct {
	ID         string    `json:"id"`
	Project    string    `json:"project,omitempty"`
	Env        string    `json:"env,omitempty"`
	Connection string    `json:"connection"`
	Engine     string    `json:"engine"`
	Hash       string    `json:"hash"`
	CreatedAt  time.Time `json:"createdAt"`
	Tables     []Table   `json:"tables"`
}

// Table is one table of the introspected schema (PostgreSQL: schema public).
type Table struct {
	Name        string       `json:"name"`
	Columns     []Column     `json:"columns"`
	PrimaryKey  []string     `json:"primaryKey"`
	ForeignKeys []ForeignKey `json:"foreignKeys"`
	Indexes     []Index      `json:"indexes"`
}

// Column is one column with its normalized type.
type Column struct {
	Name string `json:"name"`
	// Type is the normalized type (SPEC §1).
	Type string `json:"type"`
	// DBType is the engine's own declared type, for humans and for drift
	// messages; comparisons use Type.
	DBType    string  `json:"dbType"`
	Nullable  bool    `json:"nullable"`
	Default   *string `json:"default,omitempty"`
	Identity  bool    `json:"identity,omitempty"`
	Generated bool    `json:"generated,omitempty"`
}

// ForeignKey references columns of another table.
type ForeignKey struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	RefTable   string   `json:"refTable"`
	RefColumns []string `json:"refColumns"`
}

// Index is an index over plain columns (expression parts are left out).
type Index struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique"`
}

// Table returns the table named name.
func (s *Snapshot) Table(name string) (*Table, bool) {
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i], true
		}
	}
	return nil, false
}

// Column returns the column named name.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// Normalize puts tables, foreign keys and indexes in a canonical order
// (columns keep their ordinal order, which is meaningful) and replaces nil
// slices by empty ones, so that equal schemas give equal JSON and hashes.
func Normalize(tables []Table) []Table {
	if tables == nil {
		tables = []Table{}
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	for i := range tables {
		t := &tables[i]
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		if t.PrimaryKey == nil {
			t.PrimaryKey = []string{}
		}
		if t.ForeignKeys == nil {
			t.ForeignKeys = []ForeignKey{}
		}
		if t.Indexes == nil {
			t.Indexes = []Index{}
		}
		sort.Slice(t.ForeignKeys, func(a, b int) bool { return t.ForeignKeys[a].Name < t.ForeignKeys[b].Name })
		sort.Slice(t.Indexes, func(a, b int) bool { return t.Indexes[a].Name < t.Indexes[b].Name })
	}
	return tables
}
