package plan

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/filter"
	"github.com/santokit/santokit/packages/core/schema"
)

// msgNeedCredential answers an anonymous caller whose target is not public.
const msgNeedCredential = "this call needs a credential: send an API key (X-Santokit-Api-Key) or an end-user token (Authorization: Bearer)"

// Plan runs steps 5 (authorization) and 6 (params) of SPEC §4.2 for a
// parsed target and the raw JSON of params (nil, empty or null: none), and
// returns the statement to run.
//
// Step 5: an anonymous caller gets 401 unless the op's rule (own or
// _default) is public — an unknown connection or table is "not public", so it
// learns nothing. A caller with a credential gets 404 for an unknown
// connection or table and 403 when no rule matches; the first matching rule
// in file order decides. logics/… are planned by logicPlan (logic.go).
// A Superuser (dev mode) skips authorization: every op and column is allowed.
//
// Step 6: params are checked against the snapshot (400: shape, unknown
// column, type) and the rules (403: a column the caller may not read — in
// select, where, orderBy, returning — under its select rule, or may not write
// — in data — under the op's rule), then rendered to SQL whose text depends
// only on the request's shape. See the package's type decisions in types.go
// and the SQL decisions in sql.go. Every error is an *apierr.Error.
func (e *Env) Plan(c Caller, t Target, params []byte) (*Plan, error) {
	if !e.hasRelease {
		return nil, apierr.New(apierr.NotFound, "env %s/%s has no current release", e.project, e.env)
	}
	if t.Logic != "" {
		return e.logicPlan(&c, t.Logic, params)
	}
	op := opIndex(t.Op)
	if op < 0 {
		return nil, apierr.New(apierr.BadRequest, "unknown operation %q: want select, insert, update or delete", clip(string(t.Op)))
	}
	ce := e.conns[t.Connection]
	var te *tableEnv
	if ce != nil {
		te = ce.tables[t.Table]
	}
	var r *rule
	switch {
	case c.Anonymous && !c.Superuser:
		if te != nil {
			r = te.match(op, &c)
		}
		if r == nil {
			return nil, apierr.New(apierr.Unauthorized, msgNeedCredential)
		}
	case ce == nil:
		return nil, apierr.New(apierr.NotFound, "connection %q not found", clip(t.Connection))
	case te == nil:
		return nil, apierr.New(apierr.NotFound, "table %q not found on connection %q", clip(t.Table), ce.name)
	case c.Superuser:
		r = te.all
	default:
		if r = te.match(op, &c); r == nil {
			return nil, apierr.New(apierr.Forbidden, "%s may not %s %s", who(&c), opVerb(op), te.label)
		}
	}
	if r.unsupported {
		return nil, errConditions()
	}
	p := &planner{e: e, t: te, eng: ce.engine, c: c, op: op, rule: r}
	switch {
	case op == 0:
		p.read = r
	case c.Superuser:
		p.read = te.all
	default:
		p.read = te.match(0, &c)
	}
	if c.EndUser && !c.Superuser && te.owner >= 0 {
		if err := p.ownerValue(); err != nil {
			return nil, err
		}
	}
	ps := &p.params
	if err := splitParams(params, op, ps); err != nil {
		return nil, err
	}
	var err error
	plan := &Plan{Connection: ce.name, Table: te.name, Op: t.Op}
	if ce.engine == enginePostgres {
		plan.Engine = schema.EnginePostgres
	} else {
		plan.Engine = schema.EngineSQLite
	}
	switch op {
	case 0:
		err = p.selectPlan(ps, plan)
	case 1:
		err = p.insertPlan(ps, plan)
	case 2:
		err = p.updatePlan(ps, plan)
	default:
		err = p.deletePlan(ps, plan)
	}
	if err != nil {
		return nil, err
	}
	return plan, nil
}

func opVerb(op int) string {
	return [4]string{"select from", "insert into", "update", "delete from"}[op]
}

func errConditions() error {
	return apierr.New(apierr.Internal, "the matching permission rule has a condition or check that this release cannot enforce (it was not compiled against the snapshot); apply and release the permissions again")
}

// who names the caller's roles for a 403 message.
func who(c *Caller) string {
	switch {
	case c.Anonymous:
		return "an anonymous caller"
	case len(c.Roles) == 0 && c.EndUser:
		return "an end user without roles"
	case len(c.Roles) == 0:
		return "an API key without roles"
	case len(c.Roles) == 1:
		return "role " + c.Roles[0]
	}
	return "roles " + strings.Join(c.Roles, ", ")
}

// planner holds one Plan call's state.
type planner struct {
	e    *Env
	t    *tableEnv
	eng  engine
	c    Caller
	op   int
	rule *rule // the op's matching rule
	read *rule // the caller's select rule; nil when none matches
	// owner is the canonical value of the caller's subject for the owner
	// column when the owner shorthand applies (SPEC §5.3), else nil.
	owner  any
	params params
	// filter is the parsed where, once where has run.
	filter *filter.Node
	sb     strings.Builder
	args   []any
}

