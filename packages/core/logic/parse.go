//go:build !wasip1

package logic

// Parsing is left out of the wasip1 build: the Workers planner reads logic
// in its parsed form from the bundle (JSON), and the YAML parser would only
// add to its wasm module (decision 0030).

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/yamlsrc"
)

// Bounds of one logic set: a logic directory is source code of an app, not
// data, and each bound keeps one apply's work (and the release) small.
const (
	MaxFiles    = 500
	MaxFileSize = 64 << 10
	MaxParams   = 64
	maxDepth    = 8
)

// Logic names, roles and connections follow the SPEC §2 rules of package
// names, and uuid defaults the planner's check (IsUUID), so that each rule
// has one implementation.

// isSegment reports whether s is one segment of a logic name,
// ^_?[a-z][a-z0-9_-]{0,62}$: a role-shaped SPEC §2 name (so "by_author"
// works) that may start with '_' (private).
func isSegment(s string) bool { return names.IsRole(strings.TrimPrefix(s, "_")) }

// isParam reports whether s is a param name, ^[A-Za-z_][A-Za-z0-9_]{0,62}$.
func isParam(s string) bool {
	if len(s) == 0 || len(s) > 63 || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// frontKeys are the keys the front matter may have.
var frontKeys = []string{"auth", "connection", "params", "readonly"}

// NameOf is the logic name of a file path relative to logics/ ("posts/mine.sql"
// → "posts/mine"), or a message saying why the path is not a logic file.
func NameOf(file string) (string, string) {
	if !strings.HasSuffix(file, ".sql") {
		return "", "a logic file name must end in .sql"
	}
	name := strings.TrimSuffix(file, ".sql")
	if path.Clean(name) != name || strings.HasPrefix(name, "/") {
		return "", "the path must be relative to logics/, '/'-separated, without '.', '..' or empty segments"
	}
	segs := strings.Split(name, "/")
	if len(segs) > maxDepth {
		return "", fmt.Sprintf("the path is deeper than %d directories", maxDepth)
	}
	for _, s := range segs {
		if !isSegment(s) {
			return "", fmt.Sprintf("invalid name segment %q: use lowercase letters, digits, '_' and '-', starting with a letter (or '_' then a letter for private logic)", clipText(s))
		}
	}
	return name, ""
}

// privateName reports whether a segment of the name starts with '_'.
func privateName(name string) bool {
	for _, s := range strings.Split(name, "/") {
		if strings.HasPrefix(s, "_") {
			return true
		}
	}
	return false
}

// Parse reads a logic set (file path relative to logics/ → text) and
// compiles each file for the engine of its connection. engineOf returns
// the engine of a connection name, or "" when the env has no such
// connection (a problem at the connection key). Every problem is reported
// with its file and line; the logics are nil whenever there is one, since
// a set is applied whole or not at all.
func Parse(files map[string]string, engineOf func(connection string) string) ([]Logic, []apierr.Problem) {
	var problems []apierr.Problem
	if len(files) > MaxFiles {
		return nil, []apierr.Problem{{Path: "files", Message: fmt.Sprintf("too many logic files (%d): at most %d", len(files), MaxFiles)}}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]Logic, 0, len(paths))
	for _, p := range paths {
		l, ps := ParseFile(p, files[p], engineOf)
		problems = append(problems, ps...)
		if len(ps) == 0 {
			out = append(out, l)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// ParseFile parses and compiles one logic file (see Parse).
func ParseFile(file, text string, engineOf func(connection string) string) (Logic, []apierr.Problem) {
	f := &fileReader{file: file}
	name, why := NameOf(file)
	if why != "" {
		f.add(0, 0, "", "%s", why)
		return Logic{}, f.problems
	}
	if len(text) > MaxFileSize {
		f.add(1, 0, "", "the file is larger than %d bytes", MaxFileSize)
		return Logic{}, f.problems
	}
	l := Logic{Name: name, Connection: "main", Params: []Param{}}
	front, frontLine, body, bodyLine, ok := splitFrontMatter(text)
	if !ok {
		f.add(1, 1, "", "a logic file starts with front matter between two '---' lines (auth, params …), then one SQL statement")
		return Logic{}, f.problems
	}
	connLine := f.frontMatter(&l, front, frontLine)
	if privateName(name) {
		l.Auth, l.Roles = AuthPrivate, nil
	}
	l.Source, l.SourceLine = body, bodyLine
	engine := EnginePostgres
	if engineOf != nil {
		engine = engineOf(l.Connection)
		if engine == "" {
			f.add(connLine, 0, "connection", "connection %q does not exist in this env", clipText(l.Connection))
			return Logic{}, f.problems
		}
	}
	if len(f.problems) > 0 {
		return Logic{}, f.problems
	}
	f.compile(&l, text, len(text)-len(body), engine)
	if len(f.problems) > 0 {
		return Logic{}, f.problems
	}
	return l, nil
}

// splitFrontMatter splits "---\n<yaml>---\n<sql>": the YAML text with the
// file line it starts on, and the statement with its own line.
func splitFrontMatter(text string) (front string, frontLine int, body string, bodyLine int, ok bool) {
	text = strings.TrimPrefix(text, "\ufeff")
	first, rest, found := strings.Cut(text, "\n")
	if !found || strings.TrimRight(first, " \t\r") != "---" {
		return "", 0, "", 0, false
	}
	line := 2
	off := 0
	for off <= len(rest) {
		l, _, more := strings.Cut(rest[off:], "\n")
		if strings.TrimRight(l, " \t\r") == "---" {
			front = rest[:off]
			if more {
				body = rest[off+len(l)+1:]
			}
			// The statement's line is where its first non-blank byte is.
			bodyLine = line + 1
			for _, c := range body {
				if c == '\n' {
					bodyLine++
				} else if !isSpace(byte(c)) {
					break
				}
			}
			return front, 2, body, bodyLine, true
		}
		if !more {
			break
		}
		off += len(l) + 1
		line++
	}
	return "", 0, "", 0, false
}

// fileReader collects the problems of one file.
type fileReader struct {
	file     string
	problems []apierr.Problem
	lineOff  int // front matter line - 1, added to YAML positions
}

func (f *fileReader) add(line, col int, p, format string, args ...any) {
	f.problems = append(f.problems, apierr.Problem{File: f.file, Path: p, Line: line, Column: col,
		Message: fmt.Sprintf(format, args...)})
}

func (f *fileReader) addAt(n ast.Node, p, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line+f.lineOff, tk.Position.Column
		}
	}
	if line == 0 {
		line = f.lineOff + 1
	}
	f.add(line, col, p, format, args...)
}

// frontMatter reads the YAML front matter into l; it returns the line of
// the connection key (or of the front matter) for a later problem.
func (f *fileReader) frontMatter(l *Logic, front string, frontLine int) int {
	f.lineOff = frontLine - 1
	l.Auth = ""
	if strings.TrimSpace(front) == "" {
		f.add(frontLine, 0, "auth", "auth is required (public, authenticated, private or {roles: [...]})")
		return frontLine
	}
	file, pr := yamlsrc.Parse([]byte(front))
	if pr != nil {
		line := frontLine
		if pr.Line >= 1 {
			line = pr.Line + f.lineOff
		}
		f.add(line, pr.Column, "", "%s", pr.Message)
		return frontLine
	}
	if len(file.Docs) != 1 || file.Docs[0] == nil || file.Docs[0].Body == nil {
		f.add(frontLine, 0, "", "the front matter must be one YAML mapping")
		return frontLine
	}
	m, ok := file.Docs[0].Body.(*ast.MappingNode)
	if !ok {
		f.addAt(file.Docs[0].Body, "", "the front matter must be a mapping (auth, connection, params, readonly)")
		return frontLine
	}
	connLine := frontLine
	for _, mv := range m.Values {
		key := keyText(mv.Key)
		switch key {
		case "auth":
			f.auth(l, mv.Value, mv.Key)
		case "connection":
			connLine, _ = f.pos(mv.Key)
			s, ok := mv.Value.(*ast.StringNode)
			if !ok || !names.IsResource(s.Value) {
				f.addAt(valueOr(mv.Value, mv.Key), "connection", "connection must be a connection name (main by default)")
				continue
			}
			l.Connection = s.Value
		case "readonly":
			b, ok := mv.Value.(*ast.BoolNode)
			if !ok {
				f.addAt(valueOr(mv.Value, mv.Key), "readonly", "readonly must be true or false")
				continue
			}
			l.Readonly = b.Value
		case "params":
			f.params(l, mv.Value, mv.Key)
		default:
			f.addAt(mv.Key, clipText(key), "unknown key %q in the front matter (allowed: %s)", clipText(key), strings.Join(frontKeys, ", "))
		}
	}
	if l.Auth == "" && len(f.problems) == 0 {
		f.addAt(m, "auth", "auth is required (public, authenticated, private or {roles: [...]})")
	}
	return connLine
}

func (f *fileReader) pos(n ast.Node) (int, int) {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line + f.lineOff, tk.Position.Column
	}
	return f.lineOff + 1, 0
}

