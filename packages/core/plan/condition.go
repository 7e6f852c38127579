package plan

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/predicate"
)

// Conditions and checks (SPEC §5.2) arrive as predicate trees compiled by
// the Hub. Decisions (decision 0019):
//
//   - Compile resolves columns and decodes literals once per bundle; a tree
//     that does not fit the snapshot (a column gone, a literal that is no
//     value of its column) makes the rule unenforceable: matching it
//     answers 500, never a wider access.
//   - Per call, the request.* operands are looked up first. One that is
//     absent — no sub (API keys, anonymous callers), a claim the token does
//     not carry, roles of an anonymous caller — or a claim whose value
//     cannot be compared (wrong type) makes the whole condition false,
//     whatever ! or || surround it. Then comparisons without a column are
//     evaluated here; and/or/not fold around them, so a constant condition
//     adds no SQL (true) or a constant FALSE (false). The SQL text thus
//     depends on the request's shape and on which request-only parts hold,
//     never on values: every value is bound.
//   - Negations are pushed down to the comparisons (De Morgan), so that
//     SQL's unknown (a NULL column) never meets a NOT and always counts as
//     false: == and != are two-valued as in CEL (c != v is true for a NULL
//     c, c == null is IS NULL, column against column uses IS [NOT]
//     DISTINCT FROM), while < <= > >= and in on a NULL column are false,
//     and so are their negations.
//   - in binds one list as $in does (= ANY($n) / IN (SELECT value FROM
//     json_each(?))).
//   - A check is rendered as an extra RETURNING value, CASE WHEN <check>
//     THEN 1 ELSE 0 END, read by the executor: any written row without 1
//     rolls the transaction back and answers 403. A check that is false
//     before any row is seen (absent request.auth.*) is 403 at once.

// cond is a condition or check compiled against a table.
type cond struct {
	root cnode
}

// cnode is a predicate node with its column resolved and its literal
// decoded (string, json.Number, bool, nil).
type cnode struct {
	op   predicate.Op
	kids []cnode
	col  int
	name string
	val  any
}

// compileCond resolves a tree against the table; ok=false when it does not
// fit (the rule is then unenforceable).
func (te *tableEnv) compileCond(n *predicate.Node) (*cond, bool) {
	if n == nil || n.Validate() != nil {
		return nil, false
	}
	root, ok := te.compileNode(n)
	if !ok {
		return nil, false
	}
	return &cond{root: root}, true
}

func (te *tableEnv) compileNode(n *predicate.Node) (cnode, bool) {
	c := cnode{op: n.Op, col: -1, name: n.Name}
	switch n.Op {
	case predicate.Column:
		i, ok := te.byName[n.Name]
		if !ok {
			return c, false
		}
		col := &te.cols[i]
		if col.array || col.kind == kJSON || col.kind == kJSONB || col.kind == kBytea || col.kind == kOther {
			return c, false
		}
		c.col = i
		return c, true
	case predicate.Lit:
		v, err := jsonscan.Decode(n.Value)
		if err != nil {
			return c, false
		}
		c.val = v
		return c, true
	}
	for i := range n.Args {
		k, ok := te.compileNode(&n.Args[i])
		if !ok {
			return c, false
		}
		c.kids = append(c.kids, k)
	}
	// A literal compared with a column must be a value of that column: the
	// check is the planner's own, per engine, so that it matches what the
	// Bridge binds.
	if n.Op.IsComparison() && len(c.kids) == 2 {
		for _, eng := range []engine{enginePostgres, engineSQLite} {
			for side := range 2 {
				colN, other := c.kids[side], c.kids[1-side]
				if colN.op != predicate.Column {
					continue
				}
				vals := []cnode{other}
				if other.op == predicate.List {
					vals = other.kids
				}
				for _, v := range vals {
					if v.op != predicate.Lit || v.val == nil {
						continue
					}
					if _, prob := scalarValue(te.cols[colN.col].kind, eng, v.val); prob != "" {
						return c, false
					}
				}
			}
		}
	}
	return c, true
}

// tri is the state of a (sub)condition once the request is known.
type tri uint8

const (
	dynamic tri = iota // needs SQL
	isTrue
	isFalse
)

// condCtx evaluates one condition for one call.
type condCtx struct {
	p *planner
	// absent is set when a request.* operand is missing or unusable: the
	// whole condition is false.
	absent bool
}