// ownerValue converts the end user's subject for the owner column. An end
// user without a subject, or whose subject cannot be a value of the owner
// column, owns nothing: 403 (SPEC §5.2: an absent request.auth.* is never a
// match).
func (p *planner) ownerValue() error {
	col := &p.t.cols[p.t.owner]
	var v any
	prob := "no subject"
	if p.c.Subject != "" {
		var in any = p.c.Subject
		if col.kind == kInteger || col.kind == kBigint || col.kind == kNumeric || col.kind == kFloat {
			in = json.Number(p.c.Subject)
			// Only the canonical spelling owns a number: "07", "+7", "7.0"
			// and "7e0" are other subjects at the issuer, not user 7.
			if n, err := strconv.ParseInt(p.c.Subject, 10, 64); err != nil || strconv.FormatInt(n, 10) != p.c.Subject {
				in = nil
			}
		}
		if !col.array && in != nil {
			v, prob = scalarValue(col.kind, p.eng, in)
		}
	}
	if prob != "" || v == nil {
		return apierr.New(apierr.Forbidden, "the caller cannot own rows of %s", p.t.label)
	}
	p.owner = v
	return nil
}

// column looks a column name up in the snapshot (400 when unknown).
func (p *planner) column(name string, path loc) (int, error) {
	if i, ok := p.t.byName[name]; ok {
		return i, nil
	}
	return 0, badParam(path.String(), "unknown column %q of %s", clip(name), p.t.label)
}

// readable checks that the caller's select rule allows column i (403).
func (p *planner) readable(i int) error {
	switch {
	case p.read == nil:
		return apierr.New(apierr.Forbidden, "%s may not read %s, so may not use column %q", who(&p.c), p.t.label, clip(p.t.cols[i].name))
	case p.read.unsupported:
		return errConditions()
	case !p.read.allowed[i]:
		return apierr.New(apierr.Forbidden, "%s may not read column %q of %s", who(&p.c), clip(p.t.cols[i].name), p.t.label)
	}
	return nil
}

// readColumn resolves and checks a column the request reads.
func (p *planner) readColumn(name string, path loc) (int, error) {
	i, err := p.column(name, path)
	if err != nil {
		return 0, err
	}
	return i, p.readable(i)
}

func (p *planner) param(v any) {
	p.args = append(p.args, v)
	if p.eng == enginePostgres {
		p.sb.WriteByte('$')
		p.writeInt(int64(len(p.args)))
	} else {
		p.sb.WriteByte('?')
	}
}

func (p *planner) writeInt(n int64) {
	var buf [20]byte
	p.sb.Write(strconv.AppendInt(buf[:0], n, 10))
}

// where parses params.where and writes " WHERE …" (with the owner
// condition when it applies). required: update/delete need a filter.
func (p *planner) where(ps *params, required bool) error {
	var node *filter.Node
	if raw := ps[pWhere]; raw != nil {
		var err error
		if node, err = filter.Parse(raw, filter.Limits{}); err != nil {
			return err
		}
	}
	p.filter = node
	if node == nil && required {
		return badParam("where", "%s needs a non-empty where: name the rows to %s", opName(p.op), opName(p.op))
	}
	var cs tri = isTrue
	if p.rule.cond != nil {
		cs = p.evaluate(p.rule.cond)
	}
	if node == nil && p.owner == nil && cs == isTrue {
		return nil
	}
	p.sb.WriteString(" WHERE ")
	extra := p.owner != nil || cs != isTrue
	if node != nil {
		if err := p.node(node, !extra); err != nil {
			return err
		}
	}
	if p.owner != nil {
		if node != nil {
			p.sb.WriteString(" AND ")
		}
		col := &p.t.cols[p.t.owner]
		p.sb.WriteString(col.quoted)
		p.sb.WriteString(" = ")
		p.param(col.bind(p.eng, p.owner))
	}
	if cs != isTrue {
		if node != nil || p.owner != nil {
			p.sb.WriteString(" AND ")
		}
		// The rule's condition (SPEC §5.2); FALSE when the request makes
		// it false, so the statement still runs and finds no row.
		if cs == isFalse || !p.writeCond(p.rule.cond) {
			p.sb.WriteString("FALSE")
		}
	}
	return nil
}

