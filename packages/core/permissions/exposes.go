package permissions

import (
	"sort"

	"github.com/santokit/santokit/packages/core/schema"
)

// Exposure lists the columns of one table that a document exposes.
type Exposure struct {
	Connection string   `json:"connection"`
	Table      string   `json:"table"`
	Columns    []string `json:"columns"`
}

// Exposes lists what the document exposes on the snapshotted tables, for the
// promotion drift check (SPEC §9). A table exposes a column when some op has
// a rule (its own or from _default) that allows the column (SPEC §5.1).
//
// Decisions where the spec is silent:
//   - _default applies to every table of every snapshotted connection, listed
//     or not, and not only to "main": a table key's connection only says
//     where a listed table lives, and _default takes no connection prefix.
//   - The owner column of a table that has at least one rule is exposed too,
//     even when no columns list names it: every owner-filtered request uses
//     it, so a target database without it must fail the drift check.
//   - A listed table whose connection or table is not in snaps is left out
//     (Validate reports it).
//
// Exposures are sorted by connection then table; columns keep the table's
// column order; tables that expose no column are left out.
func Exposes(d *Document, snaps map[string]*schema.Snapshot) []Exposure {
	conns := make([]string, 0, len(snaps))
	for c, s := range snaps {
		if s != nil {
			conns = append(conns, c)
		}
	}
	sort.Strings(conns)
	out := []Exposure{}
	for _, conn := range conns {
		tables := make([]*schema.Table, 0, len(snaps[conn].Tables))
		for i := range snaps[conn].Tables {
			tables = append(tables, &snaps[conn].Tables[i])
		}
		sort.SliceStable(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
		for _, st := range tables {
			if cols := exposed(d, conn, st); len(cols) > 0 {
				out = append(out, Exposure{Connection: conn, Table: st.Name, Columns: cols})
			}
		}
	}
	return out
}

// exposed lists the columns of st that some rule of some op allows, plus
// the owner column when any rule applies.
func exposed(d *Document, conn string, st *schema.Table) []string {
	var rules []Rule
	for _, op := range Ops() {
		rs, _ := d.Rules(conn, st.Name, op)
		rules = append(rules, rs...)
	}
	if len(rules) == 0 {
		return nil
	}
	owner := ""
	if t, ok := d.Table(conn, st.Name); ok {
		owner = t.Owner
	}
	cols := []string{}
	for _, c := range st.Columns {
		if c.Name == owner {
			cols = append(cols, c.Name)
			continue
		}
		for _, r := range rules {
			if r.Columns.Allows(c.Name) {
				cols = append(cols, c.Name)
				break
			}
		}
	}
	return cols
}
