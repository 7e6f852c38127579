package plan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// Logic calls (SPEC §6, §4.2; decision 0024). A logic's statement was
// compiled and described by the Hub at apply; the planner only decides
// who may call it and turns the call's params into the statement's bound
// args, in the order of Logic.Binds. The SQL text is the file's: it never
// depends on the request.
//
// Param values follow the Auto CRUD value rules of types.go where a type
// matches: string (no NUL), integer (an integral number or a decimal
// string within int64), number (a JSON number; PostgreSQL gets its exact
// text), boolean, uuid, timestamptz (RFC 3339 with offset), date, json (any
// JSON value without \u0000), array<T> (a JSON array of T values or nulls).
// A JSON null is an absent param: the default applies, a required param is
// 400, an optional one binds NULL. On PostgreSQL every value is bound as
// text, which the server parses into whatever type it described for the
// parameter; SQLite gets native values (booleans 1/0, arrays and json as
// JSON text).

// logicEnv is one logic compiled for planning.
type logicEnv struct {
	l       *logic.Logic
	private bool
	// eng is 0 when the logic's connection is not in the bundle (or has
	// an engine the Bridge does not run): calls answer 503.
	eng     engine
	params  []logicParam
	byName  map[string]int
	columns []Column
	// broken names a defect of the release (unknown param type, a bind
	// of an undeclared param, an invalid default): calls answer 500.
	broken string
}

type logicParam struct {
	name     string
	typ      string
	kind     kind
	array    bool
	required bool
	// def is the bound default (nil: none, or a null default).
	def any
}

// compileLogics indexes the release's logics by name.
func (e *Env) compileLogics(b *bundle.Bundle) {
	if len(b.Release.Logics) == 0 {
		return
	}
	engines := make(map[string]engine, len(b.Connections))
	for _, c := range b.Connections {
		switch c.Engine {
		case schema.EnginePostgres:
			engines[c.Name] = enginePostgres
		case schema.EngineSQLite:
			engines[c.Name] = engineSQLite
		}
	}
	e.logics = make(map[string]*logicEnv, len(b.Release.Logics))
	for i := range b.Release.Logics {
		l := &b.Release.Logics[i]
		e.logics[l.Name] = compileLogic(l, engines[l.Connection])
	}
}

// privateName reports whether a segment of a logic name starts with "_"
// (SPEC §6): such a logic is private whatever its file says.
func privateName(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, "_") {
			return true
		}
	}
	return false
}

func compileLogic(l *logic.Logic, eng engine) *logicEnv {
	le := &logicEnv{l: l, eng: eng, private: l.Private() || privateName(l.Name), byName: make(map[string]int, len(l.Params))}
	switch l.Auth {
	case logic.AuthPublic, logic.AuthAuthenticated, logic.AuthPrivate, logic.AuthRoles:
	default:
		// An auth mode this Bridge does not know never widens access.
		le.private = true
	}
	for _, c := range l.Columns {
		le.columns = append(le.columns, Column{Name: c.Name, Type: c.Type})
	}
	for _, p := range l.Params {
		lp := logicParam{name: p.Name, typ: p.Type, required: p.Required}
		var ok bool
		if lp.kind, lp.array, ok = paramKind(p.Type); !ok {
			le.broken = "param " + p.Name + " has an unknown type " + strconv.Quote(clip(p.Type))
			break
		}
		if p.Default != "" && eng != 0 {
			v, err := decodeValue([]byte(p.Default))
			if err == nil {
				v, err = lp.value(eng, v)
			}
			if err != nil {
				le.broken = "the default of param " + p.Name + " is not a valid " + p.Type
				break
			}
			lp.def = v
		}
		le.byName[p.Name] = len(le.params)
		le.params = append(le.params, lp)
	}
	for _, b := range l.Binds {
		switch b.Kind {
		case logic.BindParam:
			if _, ok := le.byName[b.Name]; !ok && le.broken == "" {
				le.broken = "a bind names the undeclared param " + b.Name
			}
		case logic.BindSub, logic.BindRoles, logic.BindClaim:
		default:
			le.broken = "a bind has the unknown kind " + strconv.Quote(clip(b.Kind))
		}
	}
	return le
}

// paramKind maps a logic param type (SPEC §6) to the value kind of
// types.go.
func paramKind(t string) (k kind, array, ok bool) {
	if elem, isArray := strings.CutPrefix(t, logic.ArrayPrefix); isArray {
		elem, closed := strings.CutSuffix(elem, ">")
		if !closed || strings.HasPrefix(elem, logic.ArrayPrefix) {
			return 0, false, false
		}
		k, _, ok = paramKind(elem)
		return k, true, ok
	}
	switch t {
	case logic.TypeString:
		return kText, false, true
	case logic.TypeInteger:
		return kBigint, false, true
	case logic.TypeNumber:
		return kNumeric, false, true
	case logic.TypeBoolean:
		return kBoolean, false, true
	case logic.TypeUUID:
		return kUUID, false, true
	case logic.TypeTimestamptz:
		return kTimestamptz, false, true
	case logic.TypeDate:
		return kDate, false, true
	case logic.TypeJSON:
		return kJSON, false, true
	}
	return 0, false, false
}

