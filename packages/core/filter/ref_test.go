package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

// This file keeps the filter parser as it was on top of encoding/json's
// Decoder (refParseFull), as the reference the jsonscan-based parser must
// agree with: the same tree, and the same error — byte for byte, except
// that a text that is not JSON at all may be reported at another byte with
// jsonscan's wording (Validate refuses such texts before the planner calls
// Parse, so no API answer carries those).

// FuzzParseMatchesEncodingJSON checks parseFull against refParseFull. Seeds:
// FuzzParse's corpus, the tables of filter_test.go and the cases below.
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	for _, s := range refSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzParse/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			if in, ok := corpusBytes(b); ok {
				f.Add(in)
			}
		}
	}
	small := Limits{MaxDepth: 3, MaxLeaves: 4, MaxIn: 3}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lim := range []Limits{DefaultLimits(), small} {
			sameParse(t, in, lim)
		}
	})
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	deep := []string{ // too large for a fuzz seed
		`{"a":{"$eq":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`,
		`{"a":{"$eq":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}}`,
		`{"a":` + strings.Repeat(`{"b":`, 10001) + `1` + strings.Repeat("}", 10001) + `}`,
	}
	for _, s := range append(deep, refSeeds...) {
		sameParse(t, []byte(s), DefaultLimits())
	}
}

var refSeeds = []string{
	`{"a":1}`, `{"a":{"$eq":{"x":1,"x":2}}}`, `{"a":{"$eq":[1,{"b":"\ud800"}]}}`,
	`{"a":"\xff\xfe"}`, `{"a\u00e9":"\u2028"}`, `{"a":{"$in":["x",1,true,false]}}`,
	`{"a":{"$in":[1,}}`, `{"a":{"$in":[1 2]}}`, `{"a":{"$in":[1,2`, `{"a":{"$in"`,
	`{"a":{"$in":`, `{"a":{"$in":[`, `{"a":1,"b"`, `{"a":1 "b":2}`, `{"a":1,}`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul`, `{"a":"x`,
	`{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`, `{1:2}`, `{"a" 1}`, `{"a":}`,
	`{"a":{`, `{"a"`, `{`, `[`, `]`, `}`, `x`, `"x"`, `1 2`, `{} {}`, `{}x`, `{} `,
	`{"$or":[{"a":1},]}`, `{"$or":[{"a":1} {"b":2}]}`, `{"$or":[{"a":1},`, `{"$or":{`,
	`{"$not":{"a":{"$gt":1}}}`, `{"$not":`, `{"a":{"$gt":1,"$lt":2}}`, `{"a":{"$gt":1 "$lt":2}}`,
	`{"a":{"$gt":1,}}`, `{"a":{"$gt" 1}}`, `{"a":{"$isNull":true}}`, `{"a":{"$like":"x%"}}`,
	`{"a":[1,[2,{"c":null}]]}`,
	`{"a":{"$ne":null}}`, `{"a":null}`, "{\"a\"\t:\n1\r}", `{"a":1e400,"b":-0,"c":0.1e-7}`,
	`{"a":{"$nin":[]}}`, `{"a":{"$in":[null]}}`, `{"a":{"$in":[[1]]}}`, `{"$and":[]}`,
	`{"a":1,"a":2}`, `{"a":{"$bad":1}, garbage`, `{"$foo":1, `, `{"a":{"$gt":null}`,
}

// sameParse fails unless parseFull and refParseFull agree on in.
func sameParse(t *testing.T, in []byte, lim Limits) {
	t.Helper()
	got, gerr := parseFull(in, lim)
	want, werr := refParseFull(in, lim)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("Parse(%q): error %v, encoding/json's parser: %v", in, gerr, werr)
	}
	if werr == nil {
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q)\n got %s\nwant %s", in, dump(got), dump(want))
		}
		return
	}
	g, w := gerr.(*apierr.Error), werr.(*apierr.Error)
	gp, wp := problem(t, gerr), problem(t, werr)
	if strings.HasPrefix(gp.Message, "malformed JSON") && jsonscan.Validate(in) == nil {
		t.Fatalf("Parse(%q): %q for a text Validate accepts", in, gp.Message)
	}
	if strings.Contains(wp.Message, "malformed JSON at byte") {
		if gp.Path != wp.Path || !strings.HasPrefix(gp.Message, "malformed JSON") {
			t.Fatalf("Parse(%q): %q at %s, encoding/json's parser: %q at %s", in, gp.Message, gp.Path, wp.Message, wp.Path)
		}
		return
	}
	if g.Message != w.Message || gp != wp {
		t.Fatalf("Parse(%q): %q %+v, encoding/json's parser: %q %+v", in, g.Message, gp, w.Message, wp)
	}
}

