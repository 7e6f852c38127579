// Package filter turns the `where` grammar of Auto CRUD params (SPEC §4.4)
// into a small predicate tree that the /call planner compiles to SQL. It only
// checks the grammar and the limits; column names and value types are checked
// by the planner against the schema snapshot. The package is pure (no I/O, no
// clock, no randomness) and depends on the standard library, apierr and
// jsonscan only (no reflection-based encoding/json), because the planner is
// also compiled to WebAssembly.
//
// Decisions beyond the SPEC text:
//   - The tree follows the JSON key order (the input is read token by token,
//     never through a map), so the same request always gives the same tree and
//     therefore the same SQL text.
//   - An object (a filter object or a column's operator object) with one entry
//     is that entry's node; with several it is a KindAnd of them. Explicit
//     $and/$or keep their node even with one element.
//   - `"col": null`, `{"$eq": null}` → {col $isNull true}; `{"$ne": null}` →
//     {col $isNull false}. `"col": [..]` is $eq with an array value (array
//     and JSON columns); an object value must be an operator object (SPEC
//     §4.4) — compare a JSON object with {"$eq": {...}}, which the planner
//     supports on json/jsonb columns; every hint names a form that works.
//   - $in/$nin take an array of strings, numbers and booleans; null elements
//     are refused (SQL's NOT IN with a NULL matches nothing: use $isNull).
//     An empty $in is allowed and matches nothing; an empty $nin matches
//     everything. Value is then a non-nil, empty []any.
//   - $gt/$gte/$lt/$lte take a string, number or boolean (not null).
//   - An empty top-level object is no filter (nil); an empty nested filter
//     object ($not: {}, $and: [{}]) and an empty operator object are errors.
//   - JSON values given to $eq/$ne (or as an array shorthand) are decoded as
//     encoding/json does: a repeated key keeps its last value, as PostgreSQL's
//     jsonb does. They are read with jsonscan's Decoder.Value, not token by
//     token, so a large value costs one decoding; the token-by-token part of
//     the input is bounded by MaxLeaves and MaxIn.
//   - A repeated key in a filter object or an operator object is an error.
//   - A Limits field ≤ 0 means its default.
//
// Every error is an *apierr.Error with code BAD_REQUEST and exactly one
// details.problems[] entry {path, message}; the path looks like
// `where.$or[1].name.$in` (keys that are not plain identifiers are written
// `where["a b"]`). Messages name keys and operators (clipped to 60
// characters) and never contain a value (a JSON syntax error quotes the one
// offending character, as encoding/json reports it; jsonscan keeps its
// texts).
package filter

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/textf"
)

// Limits bound a filter (SPEC §4.4).
type Limits struct{ MaxDepth, MaxLeaves, MaxIn int }

// DefaultLimits are the SPEC §4.4 limits: depth 8, 100 conditions, 1000
// values per $in/$nin.
func DefaultLimits() Limits { return Limits{MaxDepth: 8, MaxLeaves: 100, MaxIn: 1000} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxLeaves <= 0 {
		l.MaxLeaves = d.MaxLeaves
	}
	if l.MaxIn <= 0 {
		l.MaxIn = d.MaxIn
	}
	return l
}

// Kind is the kind of a Node. The zero Kind is invalid.
type Kind int

// The node kinds.
const (
	KindAnd Kind = iota + 1
	KindOr
	KindNot
	KindCond
)

