//go:build !wasip1

package permissions

// Validation (apply time, on the Hub and CLI) is left out of the wasip1
// build: the Workers planner gets releases that were validated when they
// were made (decision 0030).

import (
	"fmt"
	"iter"
	"slices"
	"sort"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/schema"
)

// Validate checks the document against the schema snapshots of its
// connections (snaps is keyed by connection name): every listed table's
// connection must have a snapshot, the table must exist in it, and the
// columns named by owner and by columns lists (allow or deny) must exist in
// the table. _default is not checked against any table. Problems come in
// line order.
func (d *Document) Validate(snaps map[string]*schema.Snapshot) []apierr.Problem {
	var out []apierr.Problem
	add := func(at pos, fallback int, path, format string, args ...any) {
		if at.line < 1 {
			at = pos{line: fallback}
		}
		out = append(out, apierr.Problem{Path: path, Line: at.line, Column: at.col, Message: fmt.Sprintf(format, args...)})
	}
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.IsDefault() {
			continue
		}
		path := tablePath(t.Key)
		snap := snaps[t.Connection]
		if snap == nil {
			add(pos{}, t.Line, path, "unknown connection %q: there is no schema snapshot for it", t.Connection)
			continue
		}
		st, ok := snap.Table(t.Name)
		if !ok {
			add(pos{}, t.Line, path, "unknown table %q on connection %q", t.Name, t.Connection)
			continue
		}
		if t.Owner != "" {
			if _, ok := st.Column(t.Owner); !ok {
				add(t.ownerAt, t.Line, path+".owner", "unknown owner column %q in table %q", t.Owner, t.Name)
			}
		}
		for _, op := range Ops() {
			for ri, r := range t.Ops[op] {
				if r.Columns == nil {
					continue
				}
				colsPath := fmt.Sprintf("%s.%s[%d].columns", path, op, ri)
				list := r.Columns.Allow
				if r.Columns.Deny != nil {
					colsPath += ".deny"
					list = r.Columns.Deny
				}
				for ci, c := range list {
					if _, ok := st.Column(c); ok {
						continue
					}
					var at pos
					if ci < len(r.Columns.at) {
						at = r.Columns.at[ci]
					}
					add(at, max(r.Line, t.Line), fmt.Sprintf("%s[%d]", colsPath, ci),
						"unknown column %q in table %q", c, t.Name)
				}
			}
		}
	}
	sortProblems(out)
	return out
}

// sortProblems orders problems by line, column, then path (stable).
func sortProblems(ps []apierr.Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Path < b.Path
	})
}

// Warning is an apply-time warning (SPEC §5.4): it does not fail the apply.
type Warning struct {
	Connection string `json:"connection"`
	Table      string `json:"table"`
	Column     string `json:"column"`
	Message    string `json:"message"`
	Line       int    `json:"line,omitempty"`
}

// IndexWarnings warns about owner and condition columns without an index
// (SPEC §5.4): the owner filter and a rule's condition are added to the
// selects, updates and deletes they guard, so without an index each one
// scans the table. A column counts as indexed when it is the first column
// of some index or the first primary-key column (the only positions a
// B-tree can search by alone). Checks are not filters and give no warning.
// Condition columns are known once CompileConditions has run. Tables,
// columns or connections that do not exist are left to Validate. Each
// column is warned about once per table, in file order.
func IndexWarnings(d *Document, snaps map[string]*schema.Snapshot) []Warning {
	out := []Warning{}
	for t, st := range d.snapshotTables(snaps) {
		warned := map[string]bool{}
		warn := func(col string, line int, why string) {
			if _, ok := st.Column(col); !ok || warned[col] || indexed(st, col) {
				return
			}
			warned[col] = true
			if line < 1 {
				line = t.Line
			}
			out = append(out, Warning{
				Connection: t.Connection, Table: t.Name, Column: col, Line: line,
				Message: fmt.Sprintf("%s %q of table %q has no index: every query it filters will scan the table", why, col, t.Name),
			})
		}
		if t.Owner != "" {
			warn(t.Owner, t.ownerAt.line, "owner column")
		}
		for _, op := range Ops() {
			for _, r := range t.Ops[op] {
				if r.Cond == nil {
					continue
				}
				for _, col := range r.Cond.Columns() {
					warn(col, max(r.condAt.line, r.Line), "condition column")
				}
			}
		}
	}
	return out
}

// indexed reports whether col leads an index or the primary key of t.
func indexed(t *schema.Table, col string) bool {
	if len(t.PrimaryKey) > 0 && t.PrimaryKey[0] == col {
		return true
	}
	return slices.ContainsFunc(t.Indexes, func(ix schema.Index) bool {
		return len(ix.Columns) > 0 && ix.Columns[0] == col
	})
}

// snapshotTables yields, in file order, each table entry (not _default)
// with its table in snaps; entries whose connection or table the snapshots
// lack are left to Validate.
func (d *Document) snapshotTables(snaps map[string]*schema.Snapshot) iter.Seq2[*Table, *schema.Table] {
	return func(yield func(*Table, *schema.Table) bool) {
		for i := range d.Tables {
			t := &d.Tables[i]
			if t.IsDefault() || snaps[t.Connection] == nil {
				continue
			}
			st, ok := snaps[t.Connection].Table(t.Name)
			if ok && !yield(t, st) {
				return
			}
		}
	}
}