// corpusBytes reads the one []byte of a "go test fuzz v1" corpus file.
func corpusBytes(b []byte) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	return []byte(s), err == nil
}

// refParseFull is the complete refParser: every shape, every error.
func refParseFull(where []byte, lim Limits) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(where))
	dec.UseNumber()
	p := &refParser{src: where, dec: dec, lim: lim}
	tok, err := p.token(rootPath)
	if err != nil {
		return nil, err
	}
	var n *Node
	switch tok {
	case nil:
	case json.Delim('{'):
		if n, err = p.object(rootPath, 1); err != nil {
			return nil, err
		}
	default:
		return nil, fail(rootPath, "the filter must be an object, got %s", refTokenKind(tok))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(rootPath, "unexpected data after the filter")
	}
	return n, nil
}

type refParser struct {
	src    []byte // the input, for peek
	dec    *json.Decoder
	lim    Limits
	leaves int
}

// object parses a filter object whose '{' has been read. depth is the
// object's nesting level (the top-level object is 1). An empty object gives
// nil; callers below the top level refuse it.
func (p *refParser) object(path string, depth int) (*Node, error) {
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
func (p *refParser) list(path, op string, depth int) (*Node, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fail(path, "%s takes a non-empty array of filter objects, got %s", op, refTokenKind(tok))
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
func (p *refParser) not(path string, depth int) (*Node, error) {
	n, err := p.subfilter(path, depth)
	if err != nil {
		return nil, err
	}
	return &Node{Kind: KindNot, Children: []*Node{n}}, nil
}

// subfilter reads a non-empty filter object nested one level below depth.
func (p *refParser) subfilter(path string, depth int) (*Node, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fail(path, "expected a filter object, got %s", refTokenKind(tok))
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
func (p *refParser) column(path, col string) (*Node, error) {
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
func (p *refParser) ops(path, col string) (*Node, error) {
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
func (p *refParser) op(path, col, op string) (*Node, error) {
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
func (p *refParser) inList(path, op string) ([]any, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fail(path, "%s takes an array of values, got %s", op, refTokenKind(tok))
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
			return nil, fail(ep, "%s takes strings, numbers and booleans, got %s; compare JSON values with $eq (several: an $or of $eq)", op, refTokenKind(tok))
		}
	}
	if err := p.end(path); err != nil {
		return nil, err
	}
	return vals, nil
}

// value decodes the next JSON value (after an object key) in one go.
func (p *refParser) value(path string) (any, error) {
	var v any
	if err := p.dec.Decode(&v); err != nil {
		return nil, p.syntax(path, err)
	}
	return v, nil
}

// peek returns the first byte of the value that follows the object key just
// read (json.Decoder has no peek; InputOffset points after the key), or 0 at
// the end of the input.
func (p *refParser) peek() byte {
	for i := p.dec.InputOffset(); i < int64(len(p.src)); i++ {
		switch c := p.src[i]; c {
		case ' ', '\t', '\n', '\r', ':':
		default:
			return c
		}
	}
	return 0
}

// cond builds a condition, enforcing MaxLeaves.
func (p *refParser) cond(path, col, op string, v any) (*Node, error) {
	p.leaves++
	if p.leaves > p.lim.MaxLeaves {
		return nil, fail(path, "too many conditions: a filter may hold at most %d", p.lim.MaxLeaves)
	}
	return &Node{Kind: KindCond, Column: col, Op: op, Value: v}, nil
}

// key reads an object key (json.Decoder.Token only yields strings there).
func (p *refParser) key(path string) (string, error) {
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
func (p *refParser) end(path string) error {
	_, err := p.token(path)
	return err
}

func (p *refParser) token(path string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	return tok, nil
}

// syntax turns a decoding error into a problem at path.
func (p *refParser) syntax(path string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fail(path, "malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		return fail(path, "malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return fail(path, "malformed JSON")
}

func refTokenKind(tok json.Token) string {
	switch tok {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	}
	return valueKind(tok)
}