func (f *fileReader) auth(l *Logic, v, key ast.Node) {
	const want = "auth must be public, authenticated, private or {roles: [role, …]}"
	switch n := v.(type) {
	case *ast.StringNode:
		switch n.Value {
		case AuthPublic, AuthAuthenticated, AuthPrivate:
			l.Auth = n.Value
			return
		}
	case *ast.MappingNode:
		if len(n.Values) == 1 && keyText(n.Values[0].Key) == "roles" {
			seq, ok := n.Values[0].Value.(*ast.SequenceNode)
			if ok && len(seq.Values) > 0 {
				for _, item := range seq.Values {
					s, ok := item.(*ast.StringNode)
					if !ok || !names.IsRole(s.Value) {
						f.addAt(item, "auth.roles", "invalid role name: use lowercase letters, digits, '_' and '-', starting with a letter")
						return
					}
					l.Roles = append(l.Roles, s.Value)
				}
				l.Auth = AuthRoles
				return
			}
		}
	}
	f.addAt(valueOr(v, key), "auth", want)
}

func (f *fileReader) params(l *Logic, v, key ast.Node) {
	if _, null := v.(*ast.NullNode); v == nil || null {
		return
	}
	m, ok := v.(*ast.MappingNode)
	if !ok {
		f.addAt(valueOr(v, key), "params", "params must be a mapping of param name to {type, required, default}")
		return
	}
	if len(m.Values) > MaxParams {
		f.addAt(key, "params", "too many params (%d): at most %d", len(m.Values), MaxParams)
		return
	}
	for _, mv := range m.Values {
		name := keyText(mv.Key)
		p := "params." + clipText(name)
		line, _ := f.pos(mv.Key)
		if !isParam(name) || name == "auth" {
			f.addAt(mv.Key, p, "invalid param name %q: use letters, digits and '_', starting with a letter or '_' (auth is reserved)", clipText(name))
			continue
		}
		par := Param{Name: name, Line: line}
		spec, ok := mv.Value.(*ast.MappingNode)
		if !ok {
			f.addAt(valueOr(mv.Value, mv.Key), p, "param %s must be a mapping {type, required, default}", name)
			continue
		}
		var def ast.Node
		for _, e := range spec.Values {
			switch k := keyText(e.Key); k {
			case "type":
				s, ok := e.Value.(*ast.StringNode)
				if !ok || !ValidType(s.Value) {
					f.addAt(valueOr(e.Value, e.Key), p+".type", "param %s: type must be one of %s, or array<T> of those but json", name, strings.Join(scalarTypes, ", "))
					continue
				}
				par.Type = s.Value
			case "required":
				b, ok := e.Value.(*ast.BoolNode)
				if !ok {
					f.addAt(valueOr(e.Value, e.Key), p+".required", "param %s: required must be true or false", name)
					continue
				}
				par.Required = b.Value
			case "default":
				def = valueOr(e.Value, e.Key)
			default:
				f.addAt(e.Key, p+"."+clipText(k), "param %s: unknown key %q (allowed: type, required, default)", name, clipText(k))
			}
		}
		if par.Type == "" {
			if !f.hasProblemAt(p + ".type") {
				f.addAt(mv.Key, p+".type", "param %s: type is required", name)
			}
			continue
		}
		if def != nil {
			if _, null := def.(*ast.NullNode); !null {
				js, why := defaultJSON(def, par.Type)
				if why != "" {
					f.addAt(def, p+".default", "param %s: default %s", name, why)
					continue
				}
				par.Default = js
			}
		}
		if par.Required && par.Default != "" {
			f.addAt(mv.Key, p, "param %s: a required param cannot have a default", name)
			continue
		}
		l.Params = append(l.Params, par)
	}
}