// operandValue is the request value of a non-column operand, in the forms
// scalarValue takes (string, json.Number, bool, nil) or []any for lists.
// ok=false: absent.
func (x *condCtx) operandValue(n *cnode) (any, bool) {
	c := &x.p.c
	switch n.op {
	case predicate.Lit:
		return n.val, true
	case predicate.List:
		out := make([]any, len(n.kids))
		for i := range n.kids {
			out[i] = n.kids[i].val
		}
		return out, true
	case predicate.Sub:
		if c.Subject == "" || c.Anonymous {
			return nil, false
		}
		return c.Subject, true
	case predicate.Roles:
		if c.Anonymous {
			return nil, false
		}
		out := make([]any, len(c.Roles))
		for i, r := range c.Roles {
			out[i] = r
		}
		return out, true
	case predicate.Claim:
		// A claim present as null counts as absent (SPEC §5.2): as a
		// value it would turn `resource.org == request.auth.claims.org`
		// into `org IS NULL` and show every row without an org.
		v, ok := c.Claims[n.name]
		if !ok || v == nil || c.Anonymous {
			return nil, false
		}
		return claimValue(v)
	}
	return nil, false
}

// claimValue turns a JSON-decoded claim into an operand value; objects
// cannot be compared (absent).
func claimValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, string, bool, json.Number:
		return v, true
	case float64:
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64)), true
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), true
	case int:
		return json.Number(strconv.Itoa(v)), true
	case []any:
		out := make([]any, len(v))
		for i, el := range v {
			ev, ok := claimValue(el)
			if !ok {
				return nil, false
			}
			if _, isList := ev.([]any); isList {
				return nil, false
			}
			out[i] = ev
		}
		return out, true
	}
	return nil, false
}

// check looks every request operand up once; false when one is absent.
func (x *condCtx) check(n *cnode) bool {
	switch n.op {
	case predicate.Roles:
		return !x.p.c.Anonymous
	case predicate.Sub, predicate.Claim:
		_, ok := x.operandValue(n)
		return ok
	}
	for i := range n.kids {
		if !x.check(&n.kids[i]) {
			return false
		}
	}
	return true
}

func readsColumn(n *cnode) bool {
	if n.op == predicate.Column {
		return true
	}
	for i := range n.kids {
		if readsColumn(&n.kids[i]) {
			return true
		}
	}
	return false
}

// state folds n (negated when neg) as far as the request allows.
func (x *condCtx) state(n *cnode, neg bool) tri {
	switch n.op {
	case predicate.Not:
		return x.state(&n.kids[0], !neg)
	case predicate.And, predicate.Or:
		and := (n.op == predicate.And) != neg
		out := isTrue
		if !and {
			out = isFalse
		}
		for i := range n.kids {
			switch s := x.state(&n.kids[i], neg); {
			case s == dynamic:
				out = dynamic
			case s == isFalse && and, s == isTrue && !and:
				return s
			}
		}
		return out
	}
	if readsColumn(n) {
		return dynamic
	}
	b, ok := x.evalStatic(n)
	if !ok {
		x.absent = true
		return isFalse
	}
	if b != neg {
		return isTrue
	}
	return isFalse
}

// evalStatic evaluates a comparison without columns. ok=false: the values
// cannot be compared (the whole condition is then false).
func (x *condCtx) evalStatic(n *cnode) (bool, bool) {
	l, ok1 := x.operandValue(&n.kids[0])
	if !ok1 {
		return false, false
	}
	// in on the roles or a list literal: no list is built.
	if rn := &n.kids[1]; n.op == predicate.In && (rn.op == predicate.Roles || rn.op == predicate.List) {
		if _, isList := l.([]any); isList {
			return false, false
		}
		if rn.op == predicate.Roles {
			s, isStr := l.(string)
			return isStr && slices.Contains(x.p.c.Roles, s), !x.p.c.Anonymous
		}
		for i := range rn.kids {
			if eq, ok := equalValues(l, rn.kids[i].val); ok && eq {
				return true, true
			}
		}
		return false, true
	}
	r, ok2 := x.operandValue(&n.kids[1])
	if !ok2 {
		return false, false
	}
	if n.op == predicate.In {
		list, ok := r.([]any)
		if !ok {
			return false, false
		}
		for _, el := range list {
			if eq, ok := equalValues(l, el); ok && eq {
				return true, true
			}
		}
		return false, true
	}
	switch n.op {
	case predicate.Eq, predicate.Ne:
		eq, ok := equalValues(l, r)
		if !ok {
			return false, false
		}
		return eq == (n.op == predicate.Eq), true
	}
	c, ok := compareValues(l, r)
	if !ok {
		return false, false
	}
	switch n.op {
	case predicate.Lt:
		return c < 0, true
	case predicate.Le:
		return c <= 0, true
	case predicate.Gt:
		return c > 0, true
	}
	return c >= 0, true
}