// value converts a decoded JSON value (not nil) to the param's bound arg,
// or returns a message saying what was expected.
func (lp *logicParam) value(eng engine, v any) (any, error) {
	var (
		out  any
		prob string
	)
	switch {
	case lp.array:
		a, ok := v.([]any)
		if !ok {
			return nil, problem("expected an array")
		}
		for _, el := range a {
			if _, nested := el.([]any); nested {
				return nil, problem("expected an array of " + elemName(lp.typ) + " values")
			}
			if _, isStr := el.(string); isStr && lp.kind == kNumeric {
				return nil, problem("expected a number as array element")
			}
		}
		out, prob = arrayValue(lp.kind, eng, a, 1)
	case lp.kind == kNumeric:
		// number is a JSON number (a numeric string is numeric's
		// response form, not a number's).
		if _, ok := v.(json.Number); !ok {
			return nil, problem("expected a number")
		}
		out, prob = scalarValue(lp.kind, eng, v)
	default:
		out, prob = scalarValue(lp.kind, eng, v)
	}
	if prob != "" {
		return nil, problem(prob)
	}
	return logicArg(eng, out), nil
}

type problem string

func (p problem) Error() string { return string(p) }

func elemName(t string) string {
	return strings.TrimSuffix(strings.TrimPrefix(t, logic.ArrayPrefix), ">")
}

// logicArg turns a canonical value into the bound arg: text on PostgreSQL
// (the server parses it into the described parameter type), the engine's
// native value on SQLite.
func logicArg(eng engine, v any) any {
	if eng == engineSQLite {
		return bindValue(eng, v)
	}
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return bindValue(eng, v) // arrays (literal text), json (text)
}

// decodeValue decodes one raw JSON value, numbers as json.Number. The
// common scalars are read without a decoder.
func decodeValue(raw []byte) (any, error) {
	switch {
	case len(raw) == 0:
		return nil, problem("expected a JSON value")
	case raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1]), nil
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return json.Number(raw), nil
	case string(raw) == "true":
		return true, nil
	case string(raw) == "false":
		return false, nil
	case string(raw) == "null":
		return nil, nil
	}
	v, err := jsonscan.Decode(raw)
	if err != nil {
		return nil, problem("expected a JSON value")
	}
	return v, nil
}

// logicPlan is Plan for Target.Logic: SPEC §4.2 steps 5 and 6 for a logic.
//
// Step 5: an anonymous caller gets 401 unless the logic is public (an
// unknown logic is not public, so it learns nothing); a caller with a
// credential gets 404 for an unknown logic, 403 for a private one — every
// caller, the dev mode's Superuser included: /call never runs a private
// logic (SPEC §6; `stk logic run` does) — 403 for `authenticated` unless
// it is a verified end user, and 403 for `roles` unless one of its roles
// (API key or token) is listed. A Superuser may call every other logic.
//
// Step 6: params are checked against the declared ones (400 naming the
// param: unknown, missing required, wrong type); defaults apply; the
// statement's args are built from Logic.Binds in order.
func (e *Env) logicPlan(c *Caller, name string, params []byte) (*Plan, error) {
	le := e.logics[name]
	switch {
	case c.Anonymous && !c.Superuser:
		if le == nil || le.private || le.l.Auth != logic.AuthPublic {
			return nil, apierr.New(apierr.Unauthorized, msgNeedCredential)
		}
	case le == nil:
		return nil, apierr.New(apierr.NotFound, "logic %q not found", clip(name))
	case le.private:
		return nil, apierr.New(apierr.Forbidden, "logic %q is private: it cannot be called through /call (stk logic run runs it)", clip(name))
	case c.Superuser:
	case le.l.Auth == logic.AuthAuthenticated:
		if !c.EndUser {
			return nil, apierr.New(apierr.Forbidden, "logic %q is for authenticated end users; %s may not call it", clip(name), who(c))
		}
	case le.l.Auth == logic.AuthRoles:
		if !hasAnyRole(c.Roles, le.l.Roles) {
			return nil, apierr.New(apierr.Forbidden, "%s may not call logic %q", who(c), clip(name))
		}
	}
	if err := le.runnable(" in env " + e.project + "/" + e.env); err != nil {
		return nil, err
	}
	p := &Plan{Connection: le.l.Connection, Logic: le.l.Name, SQL: le.l.SQL, Columns: le.columns,
		Readonly: le.l.Readonly, Write: !le.l.Readonly, MaxRows: e.lim.MaxLimit}
	if le.eng == enginePostgres {
		p.Engine = schema.EnginePostgres
	} else {
		p.Engine = schema.EngineSQLite
	}
	dst := p.argBuf[:0]
	if len(le.l.Binds) > len(p.argBuf) {
		dst = make([]any, 0, len(le.l.Binds))
	}
	args, err := le.args(c, params, dst)
	if err != nil {
		return nil, err
	}
	p.Args = args
	return p, nil
}