func (f *fileReader) hasProblemAt(p string) bool {
	for _, pr := range f.problems {
		if pr.Path == p {
			return true
		}
	}
	return false
}

var scalarTypes = []string{TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeUUID, TypeTimestamptz, TypeDate, TypeJSON}

// ValidType reports whether t is a param type of SPEC §6.
func ValidType(t string) bool {
	if inner, ok := ElemType(t); ok {
		return inner != TypeJSON && ValidType(inner)
	}
	for _, s := range scalarTypes {
		if t == s {
			return true
		}
	}
	return false
}

// ElemType is T of "array<T>".
func ElemType(t string) (string, bool) {
	if strings.HasPrefix(t, ArrayPrefix) && strings.HasSuffix(t, ">") {
		return t[len(ArrayPrefix) : len(t)-1], true
	}
	return "", false
}

// CheckValue reports why the decoded JSON value v (json.Unmarshal into any
// with UseNumber, or the YAML default) does not fit type t, or "".
func CheckValue(v any, t string) string {
	if elem, ok := ElemType(t); ok {
		arr, ok := v.([]any)
		if !ok {
			return "must be an array of " + elem
		}
		for i, e := range arr {
			if why := CheckValue(e, elem); why != "" {
				return fmt.Sprintf("item %d %s", i, why)
			}
		}
		return ""
	}
	switch t {
	case TypeJSON:
		return ""
	case TypeBoolean:
		if _, ok := v.(bool); ok {
			return ""
		}
		return "must be true or false"
	case TypeInteger, TypeNumber:
		var s string
		switch n := v.(type) {
		case json.Number:
			s = n.String()
		case float64, int64, uint64, int:
			s = fmt.Sprint(n)
		default:
			return "must be a number"
		}
		if t == TypeInteger && strings.ContainsAny(s, ".eE") {
			return "must be an integer"
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		return "must be a string"
	}
	switch t {
	case TypeUUID:
		if !IsUUID(s) {
			return "must be a UUID"
		}
	case TypeTimestamptz:
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "must be an RFC 3339 timestamp with a time zone"
		}
	case TypeDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "must be a date (YYYY-MM-DD)"
		}
	}
	return ""
}