// checkWritten adds the rule's check (SPEC §5.2) to an insert or update:
// an extra RETURNING value the executor reads for every written row (see
// condition.go). A check the request already makes false is 403 here.
func (p *planner) checkWritten(plan *Plan, returningFrom int) error {
	if p.rule.check == nil {
		return nil
	}
	msg := who(&p.c) + " may not write this row to " + p.t.label + ": it does not satisfy the check of the " + opName(p.op) + " rule"
	refuse := func() error { return apierr.New(apierr.Forbidden, "%s", msg) }
	switch p.evaluate(p.rule.check) {
	case isTrue:
		return nil
	case isFalse:
		return refuse()
	}
	if p.sb.Len() == returningFrom {
		p.sb.WriteString(" RETURNING ")
	} else {
		p.sb.WriteByte(',')
	}
	p.sb.WriteString("CASE WHEN ")
	if !p.writeCond(p.rule.check) {
		return refuse()
	}
	p.sb.WriteString(" THEN 1 ELSE 0 END")
	plan.Check = true
	plan.CheckMessage = msg
	return nil
}

// pinsPK reports whether n selects at most one row: at its top level it
// compares every primary-key column with $eq (other conditions may narrow
// it further).
func (t *tableEnv) pinsPK(n *filter.Node) bool {
	if n == nil || len(t.pk) == 0 {
		return false
	}
	conds := []*filter.Node{n}
	if n.Kind == filter.KindAnd {
		conds = n.Children
	}
	for _, i := range t.pk {
		if !slices.ContainsFunc(conds, func(c *filter.Node) bool {
			return c.Kind == filter.KindCond && c.Op == filter.OpEq && c.Column == t.cols[i].name
		}) {
			return false
		}
	}
	return true
}

// node writes a filter node. top: no parentheses needed around an AND/OR.
func (p *planner) node(n *filter.Node, top bool) error {
	switch n.Kind {
	case filter.KindAnd, filter.KindOr:
		if !top {
			p.sb.WriteByte('(')
		}
		if err := p.junction(n); err != nil {
			return err
		}
		if !top {
			p.sb.WriteByte(')')
		}
		return nil
	case filter.KindNot:
		p.sb.WriteString("NOT (")
		if len(n.Children) != 1 {
			return badParam("where", "$not takes one filter")
		}
		if err := p.node(n.Children[0], true); err != nil {
			return err
		}
		p.sb.WriteByte(')')
		return nil
	case filter.KindCond:
		return p.cond(n)
	}
	return badParam("where", "malformed filter")
}

