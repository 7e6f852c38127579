// Package accessdiff compares what two releases allow (SPEC §9 `release
// diff`): for every table of either release's snapshots, every op and every
// role keyword their rules name, it works out the access a caller holding
// that role gets under each release — the first matching rule in file order,
// the table's own or _default's (SPEC §5.1) — and reports what was gained,
// lost, narrowed, widened or had its condition changed.
//
// It is pure (no I/O, no cel-go): conditions and checks are compared as the
// text written in permissions.yaml, and the owner shorthand (§5.3) as the
// condition it stands for, so that the diff does not depend on how
// conditions are compiled. The Hub answers GET …/releases/diff and the
// permissions apply result with it; docs/decisions/0020-release-diff.md
// explains the choices.
package accessdiff

import (
	"slices"
	"sort"
	"strings"

	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// Kind is what happened to a role's access (SPEC §9).
type Kind string

// The change kinds, in the order a diff lists them for one table, op and
// role.
const (
	// Gained: the role had no access and now has some.
	Gained Kind = "gained"
	// Lost: the role had access and now has none.
	Lost Kind = "lost"
	// Narrowed: fewer columns, or a row restriction (condition, check,
	// owner) added.
	Narrowed Kind = "narrowed"
	// Widened: more columns, or a row restriction removed.
	Widened Kind = "widened"
	// ConditionChanged: the row restriction was rewritten, neither only
	// added to nor only taken from.
	ConditionChanged Kind = "condition-changed"
)

func (k Kind) rank() int {
	return slices.Index([]Kind{Gained, Lost, Narrowed, Widened, ConditionChanged}, k)
}

// Change is one entry of changes[] (SPEC §9): what happened to role's access
// to op on table. Table is written as in permissions.yaml: "users" on the
// main connection, "analytics.events" elsewhere.
type Change struct {
	Table  string `json:"table"`
	Op     string `json:"op"`
	Role   string `json:"role"`
	Change Kind   `json:"change"`
	// Columns lists the columns that became allowed (Added) or not
	// (Removed). On gained/lost it is set only when the rule allows some
	// columns of the table, not all.
	Columns *Columns `json:"columns,omitempty"`
	// Condition is the row restriction before (Old) and after (New), ""
	// for none; set when the restriction takes part in the change.
	Condition *Condition `json:"condition,omitempty"`
}

// Columns are the columns a change adds to or removes from a role's access,
// in the table's column order. Both lists are always present ([] for none),
// as both sides of Condition are, so that consumers see one shape.
type Columns struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// Condition is a row restriction before and after a change: the clauses
// that all must hold, joined with &&. The owner shorthand is written as the
// condition it means (resource.<column> == request.auth.sub), a check as
// check(<expression>).
type Condition struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Release is what a diff compares of a release: its permissions and the
// snapshots they were validated against, by connection.
type Release struct {
	Permissions *permissions.Document
	Snapshots   map[string]*schema.Snapshot
}

// Diff lists the changes of access from one release to another, ordered by
// table, op (select, insert, update, delete) and role (public,
// authenticated, then role names alphabetically), then kind. An empty
// result means every role keeps exactly its access.
func Diff(from, to Release) []Change {
	out := []Change{}
	for _, t := range tables(from, to) {
		for _, op := range permissions.Ops() {
			fromRules := from.rules(t, op)
			toRules := to.rules(t, op)
			for _, role := range roles(fromRules, toRules) {
				a := access(from, t, op, role, fromRules)
				b := access(to, t, op, role, toRules)
				out = append(out, compare(t.label(), string(op), role, a, b)...)
			}
		}
	}
	return out
}

// tableRef names a table on a connection.
type tableRef struct{ conn, name string }

func (t tableRef) label() string {
	if t.conn == permissions.DefaultConnection {
		return t.name
	}
	return t.conn + "." + t.name
}

// tables lists every table of either release's snapshots, by label.
func tables(rs ...Release) []tableRef {
	seen := map[tableRef]bool{}
	var out []tableRef
	for _, r := range rs {
		for conn, snap := range r.Snapshots {
			if snap == nil {
				continue
			}
			for _, t := range snap.Tables {
				ref := tableRef{conn, t.Name}
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].label() < out[j].label() })
	return out
}

// table returns the snapshot table of t, or nil when the release lacks it.
func (r Release) table(t tableRef) *schema.Table {
	snap := r.Snapshots[t.conn]
	if snap == nil {
		return nil
	}
	for i := range snap.Tables {
		if snap.Tables[i].Name == t.name {
			return &snap.Tables[i]
		}
	}
	return nil
}

// rules returns the rules deciding op on t in r: none when r's snapshots
// lack the table (it cannot be called) or r has no permissions.
func (r Release) rules(t tableRef, op permissions.Op) []permissions.Rule {
	if r.Permissions == nil || r.table(t) == nil {
		return nil
	}
	rules, _ := r.Permissions.Rules(t.conn, t.name, op)
	return rules
}

// owner is the table's owner column in r (SPEC §5.3), or "".
func (r Release) owner(t tableRef) string {
	if r.Permissions == nil {
		return ""
	}
	if e, ok := r.Permissions.Table(t.conn, t.name); ok {
		return e.Owner
	}
	return ""
}

// roles lists the role keywords named by either rule list: public and
// authenticated first, then role names alphabetically. A role no rule
// names is not listed: its access is public's (or nothing) on both sides.
func roles(lists ...[]permissions.Rule) []string {
	set := map[string]bool{}
	for _, rules := range lists {
		for _, r := range rules {
			for _, role := range r.Roles {
				set[role] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for role := range set {
		out = append(out, role)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := keywordRank(out[i]), keywordRank(out[j])
		if ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func keywordRank(role string) int {
	switch role {
	case names.RolePublic:
		return 0
	case names.RoleAuthenticated:
		return 1
	}
	return 2
}

// grant is a role's access to one op of one table under one release.
type grant struct {
	ok bool
	// cols are the allowed columns in table order; all reports that they
	// are every column of the table.
	cols []string
	all  bool
	// clauses are the row restrictions that must all hold: owner, then
	// condition, then check.
	clauses []string
}

// access works out the grant of a caller holding role: the first rule that
// matches it decides (SPEC §5.1). public stands for a caller without a
// credential, matched only by public rules; authenticated for a verified
// end user without a named role, matched by authenticated and public rules;
// a role name for a caller holding that role, matched by rules naming it
// and public rules. The owner shorthand restricts every caller but public:
// a role name can come from a JWT, and end users are restricted by owner
// (API keys are not, SPEC §5.3; decision 0020).
func access(r Release, t tableRef, op permissions.Op, role string, rules []permissions.Rule) grant {
	for i := range rules {
		rule := &rules[i]
		if !matches(rule, role) {
			continue
		}
		st := r.table(t)
		g := grant{ok: true, cols: rule.Columns.Allowed(st)}
		g.all = len(g.cols) == len(st.Columns)
		if owner := r.owner(t); owner != "" && role != names.RolePublic {
			g.clauses = append(g.clauses, "resource."+owner+" == request.auth.sub")
		}
		if c := strings.TrimSpace(rule.Condition); c != "" && op != permissions.OpInsert {
			g.clauses = append(g.clauses, c)
		}
		if c := strings.TrimSpace(rule.Check); c != "" && (op == permissions.OpInsert || op == permissions.OpUpdate) {
			g.clauses = append(g.clauses, "check("+c+")")
		}
		return g
	}
	return grant{}
}

// matches reports whether rule matches a caller holding role. An end user
// holding a role name also matches authenticated rules and an API key does
// not; the diff reports authenticated on its own line and reads role names
// as API keys match them, so that a role's line never depends on the kind
// of credential (decision 0020).
func matches(rule *permissions.Rule, role string) bool {
	for _, have := range rule.Roles {
		if have == names.RolePublic || have == role {
			return true
		}
	}
	return false
}

// compare classifies the difference between two grants of one role. Column
// and row-restriction changes that go different ways are two entries (one
// narrowed, one widened), so that each entry says one thing.
func compare(table, op, role string, a, b grant) []Change {
	base := Change{Table: table, Op: op, Role: role}
	switch {
	case !a.ok && !b.ok:
		return nil
	case !a.ok:
		c := base
		c.Change = Gained
		if !b.all {
			c.Columns = &Columns{Added: nonNil(b.cols), Removed: []string{}}
		}
		if len(b.clauses) > 0 {
			c.Condition = &Condition{New: render(b.clauses)}
		}
		return []Change{c}
	case !b.ok:
		c := base
		c.Change = Lost
		if !a.all {
			c.Columns = &Columns{Added: []string{}, Removed: nonNil(a.cols)}
		}
		if len(a.clauses) > 0 {
			c.Condition = &Condition{Old: render(a.clauses)}
		}
		return []Change{c}
	}
	var out []Change
	add := func(k Kind, fill func(*Change)) {
		for i := range out {
			if out[i].Change == k {
				fill(&out[i])
				return
			}
		}
		c := base
		c.Change = k
		fill(&c)
		out = append(out, c)
	}
	if added := minus(b.cols, a.cols); len(added) > 0 {
		add(Widened, func(c *Change) { c.columns().Added = added })
	}
	if removed := minus(a.cols, b.cols); len(removed) > 0 {
		add(Narrowed, func(c *Change) { c.columns().Removed = removed })
	}
	if k, ok := restriction(a.clauses, b.clauses); ok {
		add(k, func(c *Change) { c.Condition = &Condition{Old: render(a.clauses), New: render(b.clauses)} })
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Change.rank() < out[j].Change.rank() })
	return out
}

func (c *Change) columns() *Columns {
	if c.Columns == nil {
		c.Columns = &Columns{Added: []string{}, Removed: []string{}}
	}
	return c.Columns
}

// restriction classifies a change of row restrictions: clauses only added
// narrow, only removed widen, anything else is a changed condition.
// ok=false when they are the same.
func restriction(old, new []string) (Kind, bool) {
	gone, added := minus(old, new), minus(new, old)
	switch {
	case len(gone) == 0 && len(added) == 0:
		return "", false
	case len(gone) == 0:
		return Narrowed, true
	case len(added) == 0:
		return Widened, true
	}
	return ConditionChanged, true
}

// render joins clauses with &&, parenthesizing each when there are several.
func render(clauses []string) string {
	if len(clauses) == 1 {
		return clauses[0]
	}
	parts := make([]string, len(clauses))
	for i, c := range clauses {
		parts[i] = "(" + c + ")"
	}
	return strings.Join(parts, " && ")
}

// minus lists the items of a not in b, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
