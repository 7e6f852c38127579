// Package condition compiles the CEL conditions and checks of
// permissions.yaml (SPEC §5.2) into predicate trees
// (packages/core/predicate): cel-go parses and type-checks the text against
// the table's columns, and this package accepts only the documented subset
// — resource.<column>, request.auth.sub/roles/claims.<name>, literals,
// == != < <= > >= in && || ! and parentheses — reporting anything else with
// its line and column. It links cel-go, so only the Hub (at permissions
// apply and release create) and the CLI (stk permissions validate) import
// it; the Bridge and the planner only read the trees (ARCHITECTURE §1).
package condition

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// Limits on one expression, so that a hostile file cannot make the Hub's
// parser or the Bridge's planner work hard: real conditions are far
// smaller.
const (
	maxDepth = 32
	maxNodes = 200
	maxList  = 1000
)

// Document parses a permissions.yaml, validates it against the snapshots
// and compiles its conditions and checks: the one path by which the Hub
// (apply, release create, bundles) and the CLI (validate) read a
// permissions file, so that a document is never served with a condition
// that was not compiled. Problems carry file positions; the document is
// nil when there are any.
func Document(src []byte, snaps map[string]*schema.Snapshot) (*permissions.Document, []apierr.Problem) {
	doc, problems := permissions.Parse(src)
	if len(problems) > 0 || doc == nil {
		return nil, problems
	}
	problems = append(problems, doc.Validate(snaps)...)
	problems = append(problems, doc.CompileConditions(snaps, NewCompiler().Compile)...)
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b apierr.Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, problems
	}
	return doc, nil
}

// Compiler compiles expressions, keeping one CEL environment per table.
// It is not safe for concurrent use.
type Compiler struct {
	envs map[*schema.Table]*cel.Env
}

// NewCompiler returns an empty Compiler.
func NewCompiler() *Compiler { return &Compiler{envs: map[*schema.Table]*cel.Env{}} }

// Compile compiles one condition or check against table t: the subset is
// checked first (with messages naming what is outside it), then cel-go's
// type checker runs with every usable column typed by its normalized type.
// It has the signature of permissions.CompileFunc.
func (c *Compiler) Compile(src string, t *schema.Table) (*predicate.Node, []permissions.ExprProblem) {
	env, err := c.env(t)
	if err != nil {
		return nil, []permissions.ExprProblem{{Message: "internal error: " + err.Error()}}
	}
	parsed, iss := env.Parse(src)
	if iss != nil && iss.Err() != nil {
		return nil, issues(iss)
	}
	native := parsed.NativeRep()
	w := &walker{t: t, info: native.SourceInfo()}
	n := w.condition(native.Expr(), 0)
	if len(w.problems) > 0 {
		return nil, w.problems
	}
	checked, iss := env.Check(parsed)
	if iss != nil && iss.Err() != nil {
		return nil, issues(iss)
	}
	// dyn: a claim used as a condition (request.auth.claims.admin), which
	// the tree compares with true.
	if out := checked.OutputType(); !out.IsExactType(cel.BoolType) && !out.IsExactType(cel.DynType) {
		return nil, []permissions.ExprProblem{{Line: 1, Column: 1, Message: fmt.Sprintf("the expression must be true or false, not %s", checked.OutputType())}}
	}
	for _, check := range w.pending {
		check()
	}
	if len(w.problems) > 0 {
		return nil, w.problems
	}
	return &n, nil
}

func issues(iss *cel.Issues) []permissions.ExprProblem {
	var out []permissions.ExprProblem
	for _, e := range iss.Errors() {
		out = append(out, permissions.ExprProblem{Line: e.Location.Line(), Column: e.Location.Column() + 1, Message: e.Message})
	}
	return out
}

// celType is the CEL type of a column of normalized type typ, or nil when
// the column cannot be used in a condition (json, bytea, arrays, other).
// Temporal types and uuid are strings: they are compared with string
// literals in the form the API accepts (RFC 3339), which the planner binds
// as values of the column's type.
func celType(typ string) *cel.Type {
	switch typ {
	case schema.Text, schema.UUID, schema.Timestamptz, schema.Timestamp, schema.Date, schema.Time:
		return cel.StringType
	case schema.Integer, schema.Bigint:
		return cel.IntType
	case schema.Numeric, schema.Float:
		return cel.DoubleType
	case schema.Boolean:
		return cel.BoolType
	}
	return nil
}