// junction writes the children of an AND/OR; a child of the same kind is
// inlined (a AND (b AND c) is a AND b AND c).
func (p *planner) junction(n *filter.Node) error {
	sep := " AND "
	if n.Kind == filter.KindOr {
		sep = " OR "
	}
	for i, ch := range n.Children {
		if i > 0 {
			p.sb.WriteString(sep)
		}
		var err error
		if ch.Kind == n.Kind {
			err = p.junction(ch)
		} else {
			err = p.node(ch, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// opClass maps a filter operator to the class a column must support.
func opClass(op string) (opSet, bool) {
	switch op {
	case filter.OpEq, filter.OpNe:
		return opsEq, true
	case filter.OpGt, filter.OpGte, filter.OpLt, filter.OpLte:
		return opsCmp, true
	case filter.OpIn, filter.OpNin:
		return opsIn, true
	case filter.OpLike, filter.OpIlike:
		return opsLike, true
	case filter.OpIsNull:
		return opsNull, true
	}
	return 0, false
}

func cmpSQL(op string) string {
	switch op {
	case filter.OpNe:
		return " <> "
	case filter.OpGt:
		return " > "
	case filter.OpGte:
		return " >= "
	case filter.OpLt:
		return " < "
	case filter.OpLte:
		return " <= "
	}
	return " = "
}

// cond writes one condition (SQL decisions in sql.go).
func (p *planner) cond(n *filter.Node) error {
	path := loc{base: "where", index: -1, key: n.Column}
	i, err := p.readColumn(n.Column, path)
	if err != nil {
		return err
	}
	col := &p.t.cols[i]
	class, ok := opClass(n.Op)
	if !ok {
		return badParam(path.String(), "unknown operator %q", clip(n.Op))
	}
	if col.ops&class == 0 {
		if col.ops == 0 {
			return badParam(path.String(), "column %q (%s) cannot be filtered", clip(col.name), col.typ)
		}
		return badParam(path.String(), "operator %s is not supported on column %q (%s); it supports %s", n.Op, clip(col.name), col.typ, col.ops.names())
	}
	switch n.Op {
	case filter.OpIsNull:
		b, ok := n.Value.(bool)
		if !ok {
			return badParam(path.String(), "$isNull takes true or false")
		}
		p.sb.WriteString(col.quoted)
		if b {
			p.sb.WriteString(" IS NULL")
		} else {
			p.sb.WriteString(" IS NOT NULL")
		}
		return nil
	case filter.OpIn, filter.OpNin:
		list, ok := n.Value.([]any)
		if !ok {
			return badParam(path.String(), "%s takes an array of values", n.Op)
		}
		arg, err := p.inList(col, list, path)
		if err != nil {
			return err
		}
		if p.eng == enginePostgres {
			p.sb.WriteString(col.quoted)
			if n.Op == filter.OpIn {
				p.sb.WriteString(" = ANY(")
			} else {
				p.sb.WriteString(" <> ALL(")
			}
			p.param(arg)
			p.sb.WriteByte(')')
			return nil
		}
		p.sb.WriteString(col.quoted)
		if n.Op == filter.OpIn {
			p.sb.WriteString(" IN (SELECT value FROM json_each(")
		} else {
			p.sb.WriteString(" NOT IN (SELECT value FROM json_each(")
		}
		p.param(arg)
		p.sb.WriteString("))")
		return nil
	case filter.OpLike, filter.OpIlike:
		pat, ok := n.Value.(string)
		if !ok {
			return badParam(path.String(), "%s takes a string pattern", n.Op)
		}
		if !likeOK(pat) {
			return badParam(path.String(), "%s pattern must not end with the escape character \\", n.Op)
		}
		if strings.IndexByte(pat, 0) >= 0 {
			return badParam(path.String(), "%s pattern cannot contain the NUL character", n.Op)
		}
		switch {
		case p.eng == enginePostgres && n.Op == filter.OpLike:
			p.sb.WriteString(col.quoted)
			p.sb.WriteString("::text LIKE ")
			p.param(pat)
		case p.eng == enginePostgres:
			p.sb.WriteString(col.quoted)
			p.sb.WriteString("::text ILIKE ")
			p.param(pat)
		case n.Op == filter.OpLike:
			p.sb.WriteString(col.quoted)
			p.sb.WriteString(" GLOB ")
			p.param(likeToGlob(pat))
		default:
			p.sb.WriteString(col.quoted)
			p.sb.WriteString(` LIKE `)
			p.param(pat)
			p.sb.WriteString(` ESCAPE '\'`)
		}
		return nil
	}
	v, prob := col.value(p.eng, n.Value)
	if prob != "" {
		return badParam(path.String(), "column %q (%s): %s", clip(col.name), col.typ, prob)
	}
	if v == nil {
		return badParam(path.String(), "use $isNull to compare column %q with null", clip(col.name))
	}
	if (col.kind == kJSON || col.kind == kJSONB) && !col.array {
		p.jsonCompare(col, n.Op, v)
		return nil
	}
	if col.array && p.eng == engineSQLite {
		// Arrays are JSON text on SQLite: compare them minified.
		p.sb.WriteString("json(")
		p.sb.WriteString(col.quoted)
		p.sb.WriteString(")")
		p.sb.WriteString(cmpSQL(n.Op))
		p.sb.WriteString("json(")
		p.param(col.bind(p.eng, v))
		p.sb.WriteString(")")
		return nil
	}
	p.sb.WriteString(col.quoted)
	p.sb.WriteString(cmpSQL(n.Op))
	p.param(col.bind(p.eng, v))
	return nil
}

// inList converts $in/$nin values into the one bound argument: a
// PostgreSQL array literal, or a JSON array for SQLite's json_each.
func (p *planner) inList(col *colEnv, list []any, path loc) (any, error) {
	var b []byte
	if p.eng == enginePostgres {
		b = append(b, '{')
	} else {
		b = append(b, '[')
	}
	for i, el := range list {
		if el == nil {
			return nil, badParam(pathIndex(path.String(), i), "null is not allowed in $in/$nin; use $isNull")
		}
		v, prob := scalarValue(col.kind, p.eng, el)
		if prob != "" {
			return nil, badParam(pathIndex(path.String(), i), "column %q (%s): %s", clip(col.name), col.typ, prob)
		}
		if i > 0 {
			b = append(b, ',')
		}
		if p.eng == enginePostgres {
			b = appendPGElem(b, v)
		} else {
			if bv, ok := v.(bool); ok {
				if bv {
					v = int64(1)
				} else {
					v = int64(0)
				}
			}
			b = appendJSONValue(b, v, p.eng)
		}
	}
	if p.eng == enginePostgres {
		b = append(b, '}')
	} else {
		b = append(b, ']')
	}
	return string(b), nil
}

// loc is a problem path (details.problems[].path), rendered only when an
// error needs it: base, then [index] when index ≥ 0, then .key when key is
// set.
type loc struct {
	base  string
	index int
	key   string
}

func at(base string) loc { return loc{base: base, index: -1} }

func (l loc) String() string {
	s := l.base
	if l.index >= 0 {
		s = pathIndex(s, l.index)
	}
	if l.key != "" {
		s = pathKey(s, l.key)
	}
	return s
}

func (l loc) with(key string) loc { l.key = key; return l }