// equalValues is CEL equality on request values: values of different types
// are unequal (null equals only null); lists cannot be compared.
func equalValues(a, b any) (bool, bool) {
	switch a := a.(type) {
	case nil:
		_, isList := b.([]any)
		return b == nil, !isList
	case string:
		s, ok := b.(string)
		return ok && a == s, !isList(b)
	case bool:
		v, ok := b.(bool)
		return ok && a == v, !isList(b)
	case json.Number:
		if bn, ok := b.(json.Number); ok {
			c, ok := compareNumbers(a, bn)
			return c == 0, ok
		}
		return false, !isList(b)
	}
	return false, false
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// compareValues orders two strings or two numbers.
func compareValues(a, b any) (int, bool) {
	switch a := a.(type) {
	case string:
		s, ok := b.(string)
		if !ok {
			return 0, false
		}
		switch {
		case a < s:
			return -1, true
		case a > s:
			return 1, true
		}
		return 0, true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return 0, false
		}
		return compareNumbers(a, bn)
	}
	return 0, false
}

func compareNumbers(a, b json.Number) (int, bool) {
	if ai, err := a.Int64(); err == nil {
		if bi, err := b.Int64(); err == nil {
			switch {
			case ai < bi:
				return -1, true
			case ai > bi:
				return 1, true
			}
			return 0, true
		}
	}
	af, err1 := a.Float64()
	bf, err2 := b.Float64()
	if err1 != nil || err2 != nil {
		return 0, false
	}
	switch {
	case af < bf:
		return -1, true
	case af > bf:
		return 1, true
	}
	return 0, true
}

// evaluate folds a condition for this call: isTrue/isFalse, or dynamic
// when SQL must decide.
func (p *planner) evaluate(c *cond) tri {
	if c == nil {
		return isTrue
	}
	x := condCtx{p: p}
	if !x.check(&c.root) {
		return isFalse
	}
	s := x.state(&c.root, false)
	if x.absent {
		return isFalse
	}
	return s
}

// writeCond renders a condition whose evaluate was dynamic. It returns
// false when a value turns out not to fit its column (the whole condition
// is then false, and the caller renders FALSE instead).
func (p *planner) writeCond(c *cond) bool {
	x := condCtx{p: p}
	start, nargs := p.sb.Len(), len(p.args)
	ok := x.render(&c.root, false)
	if !ok || x.absent {
		// Roll the text back: strings.Builder cannot shrink, so rebuild.
		s := p.sb.String()[:start]
		p.sb.Reset()
		p.sb.WriteString(s)
		p.args = p.args[:nargs]
		return false
	}
	return true
}

// render writes n (negated when neg) for a dynamic node.
func (x *condCtx) render(n *cnode, neg bool) bool {
	p := x.p
	switch n.op {
	case predicate.Not:
		return x.render(&n.kids[0], !neg)
	case predicate.And, predicate.Or:
		and := (n.op == predicate.And) != neg
		sep := " OR "
		if and {
			sep = " AND "
		}
		// Only the dynamic children are written: a true under and, or a
		// false under or, changes nothing (and the others were folded).
		var dyn []int
		for i := range n.kids {
			if x.state(&n.kids[i], neg) == dynamic {
				dyn = append(dyn, i)
			}
		}
		if len(dyn) == 1 {
			return x.render(&n.kids[dyn[0]], neg)
		}
		p.sb.WriteByte('(')
		for k, i := range dyn {
			if k > 0 {
				p.sb.WriteString(sep)
			}
			if !x.render(&n.kids[i], neg) {
				return false
			}
		}
		p.sb.WriteByte(')')
		return true
	}
	return x.comparison(n, neg)
}

// negated maps each comparison to its negation (on non-null values).
var negated = map[predicate.Op]predicate.Op{
	predicate.Eq: predicate.Ne, predicate.Ne: predicate.Eq,
	predicate.Lt: predicate.Ge, predicate.Ge: predicate.Lt,
	predicate.Gt: predicate.Le, predicate.Le: predicate.Gt,
}

