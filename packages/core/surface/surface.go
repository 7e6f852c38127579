// Package surface is what a release lets callers reach through POST /call
// (SPEC §13 `stk gen types`; decision 0029): for every table some rule
// exposes, the columns a select returns (Row) and those an insert or
// update may write, with their normalized types, nullability and whether
// a write may leave them out; and every logic that is not private, with
// its params and result columns as recorded at `logic apply`. The Hub
// computes it from a release's permissions, snapshots and logic set
// (GET …/releases/current/surface); `stk gen types` renders it as a
// language's types. It is pure and sorted, so equal releases give equal
// output byte for byte.
package surface

import (
	"slices"
	"sort"

	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// Surface is the callable surface of one release.
type Surface struct {
	Release     string       `json:"release"`
	Project     string       `json:"project"`
	Env         string       `json:"env"`
	Connections []Connection `json:"connections"`
	Logics      []Logic      `json:"logics"`
}

// Connection holds the exposed tables of one connection, by name.
type Connection struct {
	Name   string  `json:"name"`
	Tables []Table `json:"tables"`
}

// Table is one exposed table: the columns each op reaches, by name. An op
// no rule grants has no columns; Delete reports whether some rule grants
// delete (it has no columns of its own).
type Table struct {
	Name   string   `json:"name"`
	Row    []Column `json:"row"`
	Insert []Column `json:"insert"`
	Update []Column `json:"update"`
	Delete bool     `json:"delete"`
}

// Column is a column as one op sees it.
type Column struct {
	Name string `json:"name"`
	// Type is the normalized type (SPEC §1): "integer", "array<text>", ….
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	// Optional: a write may leave the column out (insert: it is nullable,
	// has a default or is an identity, or is the owner column the Bridge
	// fills for end users; update: always).
	Optional bool `json:"optional"`
}

// Logic is one callable logic (SPEC §6).
type Logic struct {
	Name     string  `json:"name"`
	Readonly bool    `json:"readonly"`
	Params   []Param `json:"params"`
	// Result are the result columns as the database described them;
	// empty for a statement that returns no rows. Their nullability is
	// unknown (the database does not describe it).
	Result []logic.Column `json:"result"`
}

// Param is a declared param: Type is the logic param type (SPEC §6:
// string, integer, number, boolean, uuid, timestamptz, date, json,
// array<…>); Optional unless the front matter says required.
type Param struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Optional bool   `json:"optional"`
}

// Of computes the surface of a release: its permissions document, its
// snapshots by connection and its logic set. A table is listed when some
// rule of some op (its own or _default's, SPEC §5.1) applies to it, even if
// that rule allows no column; its Row, Insert and Update are the union of
// what the rules of that op allow, whichever role they name — a type file
// describes what some caller can do, and the Bridge still checks each
// call.
func Of(release, project, env string, doc *permissions.Document, snaps map[string]*schema.Snapshot, logics []logic.Logic) Surface {
	s := Surface{Release: release, Project: project, Env: env, Connections: []Connection{}, Logics: []Logic{}}
	conns := make([]string, 0, len(snaps))
	for c, snap := range snaps {
		if snap != nil {
			conns = append(conns, c)
		}
	}
	sort.Strings(conns)
	for _, conn := range conns {
		c := Connection{Name: conn, Tables: []Table{}}
		for i := range snaps[conn].Tables {
			if t, ok := table(doc, conn, &snaps[conn].Tables[i]); ok {
				c.Tables = append(c.Tables, t)
			}
		}
		if len(c.Tables) > 0 {
			sort.Slice(c.Tables, func(i, j int) bool { return c.Tables[i].Name < c.Tables[j].Name })
			s.Connections = append(s.Connections, c)
		}
	}
	for _, l := range logics {
		if l.Private() {
			continue
		}
		out := Logic{Name: l.Name, Readonly: l.Readonly, Params: []Param{}, Result: []logic.Column{}}
		for _, p := range l.Params {
			out.Params = append(out.Params, Param{Name: p.Name, Type: p.Type, Optional: !p.Required})
		}
		sort.Slice(out.Params, func(i, j int) bool { return out.Params[i].Name < out.Params[j].Name })
		out.Result = append(out.Result, l.Columns...)
		s.Logics = append(s.Logics, out)
	}
	sort.Slice(s.Logics, func(i, j int) bool { return s.Logics[i].Name < s.Logics[j].Name })
	return s
}

// table works out one table's surface; ok=false when no rule applies.
func table(doc *permissions.Document, conn string, st *schema.Table) (Table, bool) {
	if doc == nil {
		return Table{}, false
	}
	owner := ""
	if e, ok := doc.Table(conn, st.Name); ok {
		owner = e.Owner
	}
	t := Table{Name: st.Name}
	granted := false
	cols := func(op permissions.Op) []Column {
		rules, _ := doc.Rules(conn, st.Name, op)
		if len(rules) > 0 {
			granted = true
		}
		out := []Column{}
		for _, c := range st.Columns {
			if op != permissions.OpSelect && c.Generated {
				continue // never writable (the Bridge answers 400)
			}
			if !slices.ContainsFunc(rules, func(r permissions.Rule) bool { return r.Columns.Allows(c.Name) }) {
				continue
			}
			col := Column{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
			switch op {
			case permissions.OpInsert:
				col.Optional = c.Nullable || c.Default != nil || c.Identity || c.Name == owner
			case permissions.OpUpdate:
				col.Optional = true
			}
			out = append(out, col)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	t.Row = cols(permissions.OpSelect)
	t.Insert = cols(permissions.OpInsert)
	t.Update = cols(permissions.OpUpdate)
	rules, _ := doc.Rules(conn, st.Name, permissions.OpDelete)
	t.Delete = len(rules) > 0
	return t, granted || t.Delete
}