func (k Kind) String() string {
	switch k {
	case KindAnd:
		return "and"
	case KindOr:
		return "or"
	case KindNot:
		return "not"
	case KindCond:
		return "cond"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Column operators (Node.Op).
const (
	OpEq     = "$eq"
	OpNe     = "$ne"
	OpGt     = "$gt"
	OpGte    = "$gte"
	OpLt     = "$lt"
	OpLte    = "$lte"
	OpIn     = "$in"
	OpNin    = "$nin"
	OpLike   = "$like"
	OpIlike  = "$ilike"
	OpIsNull = "$isNull"
)

// Node is one node of a parsed filter.
type Node struct {
	Kind     Kind
	Children []*Node // And/Or (≥1); Not has exactly one
	Column   string  // Cond
	// Op is one of the Op* constants (Cond only).
	Op string
	// Value (Cond only) is decoded JSON: json.Number for numbers, string,
	// bool; []any of string/json.Number/bool for $in/$nin; bool for
	// $isNull; for $eq/$ne also map[string]any and []any (JSON values).
	// $eq/$ne never hold nil: a null comparison is $isNull.
	Value any
}

// Columns lists the distinct column names of the tree in order of first
// appearance. A nil tree has none.
func (n *Node) Columns() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if n == nil {
			return
		}
		if n.Kind == KindCond && !seen[n.Column] {
			seen[n.Column] = true
			out = append(out, n.Column)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// Leaves counts the conditions (KindCond nodes) of the tree.
func (n *Node) Leaves() int {
	if n == nil {
		return 0
	}
	if n.Kind == KindCond {
		return 1
	}
	total := 0
	for _, c := range n.Children {
		total += c.Leaves()
	}
	return total
}

// clipLen is how many characters of a user-given key a message repeats.
const clipLen = 60

const rootPath = "where"

// Parse parses the raw JSON of params.where. Absent input (empty or only
// whitespace), `null` and `{}` are no filter: (nil, nil).
func Parse(where []byte, lim Limits) (*Node, error) {
	if isBlank(where) {
		return nil, nil
	}
	lim = lim.withDefaults()
	if n, ok := parseFlat(where, lim); ok {
		return n, nil
	}
	return parseFull(where, lim)
}

// parseFull is the complete parser: every shape, every error.
func parseFull(where []byte, lim Limits) (*Node, error) {
	dec := jsonscan.NewDecoder(where)
	p := &parser{src: where, dec: dec, lim: lim}
	tok, err := p.token(rootPath)
	if err != nil {
		return nil, err
	}
	var n *Node
	switch tok {
	case nil:
	case jsonscan.Delim('{'):
		if n, err = p.object(rootPath, 1); err != nil {
			return nil, err
		}
	default:
		return nil, fail(rootPath, "the filter must be an object, got %s", tokenKind(tok))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(rootPath, "unexpected data after the filter")
	}
	return n, nil
}

type parser struct {
	src    []byte // the input, for peek
	dec    *jsonscan.Decoder
	lim    Limits
	leaves int
}

// object parses a filter object whose '{' has been read. depth is the
// object's nesting level (the top-level object is 1). An empty object gives
// nil; callers below the top level refuse it.
func (p *parser) object(path string, depth int) (*Node, error) {
	if depth > p.lim.MaxDepth {
		return nil, fail(path, "the filter is nested deeper than %d levels", p.lim.MaxDepth)
	}
	var kids []*Node
	var keys []string
	for p.dec.More() {
		key, err := p.key(path)
		if err != nil {
			return nil, err
		}
		kp := pathKey(path, key)
		if contains(keys, key) {
			return nil, fail(kp, "duplicate key %q", clip(key))
		}
		keys = append(keys, key)
		var n *Node
		switch {
		case key == "$and" || key == "$or":
			n, err = p.list(kp, key, depth)
		case key == "$not":
			n, err = p.not(kp, depth)
		case key == "":
			err = fail(kp, "empty column name")
		case strings.HasPrefix(key, "$"):
			if isColumnOp(key) {
				err = fail(kp, "operator %q needs a column: write {\"column\": {%q: …}}", key, key)
			} else {
				err = fail(kp, "unknown logical operator %q (want $and, $or or $not)", clip(key))
			}
		default:
			n, err = p.column(kp, key)
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if err := p.end(path); err != nil {
		return nil, err
	}
	switch len(kids) {
	case 0:
		return nil, nil
	case 1:
		return kids[0], nil
	}
	return &Node{Kind: KindAnd, Children: kids}, nil
}

// list parses the array of $and/$or.
func (p *parser) list(path, op string, depth int) (*Node, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != jsonscan.Delim('[') {
		return nil, fail(path, "%s takes a non-empty array of filter objects, got %s", op, tokenKind(tok))
	}
	var kids []*Node
	for i := 0; p.dec.More(); i++ {
		ep := path + "[" + strconv.Itoa(i) + "]"
		n, err := p.subfilter(ep, depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if err := p.end(path); err != nil {
		return nil, err
	}
	if len(kids) == 0 {
		return nil, fail(path, "%s takes a non-empty array of filter objects", op)
	}
	kind := KindAnd
	if op == "$or" {
		kind = KindOr
	}
	return &Node{Kind: kind, Children: kids}, nil
}

// not parses the filter object of $not.
func (p *parser) not(path string, depth int) (*Node, error) {
	n, err := p.subfilter(path, depth)
	if err != nil {
		return nil, err
	}
	return &Node{Kind: KindNot, Children: []*Node{n}}, nil
}

// subfilter reads a non-empty filter object nested one level below depth.
func (p *parser) subfilter(path string, depth int) (*Node, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != jsonscan.Delim('{') {
		return nil, fail(path, "expected a filter object, got %s", tokenKind(tok))
	}
	n, err := p.object(path, depth+1)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, fail(path, "empty filter object")
	}
	return n, nil
}

// column parses the value of a column key: a shorthand or an operator object.
func (p *parser) column(path, col string) (*Node, error) {
	if p.peek() == '{' {
		if _, err := p.token(path); err != nil {
			return nil, err
		}
		return p.ops(path, col)
	}
	v, err := p.value(path)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return p.cond(path, col, OpIsNull, true)
	}
	return p.cond(path, col, OpEq, v)
}

// ops parses a column's operator object whose '{' has been read.
func (p *parser) ops(path, col string) (*Node, error) {
	var kids []*Node
	var keys []string
	for p.dec.More() {
		op, err := p.key(path)
		if err != nil {
			return nil, err
		}
		op0 := pathKey(path, op)
		if !strings.HasPrefix(op, "$") {
			if len(keys) == 0 {
				return nil, fail(op0, "column %q: an object value must hold operators such as $gt; to compare a JSON object write {%q: {\"$eq\": {…}}}", clip(col), clip(col))
			}
			return nil, fail(op0, "column %q: operator object mixes operators and plain keys; to compare a JSON object write {%q: {\"$eq\": {…}}}", clip(col), clip(col))
		}
		if contains(keys, op) {
			return nil, fail(op0, "duplicate operator %q on column %q", clip(op), clip(col))
		}
		keys = append(keys, op)
		n, err := p.op(op0, col, op)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if err := p.end(path); err != nil {
		return nil, err
	}
	switch len(kids) {
	case 0:
		return nil, fail(path, "column %q: empty operator object; to compare with an empty JSON object write {%q: {\"$eq\": {}}}", clip(col), clip(col))
	case 1:
		return kids[0], nil
	}
	return &Node{Kind: KindAnd, Children: kids}, nil
}

// op parses the value of one column operator.
func (p *parser) op(path, col, op string) (*Node, error) {
	switch op {
	case OpEq, OpNe:
		v, err := p.value(path)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return p.cond(path, col, OpIsNull, op == OpEq)
		}
		return p.cond(path, col, op, v)
	case OpGt, OpGte, OpLt, OpLte:
		v, err := p.value(path)
		if err != nil {
			return nil, err
		}
		if !isScalar(v) {
			return nil, fail(path, "%s takes a string, number or boolean, got %s", op, valueKind(v))
		}
		return p.cond(path, col, op, v)
	case OpIn, OpNin:
		v, err := p.inList(path, op)
		if err != nil {
			return nil, err
		}
		return p.cond(path, col, op, v)
	case OpLike, OpIlike:
		v, err := p.value(path)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(string); !ok {
			return nil, fail(path, "%s takes a string pattern, got %s", op, valueKind(v))
		}
		return p.cond(path, col, op, v)
	case OpIsNull:
		v, err := p.value(path)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(bool); !ok {
			return nil, fail(path, "$isNull takes true or false, got %s", valueKind(v))
		}
		return p.cond(path, col, op, v)
	case "$and", "$or", "$not":
		return nil, fail(path, "%s is a filter-level operator: write {%q: …} around the column, not inside it", op, op)
	}
	return nil, fail(path, "unknown operator %q on column %q", clip(op), clip(col))
}

// inList parses the array of $in/$nin.
func (p *parser) inList(path, op string) ([]any, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != jsonscan.Delim('[') {
		return nil, fail(path, "%s takes an array of values, got %s", op, tokenKind(tok))
	}
	vals := []any{}
	for i := 0; p.dec.More(); i++ {
		if i >= p.lim.MaxIn {
			return nil, fail(path, "%s takes at most %d values", op, p.lim.MaxIn)
		}
		ep := path + "[" + strconv.Itoa(i) + "]"
		tok, err := p.token(ep)
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case string, json.Number, bool:
			vals = append(vals, tok)
		default:
			if tok == nil {
				return nil, fail(ep, "null is not allowed in %s; use $isNull", op)
			}
			return nil, fail(ep, "%s takes strings, numbers and booleans, got %s; compare JSON values with $eq (several: an $or of $eq)", op, tokenKind(tok))
		}
	}
	if err := p.end(path); err != nil {
		return nil, err
	}
	return vals, nil
}

// value decodes the next JSON value (after an object key) in one go.
func (p *parser) value(path string) (any, error) {
	v, err := p.dec.Value()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	return v, nil
}

// peek returns the first byte of the value that follows the object key just
// read (the Decoder has no peek; Offset points after the key), or 0 at
// the end of the input.
func (p *parser) peek() byte {
	for i := p.dec.Offset(); i < len(p.src); i++ {
		switch c := p.src[i]; c {
		case ' ', '\t', '\n', '\r', ':':
		default:
			return c
		}
	}
	return 0
}

// cond builds a condition, enforcing MaxLeaves.
func (p *parser) cond(path, col, op string, v any) (*Node, error) {
	p.leaves++
	if p.leaves > p.lim.MaxLeaves {
		return nil, fail(path, "too many conditions: a filter may hold at most %d", p.lim.MaxLeaves)
	}
	return &Node{Kind: KindCond, Column: col, Op: op, Value: v}, nil
}

// key reads an object key (Decoder.Token only yields strings there).
func (p *parser) key(path string) (string, error) {
	tok, err := p.token(path)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fail(path, "malformed JSON: expected an object key")
	}
	return k, nil
}

// end reads the closing delimiter after More reported false.
func (p *parser) end(path string) error {
	_, err := p.token(path)
	return err
}

func (p *parser) token(path string) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	return tok, nil
}

// syntax turns a decoding error into a problem at path.
func (p *parser) syntax(path string, err error) error {
	var se *jsonscan.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fail(path, "malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		return fail(path, "malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return fail(path, "malformed JSON")
}

// fail builds the BAD_REQUEST error with one problem.
func fail(path, format string, args ...any) error {
	msg := textf.Sprintf(format, args...)
	return apierr.New(apierr.BadRequest, "invalid where: %s: %s", path, msg).
		WithDetail("problems", []apierr.Problem{{Path: path, Message: msg}})
}

func isColumnOp(op string) bool {
	switch op {
	case OpEq, OpNe, OpGt, OpGte, OpLt, OpLte, OpIn, OpNin, OpLike, OpIlike, OpIsNull:
		return true
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, json.Number, bool:
		return true
	}
	return false
}

func tokenKind(tok any) string {
	switch tok {
	case jsonscan.Delim('{'):
		return "an object"
	case jsonscan.Delim('['):
		return "an array"
	}
	return valueKind(tok)
}

func valueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return "an unexpected token"
}

func contains(keys []string, k string) bool {
	for _, s := range keys {
		if s == k {
			return true
		}
	}
	return false
}

// pathKey appends key to a problem path: `.key` for plain identifiers
// (operators included), else `["key"]` quoted and clipped.
func pathKey(base, key string) string {
	if isPlainKey(key) {
		return base + "." + key
	}
	return base + "[" + strconv.Quote(clip(key)) + "]"
}

func isPlainKey(k string) bool {
	if k == "" || len(k) > clipLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '$' && i == 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens s to clipLen characters so that messages stay short.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= clipLen {
		return s
	}
	n := 0
	for i := range s {
		if n == clipLen {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func isBlank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}
