// Package permissions is the permissions.yaml model of SPEC §5: the parsed
// document (tables, ops, rules, column lists, the owner shorthand), its parser
// with line numbers, its validation against schema snapshots, and the pure
// evaluation helpers that the Hub's release drift check and the Bridge's
// planner share (rule lookup with the _default fallback, column filtering,
// exposures). It does no I/O and links neither cel-go nor a database driver,
// because the planner that imports it is also compiled to WebAssembly.
//
// Conditions and checks (§5.2) are kept as written and, once
// CompileConditions has run (with the CEL compiler of
// packages/core/condition, which the Hub and the CLI link), as predicate
// trees (packages/core/predicate) that the planner renders as SQL.
package permissions

import (
	"slices"

	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// Version is the only permissions.yaml format version.
const Version = 1

// DefaultConnection is the connection of a table key written without a
// connection prefix (SPEC §5.1).
const DefaultConnection = "main"

// DefaultKey is the tables key whose ops apply to every table that does not
// define them.
const DefaultKey = "_default"

// Op is one of the four Auto CRUD operations a table grants.
type Op string

// The ops of SPEC §5.1.
const (
	OpSelect Op = "select"
	OpInsert Op = "insert"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Ops lists the ops in their canonical order.
func Ops() []Op { return []Op{OpSelect, OpInsert, OpUpdate, OpDelete} }

// Valid reports whether o is one of the four ops.
func (o Op) Valid() bool { return slices.Contains(Ops(), o) }

// Document is a parsed permissions.yaml. It is serialized into the release
// bundle, so every field has a stable lowerCamelCase JSON name.
type Document struct {
	Version int `json:"version"`
	// Tables are in file order.
	Tables []Table `json:"tables"`
}

// Table holds the permissions of one tables entry.
type Table struct {
	// Key is the tables key as written: "users", "_default", "analytics.events".
	Key string `json:"key"`
	// Connection is "main" unless the key is "connection.table"; empty for _default.
	Connection string `json:"connection"`
	// Name is the table name; empty for _default.
	Name string `json:"name"`
	// Owner is the owner column of the §5.3 shorthand, or empty.
	Owner string `json:"owner,omitempty"`
	// Ops holds the ops the table defines. An op that is absent falls back to
	// _default; an op present with no rules denies everyone.
	Ops  map[Op][]Rule `json:"ops"`
	Line int           `json:"line,omitempty"`

	// ownerAt is where the owner value was written (lost in JSON, so
	// Validate then falls back to Line).
	ownerAt pos
}

// IsDefault reports whether t is the _default entry.
func (t *Table) IsDefault() bool { return t.Key == DefaultKey }

// Rule is one rule of an op. Shorthand ops ("select: [a, b]") are one rule.
type Rule struct {
	Roles []string `json:"roles"`
	// Columns is nil when the rule allows every column.
	Columns *Columns `json:"columns,omitempty"`
	// Condition and Check are the CEL text as written (SPEC §5.2).
	Condition string `json:"condition,omitempty"`
	Check     string `json:"check,omitempty"`
	// Cond and CheckPred are Condition and Check compiled against the
	// table (CompileConditions). A rule whose text is set but whose tree
	// is nil was never compiled: the planner refuses to serve it.
	Cond      *predicate.Node `json:"cond,omitempty"`
	CheckPred *predicate.Node `json:"checkPred,omitempty"`
	Line      int             `json:"line,omitempty"`

	// condAt and checkAt are where the texts were written, for the
	// positions of compile problems; lost in JSON.
	condAt, checkAt exprAt
}

// Columns restricts a rule to some columns: the list form sets Allow (only
// those), the {deny: [...]} form sets Deny (all but those). A column is
// allowed when Allow is nil or holds it, and Deny does not hold it; so an
// empty list form ("columns: []", Allow non-nil and empty) allows nothing.
// The JSON form keeps that distinction ("allow": null versus []); an empty
// or absent deny denies nothing, so it may be left out.
type Columns struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny,omitempty"`

	// at holds where each name of Allow (or of Deny, for the deny form) was
	// written, for Validate's messages; lost in JSON.
	at []pos
}

// Allows reports whether the rule's column list allows col. A nil *Columns
// (no columns key) allows everything.
func (c *Columns) Allows(col string) bool {
	if c == nil {
		return true
	}
	if c.Allow != nil && !slices.Contains(c.Allow, col) {
		return false
	}
	return !slices.Contains(c.Deny, col)
}

// Allowed lists the columns of t that c allows, in the table's column order.
func (c *Columns) Allowed(t *schema.Table) []string {
	out := []string{}
	for _, col := range t.Columns {
		if c.Allows(col.Name) {
			out = append(out, col.Name)
		}
	}
	return out
}

// Table returns the entry of the table name on connection (not _default).
func (d *Document) Table(connection, name string) (*Table, bool) {
	for i := range d.Tables {
		t := &d.Tables[i]
		if !t.IsDefault() && t.Connection == connection && t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// Default returns the _default entry.
func (d *Document) Default() (*Table, bool) {
	for i := range d.Tables {
		if d.Tables[i].IsDefault() {
			return &d.Tables[i], true
		}
	}
	return nil, false
}

// Rules returns the rules that decide op on the table: the table's own when
// it defines op, else _default's (whether or not the table is listed).
// ok=false means neither defines op, so op is denied to everyone. ok=true
// with no rules means op is defined as an empty list, which denies too.
// _default applies to tables of every connection, not only "main".
func (d *Document) Rules(connection, table string, op Op) ([]Rule, bool) {
	if t, ok := d.Table(connection, table); ok {
		if rules, ok := t.Ops[op]; ok {
			return rules, true
		}
	}
	if t, ok := d.Default(); ok {
		if rules, ok := t.Ops[op]; ok {
			return rules, true
		}
	}
	return nil, false
}

// pos is a line and column in the source (1-based; 0 when unknown).
type pos struct{ line, col int }

// exprAt is where a condition or check was written: the position of its
// YAML value, whether the value was quoted (its text starts one column
// later) or a block scalar (its text starts on the next line), and the
// problem path.
type exprAt struct {
	pos
	path          string
	quoted, block bool
}