// defaultJSON checks a YAML default against the type and returns its JSON.
func defaultJSON(n ast.Node, t string) (string, string) {
	var v any
	if err := yaml.NodeToValue(n, &v); err != nil {
		return "", "is not a plain value"
	}
	js, err := json.Marshal(normalizeYAML(v))
	if err != nil {
		return "", "cannot be written as JSON"
	}
	var back any
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil {
		return "", "cannot be written as JSON"
	}
	if why := CheckValue(back, t); why != "" {
		return "", why
	}
	return string(js), ""
}

// normalizeYAML turns YAML maps with any keys into JSON-able maps.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	}
	return v
}

// compile scans the statement (at byte offset bodyOff of the file text),
// checks its binds against the params and rewrites them to positional
// parameters.
func (f *fileReader) compile(l *Logic, text string, bodyOff int, engine string) {
	body := l.Source
	lineAt := func(off int) (int, int) {
		abs := bodyOff + off
		line := 1 + strings.Count(text[:abs], "\n")
		col := abs - strings.LastIndexByte(text[:abs], '\n')
		return line, col
	}
	res := scan(body, engine)
	for _, p := range res.Problems {
		line, col := lineAt(p.At)
		f.add(line, col, "", "%s", p.Message)
	}
	if res.Second >= 0 {
		line, col := lineAt(res.Second)
		f.add(line, col, "", "a second statement: a logic file holds exactly one statement")
	}
	stmt := strings.TrimSpace(body[:res.End])
	if onlyComments(stmt, engine) {
		f.add(l.SourceLine, 0, "", "the file has no SQL statement after the front matter")
		return
	}
	declared := map[string]bool{}
	for _, p := range l.Params {
		declared[p.Name] = true
	}
	used := map[string]bool{}
	index := map[string]int{}
	var sb strings.Builder
	last := 0
	for _, b := range res.Binds {
		if !b.Auth && !declared[b.Key] {
			line, col := lineAt(b.Start)
			f.add(line, col, "", "bind :%s is not a declared param (declare it under params, or use :auth.sub, :auth.roles, :auth.claims.<name>)", clipText(b.Key))
			continue
		}
		key := b.Key
		if b.Auth {
			key = "auth." + b.Key
		} else {
			used[b.Key] = true
		}
		n, ok := index[key]
		if !ok {
			n = len(l.Binds) + 1
			index[key] = n
			l.Binds = append(l.Binds, bindOf(b))
		}
		if b.Start < res.End {
			sb.WriteString(body[last:b.Start])
			sb.WriteString(placeholder(engine, n))
			last = b.End
		}
	}
	for _, p := range l.Params {
		if !used[p.Name] {
			f.add(p.Line, 0, "params."+p.Name, "param %s is declared but the statement never binds :%s", p.Name, p.Name)
		}
	}
	sb.WriteString(body[last:res.End])
	l.SQL = strings.TrimSpace(sb.String())
	if l.Binds == nil {
		l.Binds = []Bind{}
	}
	l.Columns = []Column{}
}