// LogicArgs checks params (a JSON object; empty or null: none) against l's
// declared params and returns the args of l.SQL on engineName
// (schema.EnginePostgres or schema.EngineSQLite) in the order of l.Binds,
// the auth binds taken from c. It is step 6 of a /call on a logic, without
// the access check of step 5: the Hub's `stk logic run` uses it, so that
// an operator's run and a /call accept and refuse the same values and bind
// them alike (decision 0025).
func LogicArgs(l *logic.Logic, engineName string, params []byte, c *Caller) ([]any, error) {
	var eng engine
	switch engineName {
	case schema.EnginePostgres:
		eng = enginePostgres
	case schema.EngineSQLite:
		eng = engineSQLite
	}
	le := compileLogic(l, eng)
	if err := le.runnable(""); err != nil {
		return nil, err
	}
	return le.args(c, params, make([]any, 0, len(l.Binds)))
}

// runnable reports a release defect (500) or a connection the bundle
// lacks (503, where naming the env): neither is the caller's fault.
func (le *logicEnv) runnable(where string) error {
	if le.broken != "" {
		return apierr.New(apierr.Internal, "logic %q of this release cannot run: %s; apply and release the logic again", clip(le.l.Name), le.broken)
	}
	if le.eng == 0 {
		return apierr.New(apierr.ServiceUnavailable, "database unavailable: connection %s of logic %q is not configured%s", clip(le.l.Connection), clip(le.l.Name), where)
	}
	return nil
}

// args checks params against the declared ones (400 naming the param:
// unknown, missing required, wrong type), applies defaults, and appends the
// statement's args, in the order of Logic.Binds, to dst.
func (le *logicEnv) args(c *Caller, params []byte, dst []any) ([]any, error) {
	vals := make([]any, len(le.params))
	seen := make([]bool, len(le.params))
	if err := le.readParams(params, vals, seen); err != nil {
		return nil, err
	}
	for i := range le.params {
		lp := &le.params[i]
		if seen[i] {
			continue
		}
		switch {
		case lp.def != nil:
			vals[i] = lp.def
		case lp.required:
			return nil, badParam(pathKey("params", lp.name), "param %q of logic %q is required (%s)", lp.name, clip(le.l.Name), lp.typ)
		}
	}
	for _, b := range le.l.Binds {
		var v any
		switch b.Kind {
		case logic.BindParam:
			v = vals[le.byName[b.Name]]
		case logic.BindSub:
			if c.EndUser && c.Subject != "" {
				v = c.Subject
			}
		case logic.BindRoles:
			roles := make([]any, len(c.Roles))
			for i, r := range c.Roles {
				roles[i] = r
			}
			v = bindValue(le.eng, roles)
		case logic.BindClaim:
			v = claimArg(le.eng, c.Claims[b.Name])
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// readParams reads the params object into vals (bound values; a JSON null
// leaves the param unset) and marks the given ones in seen.
func (le *logicEnv) readParams(b []byte, vals []any, seen []bool) error {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return nil
	}
	if err := jsonscan.Validate(b[i:]); err != nil {
		return jsonscan.BadRequest(err, "params", "params")
	}
	if b[i] == 'n' {
		return nil
	}
	if b[i] != '{' {
		return badParam("params", "params must be an object")
	}
	_, err := jsonscan.Members(b, i, func(rawKey, raw []byte) error {
		key := jsonscan.Unquote(rawKey)
		n, ok := le.byName[key]
		path := pathKey("params", key)
		if !ok {
			return badParam(path, "unknown param %q for logic %q", clip(key), clip(le.l.Name))
		}
		lp := &le.params[n]
		v, err := decodeValue(raw)
		if err == nil && v != nil {
			v, err = lp.value(le.eng, v)
		}
		if err != nil {
			return badParam(path, "param %q (%s): %s", key, lp.typ, err.Error())
		}
		if v != nil {
			vals[n], seen[n] = v, true
		}
		return nil
	})
	return err
}

// claimArg binds a claim's value (SPEC §6: :auth.claims.<name>; NULL when
// absent): strings as they are, numbers and booleans as their JSON text on
// PostgreSQL (parsed into the described type) and natively on SQLite,
// objects and arrays as JSON text.
func claimArg(eng engine, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return v
	case float64:
		if eng == engineSQLite {
			if v == float64(int64(v)) {
				return int64(v)
			}
			return v
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case json.Number:
		// The Bridge decodes claims with their numbers' text, so a 64-bit
		// id stays exact.
		if eng == engineSQLite {
			if n, err := v.Int64(); err == nil {
				return n
			}
			if f, err := v.Float64(); err == nil {
				return f
			}
		}
		return string(v)
	case bool:
		return logicArg(eng, v)
	}
	b, err := marshalJSON(v)
	if err != nil {
		return nil
	}
	return string(b)
}

func hasAnyRole(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}