func (c *Compiler) env(t *schema.Table) (*cel.Env, error) {
	if e, ok := c.envs[t]; ok {
		return e, nil
	}
	opts := []cel.EnvOption{
		cel.ClearMacros(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(maxDepth * 2),
		cel.ParserExpressionSizeLimit(8192),
		cel.Variable("request.auth.sub", cel.StringType),
		cel.Variable("request.auth.roles", cel.ListType(cel.StringType)),
		cel.Variable("request.auth.claims", cel.MapType(cel.StringType, cel.DynType)),
	}
	for _, col := range t.Columns {
		ct := celType(col.Type)
		if ct == nil {
			continue
		}
		if col.Nullable {
			ct = cel.NullableType(ct)
		}
		opts = append(opts, cel.Variable("resource."+col.Name, ct))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	c.envs[t] = e
	return e, nil
}

// walker turns a parsed CEL expression into a predicate tree, reporting
// what is outside the subset.
type walker struct {
	t        *schema.Table
	info     *ast.SourceInfo
	problems []permissions.ExprProblem
	nodes    int
	// pending are the literal checks, run once the types are known to
	// match (so that a type error is reported as such).
	pending []func()
}

func (w *walker) fail(e ast.Expr, format string, args ...any) predicate.Node {
	loc := w.info.GetStartLocation(e.ID())
	p := permissions.ExprProblem{Message: fmt.Sprintf(format, args...)}
	if loc.Line() >= 1 {
		p.Line, p.Column = loc.Line(), loc.Column()+1
		// A function call is located at its '(': point at its name.
		if e.Kind() == ast.CallKind {
			if fn := e.AsCall().FunctionName(); !strings.ContainsAny(fn, "_@") && p.Column > len(fn) {
				p.Column -= len(fn)
			}
		}
	}
	w.problems = append(w.problems, p)
	return predicate.Node{Op: predicate.Lit, Value: json.RawMessage("false")}
}

// condition reads an expression in a boolean position.
func (w *walker) condition(e ast.Expr, depth int) predicate.Node {
	if w.nodes++; w.nodes > maxNodes {
		return w.fail(e, "the expression is too large (more than %d parts)", maxNodes)
	}
	if depth > maxDepth {
		return w.fail(e, "the expression nests too deeply (more than %d levels)", maxDepth)
	}
	if e.Kind() == ast.CallKind {
		call := e.AsCall()
		switch fn := call.FunctionName(); fn {
		case operators.LogicalAnd, operators.LogicalOr:
			op := predicate.And
			if fn == operators.LogicalOr {
				op = predicate.Or
			}
			n := predicate.Node{Op: op}
			for _, a := range call.Args() {
				child := w.condition(a, depth+1)
				if child.Op == op {
					n.Args = append(n.Args, child.Args...) // a && (b && c) is one and
				} else {
					n.Args = append(n.Args, child)
				}
			}
			return n
		case operators.LogicalNot:
			return predicate.Node{Op: predicate.Not, Args: []predicate.Node{w.condition(call.Args()[0], depth+1)}}
		case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals,
			operators.Greater, operators.GreaterEquals, operators.In:
			return w.comparison(e, call, depth)
		}
	}
	// A boolean value used as a condition: resource.published,
	// request.auth.claims.admin, true.
	v := w.operand(e, depth+1)
	switch v.Op {
	case predicate.Roles, predicate.List:
		return w.fail(e, "a list is not a condition: use in (\"x\" in request.auth.roles)")
	}
	return predicate.Node{Op: predicate.Eq, Args: []predicate.Node{v, lit("true", false)}}
}

func lit(text string, isInt bool) predicate.Node {
	return predicate.Node{Op: predicate.Lit, Value: json.RawMessage(text), Int: isInt}
}

var comparisons = map[string]predicate.Op{
	operators.Equals: predicate.Eq, operators.NotEquals: predicate.Ne,
	operators.Less: predicate.Lt, operators.LessEquals: predicate.Le,
	operators.Greater: predicate.Gt, operators.GreaterEquals: predicate.Ge,
	operators.In: predicate.In,
}

func (w *walker) comparison(e ast.Expr, call ast.CallExpr, depth int) predicate.Node {
	op := comparisons[call.FunctionName()]
	args := call.Args()
	l, r := w.operand(args[0], depth+1), w.operand(args[1], depth+1)
	if op == predicate.In {
		if l.Op == predicate.Roles || l.Op == predicate.List {
			w.fail(args[0], "the left side of in must be one value, not a list")
		}
		switch r.Op {
		case predicate.List, predicate.Roles, predicate.Claim:
		default:
			w.fail(args[1], "the right side of in must be a list: a list literal, request.auth.roles or a claim holding a list")
		}
	} else {
		for i, o := range []predicate.Node{l, r} {
			if o.Op == predicate.Roles || o.Op == predicate.List {
				w.fail(args[i], "%s does not compare lists: use in (\"x\" in request.auth.roles)", op)
			}
		}
		if op != predicate.Eq && op != predicate.Ne && (isNull(l) || isNull(r)) {
			w.fail(e, "only == and != compare with null")
		}
	}
	w.pending = append(w.pending, func() { w.literals(args, l, r) })
	return predicate.Node{Op: op, Args: []predicate.Node{l, r}}
}

// literals checks the literals compared with a column against its type,
// with the planner's own rules (a UUID, an RFC 3339 time, an integer in
// range…), so that the Bridge never meets a literal it cannot bind.
func (w *walker) literals(args []ast.Expr, l, r predicate.Node) {
	for side, n := range []predicate.Node{l, r} {
		other, otherExpr := r, args[1]
		if side == 1 {
			other, otherExpr = l, args[0]
		}
		if n.Op != predicate.Column {
			continue
		}
		col, _ := w.t.Column(n.Name)
		vals, exprs := []predicate.Node{other}, []ast.Expr{otherExpr}
		if other.Op == predicate.List && otherExpr.Kind() == ast.ListKind {
			vals, exprs = other.Args, otherExpr.AsList().Elements()
		}
		for i, v := range vals {
			if v.Op != predicate.Lit || string(v.Value) == "null" || i >= len(exprs) {
				continue
			}
			dec := json.NewDecoder(strings.NewReader(string(v.Value)))
			dec.UseNumber()
			var val any
			if dec.Decode(&val) != nil {
				continue
			}
			if prob := plan.LiteralProblem(col.Type, val); prob != "" {
				w.fail(exprs[i], "%s is not a value of column %q (%s): %s", string(v.Value), col.Name, col.Type, prob)
			}
		}
	}
}

func isNull(n predicate.Node) bool { return n.Op == predicate.Lit && string(n.Value) == "null" }

// operand reads a value: a name, a literal or a list literal.
func (w *walker) operand(e ast.Expr, depth int) predicate.Node {
	if w.nodes++; w.nodes > maxNodes {
		return w.fail(e, "the expression is too large (more than %d parts)", maxNodes)
	}
	switch e.Kind() {
	case ast.LiteralKind:
		return w.literal(e)
	case ast.ListKind:
		l := e.AsList()
		if len(l.OptionalIndices()) > 0 {
			return w.fail(e, "optional list elements are not supported")
		}
		if len(l.Elements()) > maxList {
			return w.fail(e, "a list literal may hold at most %d values", maxList)
		}
		n := predicate.Node{Op: predicate.List, Args: []predicate.Node{}}
		for _, el := range l.Elements() {
			if el.Kind() != ast.LiteralKind {
				w.fail(el, "a list literal may only hold literals (strings, numbers, booleans)")
				continue
			}
			v := w.literal(el)
			if isNull(v) {
				w.fail(el, "null is not allowed in a list")
			}
			n.Args = append(n.Args, v)
		}
		return n
	case ast.IdentKind, ast.SelectKind:
		return w.name(e)
	case ast.CallKind:
		call := e.AsCall()
		if call.FunctionName() == operators.Index && !call.IsMemberFunction() {
			base, key := call.Args()[0], call.Args()[1]
			if path, ok := selectPath(base); ok && slices.Equal(path, []string{"request", "auth", "claims"}) &&
				key.Kind() == ast.LiteralKind {
				if s, ok := key.AsLiteral().Value().(string); ok && s != "" {
					return predicate.Node{Op: predicate.Claim, Name: s}
				}
			}
			return w.fail(e, "indexing is only supported as request.auth.claims[\"name\"]")
		}
		if call.FunctionName() == operators.Negate {
			return w.fail(e, "negation is only supported on number literals (write -5)")
		}
		if name, ok := operatorName(call.FunctionName()); ok {
			return w.fail(e, "%s is a condition, not a value: use it with && or ||, not inside a comparison", name)
		}
		return w.fail(e, "%s is not supported in conditions (SPEC §5.2: == != < <= > >= in && || ! on resource.*, request.auth.* and literals)", displayCall(call))
	}
	return w.fail(e, "this expression is not supported in conditions (SPEC §5.2: == != < <= > >= in && || ! on resource.*, request.auth.* and literals)")
}

func operatorName(fn string) (string, bool) {
	if _, ok := comparisons[fn]; ok || fn == operators.LogicalAnd || fn == operators.LogicalOr || fn == operators.LogicalNot {
		name, _ := operators.FindReverse(fn)
		return name, true
	}
	return "", false
}

func displayCall(call ast.CallExpr) string {
	if call.FunctionName() == operators.Conditional {
		return "the conditional operator ?:"
	}
	if name, ok := operators.FindReverse(call.FunctionName()); ok && name != "" {
		return "the operator " + name
	}
	return "the function " + call.FunctionName() + "()"
}

func (w *walker) literal(e ast.Expr) predicate.Node {
	switch v := e.AsLiteral().(type) {
	case types.String:
		b, _ := json.Marshal(string(v))
		return lit(string(b), false)
	case types.Int:
		return lit(strconv.FormatInt(int64(v), 10), true)
	case types.Uint:
		return lit(strconv.FormatUint(uint64(v), 10), true)
	case types.Double:
		f := float64(v)
		b, err := json.Marshal(f)
		if err != nil {
			return w.fail(e, "the number is not finite")
		}
		return lit(string(b), false)
	case types.Bool:
		if v {
			return lit("true", false)
		}
		return lit("false", false)
	case types.Null:
		return lit("null", false)
	}
	return w.fail(e, "only string, number, boolean and null literals are supported")
}

// selectPath flattens a.b.c into its names; ok=false when the chain is not
// made of plain names.
func selectPath(e ast.Expr) ([]string, bool) {
	var rev []string
	for {
		switch e.Kind() {
		case ast.IdentKind:
			rev = append(rev, e.AsIdent())
			slices.Reverse(rev)
			return rev, true
		case ast.SelectKind:
			s := e.AsSelect()
			if s.IsTestOnly() {
				return nil, false
			}
			rev = append(rev, s.FieldName())
			e = s.Operand()
		default:
			return nil, false
		}
	}
}

const names = "resource.<column>, request.auth.sub, request.auth.roles, request.auth.claims.<name>"

func (w *walker) name(e ast.Expr) predicate.Node {
	path, ok := selectPath(e)
	if !ok {
		return w.fail(e, "unsupported expression: use %s", names)
	}
	full := strings.Join(path, ".")
	switch {
	case path[0] == "resource" && len(path) == 2:
		col, ok := w.t.Column(path[1])
		if !ok {
			return w.fail(e, "unknown column %q in table %q", path[1], w.t.Name)
		}
		if celType(col.Type) == nil {
			return w.fail(e, "column %q (%s) cannot be used in a condition: only text, numbers, booleans, uuid and dates/times can", col.Name, col.Type)
		}
		return predicate.Node{Op: predicate.Column, Name: col.Name}
	case full == "request.auth.sub":
		return predicate.Node{Op: predicate.Sub}
	case full == "request.auth.roles":
		return predicate.Node{Op: predicate.Roles}
	case len(path) == 4 && strings.HasPrefix(full, "request.auth.claims."):
		return predicate.Node{Op: predicate.Claim, Name: path[3]}
	case len(path) > 4 && strings.HasPrefix(full, "request.auth.claims."):
		return w.fail(e, "claims are read one level deep (request.auth.claims.<name>)")
	case path[0] == "resource":
		return w.fail(e, "resource takes one column name: resource.<column>")
	}
	return w.fail(e, "unknown name %q: use %s", full, names)
}