func bindOf(b bindRef) Bind {
	if !b.Auth {
		return Bind{Kind: BindParam, Name: b.Key}
	}
	switch {
	case b.Key == "sub":
		return Bind{Kind: BindSub}
	case b.Key == "roles":
		return Bind{Kind: BindRoles}
	default:
		return Bind{Kind: BindClaim, Name: strings.TrimPrefix(b.Key, "claims.")}
	}
}

// onlyComments reports whether s holds no SQL token.
func onlyComments(s, engine string) bool {
	i := 0
	for i < len(s) {
		switch {
		case isSpace(s[i]):
			i++
		case strings.HasPrefix(s[i:], "--"):
			i = lineEnd(s, i)
		case strings.HasPrefix(s[i:], "/*"):
			i, _ = blockEnd(s, i, engine != EngineSQLite)
		default:
			return false
		}
	}
	return true
}

func keyText(n ast.Node) string {
	if mk, ok := n.(*ast.MappingKeyNode); ok && mk != nil {
		n = mk.Value
	}
	if s, ok := n.(*ast.StringNode); ok && s != nil {
		return s.Value
	}
	if n == nil {
		return ""
	}
	return n.String()
}

func valueOr(v, key ast.Node) ast.Node {
	if v == nil {
		return key
	}
	if tk := v.GetToken(); tk == nil || tk.Position == nil {
		return key
	}
	return v
}