// swapped is the comparison with its sides exchanged.
var swapped = map[predicate.Op]predicate.Op{
	predicate.Eq: predicate.Eq, predicate.Ne: predicate.Ne,
	predicate.Lt: predicate.Gt, predicate.Gt: predicate.Lt,
	predicate.Le: predicate.Ge, predicate.Ge: predicate.Le,
}

func sqlOp(op predicate.Op) string {
	switch op {
	case predicate.Ne:
		return " <> "
	case predicate.Lt:
		return " < "
	case predicate.Le:
		return " <= "
	case predicate.Gt:
		return " > "
	case predicate.Ge:
		return " >= "
	}
	return " = "
}

// comparison writes a comparison that involves a column.
func (x *condCtx) comparison(n *cnode, neg bool) bool {
	p := x.p
	l, r := &n.kids[0], &n.kids[1]
	op := n.op
	if op == predicate.In {
		return x.in(l, r, neg)
	}
	if l.op != predicate.Column {
		l, r = r, l
		op = swapped[op]
	}
	col := &p.t.cols[l.col]
	if neg {
		op = negated[op]
	}
	if r.op == predicate.Column {
		other := &p.t.cols[r.col]
		switch {
		case op == predicate.Eq || op == predicate.Ne:
			p.sb.WriteString(col.quoted)
			switch {
			case p.eng == enginePostgres && op == predicate.Eq:
				p.sb.WriteString(" IS NOT DISTINCT FROM ")
			case p.eng == enginePostgres:
				p.sb.WriteString(" IS DISTINCT FROM ")
			case op == predicate.Eq:
				p.sb.WriteString(" IS ")
			default:
				p.sb.WriteString(" IS NOT ")
			}
		default:
			p.sb.WriteString(col.quoted)
			p.sb.WriteString(sqlOp(op))
		}
		p.sb.WriteString(other.quoted)
		return true
	}
	raw, ok := x.operandValue(r)
	if !ok {
		x.absent = true
		return false
	}
	if raw == nil {
		p.sb.WriteString(col.quoted)
		if op == predicate.Eq {
			p.sb.WriteString(" IS NULL")
		} else {
			p.sb.WriteString(" IS NOT NULL")
		}
		return true
	}
	v, prob := scalarValue(col.kind, p.eng, raw)
	if prob != "" {
		return false
	}
	orNull := op == predicate.Ne && col.nullable
	if orNull {
		p.sb.WriteByte('(')
	}
	p.sb.WriteString(col.quoted)
	p.sb.WriteString(sqlOp(op))
	p.param(col.bind(p.eng, v))
	if orNull {
		p.sb.WriteString(" OR ")
		p.sb.WriteString(col.quoted)
		p.sb.WriteString(" IS NULL)")
	}
	return true
}

// in writes column in list (a literal, the roles or a claim).
func (x *condCtx) in(l, r *cnode, neg bool) bool {
	p := x.p
	raw, ok := x.operandValue(r)
	list, isList := raw.([]any)
	if !ok || !isList {
		x.absent = true
		return false
	}
	col := &p.t.cols[l.col]
	arg, err := p.inList(col, list, at("condition"))
	if err != nil {
		return false
	}
	if neg && col.nullable {
		p.sb.WriteByte('(')
	}
	p.sb.WriteString(col.quoted)
	switch {
	case p.eng == enginePostgres && !neg:
		p.sb.WriteString(" = ANY(")
	case p.eng == enginePostgres:
		p.sb.WriteString(" <> ALL(")
	case !neg:
		p.sb.WriteString(" IN (SELECT value FROM json_each(")
	default:
		p.sb.WriteString(" NOT IN (SELECT value FROM json_each(")
	}
	p.param(arg)
	p.sb.WriteByte(')')
	if p.eng == engineSQLite {
		p.sb.WriteByte(')')
	}
	if neg && col.nullable {
		p.sb.WriteString(" OR ")
		p.sb.WriteString(col.quoted)
		p.sb.WriteString(" IS NULL)")
	}
	return true
}

// LiteralProblem says why v (a literal of a condition: string,
// json.Number, bool) is no value of a column of normalized type typ on
// either engine, or "" when it is one. The Hub's condition compiler calls
// it at apply time so that such a literal is refused with its position
// rather than making the rule unenforceable in the Bridge.
func LiteralProblem(typ string, v any) string {
	k, ok := kindOf(typ)
	if !ok {
		return "the column's type cannot be compared"
	}
	for _, eng := range []engine{enginePostgres, engineSQLite} {
		if _, prob := scalarValue(k, eng, v); prob != "" {
			return prob
		}
	}
	return ""
}
