//go:build !wasip1

package permissions

// Parsing is left out of the wasip1 build: the Workers planner reads
// permissions in their parsed form from the bundle (JSON), and the YAML
// parser would only add to its wasm module (decision 0030).

import (
	"fmt"
	"github.com/santokit/santokit/packages/core/yamlsrc"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/names"
)

// maxTableName bounds a table name: PostgreSQL keeps 63 bytes, SQLite has no
// limit, and anything longer than this is a typo rather than a real table.
const maxTableName = 128

// maxAliases bounds how many YAML aliases one document may expand, so that a
// small file cannot make Parse walk a large tree by reusing anchors.
const maxAliases = 1000

// Parse reads a permissions.yaml. It reports every problem it finds, each
// with its path and line (and column), rather than stopping at the first.
//
// The document is nil when the YAML itself cannot be read or the file is
// empty. Otherwise it is
// returned even with problems, holding what could be read, so that callers
// may still Validate it to report everything at once; a document with
// problems must never be served.
func Parse(src []byte) (*Document, []apierr.Problem) {
	f, pr := yamlsrc.Parse(src)
	if pr != nil {
		return nil, []apierr.Problem{*pr}
	}
	p := &reader{src: src, anchors: map[string][]*ast.AnchorNode{}, aliases: maxAliases}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			bodies = append(bodies, doc.Body)
		}
	}
	if len(bodies) == 0 {
		return nil, []apierr.Problem{{Line: 1, Column: 1, Message: "the file is empty: expected version and tables"}}
	}
	if len(bodies) > 1 {
		p.add(bodies[1], "", "only one YAML document is allowed")
	}
	ast.Walk(p, bodies[0])
	d := p.document(bodies[0])
	sortProblems(p.problems)
	return d, p.problems
}

// reader walks one YAML document into a Document, collecting problems.
type reader struct {
	src      []byte
	problems []apierr.Problem
	anchors  map[string][]*ast.AnchorNode
	aliases  int
}

// Visit collects the anchors of the document for alias resolution, and
// refuses double-quoted scalars with a lone surrogate escape.
func (p *reader) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a != nil && a.Name != nil {
		name := scalarText(a.Name)
		p.anchors[name] = append(p.anchors[name], a)
	}
	if s, ok := n.(*ast.StringNode); ok && s != nil && s.Token != nil && s.Token.Type == token.DoubleQuoteType {
		if esc, lone := loneSurrogate(quotedSource(p.src, s.Token)); lone {
			p.add(s, "", "lone surrogate escape %s: a UTF-16 surrogate must be half of a pair (write the character, or \\UXXXXXXXX)", esc)
		}
	}
	return p
}

// quotedSource is the text between the quotes of a double-quoted scalar
// as written in src (the token's Origin does not keep escapes whole), or
// "" when the token's position does not point at its opening quote.
func quotedSource(src []byte, tk *token.Token) string {
	if tk.Position == nil {
		return ""
	}
	at := tk.Position.Offset - 1 // the parser's offsets count from 1
	if at < 0 || at >= len(src) || src[at] != '"' {
		return ""
	}
	for i := at + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"':
			return string(src[at+1 : i])
		}
	}
	return ""
}

// loneSurrogate finds, in the source text of a double-quoted YAML scalar, a
// \u or \U escape of a UTF-16 surrogate that is not half of a \uD8xx\uDCxx
// pair. The parser refuses a high surrogate without its pair but reads a
// lone low one as U+FFFD, which the JSON APIs refuse (issue #11).
func loneSurrogate(origin string) (string, bool) {
	for i := 0; i+1 < len(origin); i++ {
		if origin[i] != '\\' {
			continue
		}
		n := map[byte]int{'u': 4, 'U': 8}[origin[i+1]]
		if n == 0 {
			i++ // an escaped character, '\\' included
			continue
		}
		if i+2+n > len(origin) {
			return "", false
		}
		r, err := strconv.ParseUint(origin[i+2:i+2+n], 16, 32)
		switch {
		case err != nil || r < 0xD800 || r > 0xDFFF:
		case r <= 0xDBFF && n == 4 && i+12 <= len(origin) && origin[i+6:i+8] == `\u`:
			if lo, err := strconv.ParseUint(origin[i+8:i+12], 16, 32); err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
				i += 6
				break
			}
			return origin[i : i+2+n], true
		default:
			return origin[i : i+2+n], true
		}
		i += 1 + n
	}
	return "", false
}

func (p *reader) add(at ast.Node, path, format string, args ...any) {
	where := position(at)
	p.addAt(where, path, format, args...)
}

func (p *reader) addAt(where pos, path, format string, args ...any) {
	p.problems = append(p.problems, apierr.Problem{
		Path: path, Line: where.line, Column: where.col, Message: fmt.Sprintf(format, args...),
	})
}

// position is where a node starts. A block mapping's own token is the ':' of
// its first entry, so its first key is used instead.
func position(n ast.Node) pos {
	switch v := n.(type) {
	case nil:
		return pos{}
	case *ast.MappingNode:
		if v != nil && !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0] != nil {
			return position(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v != nil && v.Key != nil {
			return position(v.Key)
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// resolve looks through anchors, tags and aliases to the node that carries
// the value. ok=false means a problem was already reported.
func (p *reader) resolve(n ast.Node, path string) (ast.Node, bool) {
	for range 64 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingKeyNode:
			n = v.Value
		case *ast.AliasNode:
			if p.aliases == 0 {
				p.add(v, path, "too many alias expansions (more than %d)", maxAliases)
				return nil, false
			}
			p.aliases--
			target := p.anchorFor(v)
			if target == nil {
				p.add(v, path, "unknown alias %q", scalarText(v.Value))
				return nil, false
			}
			n = target.Value
		default:
			return n, true
		}
	}
	p.add(n, path, "aliases nest too deeply")
	return nil, false
}

// anchorFor finds the anchor an alias refers to: the last one of that name
// written before it.
func (p *reader) anchorFor(a *ast.AliasNode) *ast.AnchorNode {
	at := offset(a)
	var found *ast.AnchorNode
	for _, c := range p.anchors[scalarText(a.Value)] {
		if offset(c) < at {
			found = c
		}
	}
	return found
}

func offset(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// scalarText is the text of a scalar node (unquoted for strings).
func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case nil:
		return ""
	case *ast.StringNode:
		if v != nil {
			return v.Value
		}
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// str returns the value of a string scalar (plain, quoted or block).
func str(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		if v != nil {
			return v.Value, true
		}
	case *ast.LiteralNode:
		if v != nil && v.Value != nil {
			return v.Value.Value, true
		}
	}
	return "", false
}

// entry is one key of a mapping with the key's text.
type entry struct {
	key   string
	keyAt ast.Node
	value ast.Node
}

// entries lists the keys of a mapping. Keys that are not scalars, and merge
// keys, are reported and left out.
func (p *reader) entries(m *ast.MappingNode, path string) []entry {
	var out []entry
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		k, ok := p.resolve(mv.Key, path)
		if !ok {
			continue
		}
		switch k.(type) {
		case *ast.MergeKeyNode:
			p.add(mv.Key, path, "merge keys (<<) are not supported")
			continue
		case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode,
			*ast.InfinityNode, *ast.NanNode:
		default:
			p.add(mv.Key, path, "a key must be a plain string")
			continue
		}
		out = append(out, entry{key: scalarText(k), keyAt: mv.Key, value: mv.Value})
	}
	return out
}

// mapping resolves n and returns it as a mapping. When it is not one, what
// (naming the expected shape) is reported and ok is false.
func (p *reader) mapping(n, key ast.Node, path, what string, args ...any) (*ast.MappingNode, bool) {
	r, ok := p.resolve(n, path)
	if !ok {
		return nil, false
	}
	m, isMap := r.(*ast.MappingNode)
	if !isMap || m == nil {
		p.add(orKey(r, key), path, what, args...)
		return nil, false
	}
	return m, true
}

func (p *reader) document(body ast.Node) *Document {
	d := &Document{Tables: []Table{}}
	top, ok := p.resolve(body, "")
	if !ok {
		return d
	}
	m, isMap := top.(*ast.MappingNode)
	if !isMap || m == nil {
		p.add(body, "", "the document must be a mapping with the keys version and tables")
		return d
	}
	var sawVersion, sawTables bool
	for _, e := range p.entries(m, "") {
		switch e.key {
		case "version":
			sawVersion = true
			d.Version = p.version(e)
		case "tables":
			sawTables = true
			d.Tables = p.tables(e)
		default:
			p.add(e.keyAt, e.key, "unknown key %q (allowed: version, tables)", e.key)
		}
	}
	if !sawVersion {
		p.add(m, "version", "version is required (version: 1)")
	}
	if !sawTables {
		p.add(m, "tables", "tables is required")
	}
	return d
}

func (p *reader) version(e entry) int {
	v, ok := p.resolve(e.value, "version")
	if !ok {
		return 0
	}
	if n, isInt := v.(*ast.IntegerNode); isInt && n != nil && fmt.Sprint(n.Value) == "1" {
		return Version
	}
	p.add(orKey(v, e.keyAt), "version", "version must be 1")
	return 0
}

// orKey is the value node for positions, or the key when the value has none
// (an empty value).
func orKey(value, key ast.Node) ast.Node {
	if position(value).line >= 1 {
		return value
	}
	return key
}

func (p *reader) tables(e entry) []Table {
	out := []Table{}
	m, ok := p.mapping(e.value, e.keyAt, "tables", "tables must be a mapping of table names to their permissions")
	if !ok {
		return out
	}
	seen := map[string]int{}
	for _, te := range p.entries(m, "tables") {
		t, keyOK := p.table(te)
		if !keyOK {
			continue
		}
		id := t.Connection + "." + t.Name
		if t.IsDefault() {
			id = DefaultKey
		}
		if line, dup := seen[id]; dup {
			p.add(te.keyAt, tablePath(te.key), "table %s is listed twice (also at line %d)", id, line)
			continue
		}
		seen[id] = t.Line
		out = append(out, t)
	}
	return out
}

// tablePath is the problem path of a tables entry.
func tablePath(key string) string { return "tables" + segment(key) }

// segment is ".key" for plain keys and `["key"]` for keys with dots or other
// characters that would make the path ambiguous.
func segment(key string) string {
	plain := key != ""
	for i, r := range key {
		if !(r == '_' || r == '-' || r < utf8.RuneSelf && unicode.IsLetter(r) || i > 0 && r < utf8.RuneSelf && unicode.IsDigit(r)) {
			plain = false
			break
		}
	}
	if plain {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

// table parses one tables entry; keyOK=false when its key is malformed (its
// body is still read for problems, but it is left out of the document).
func (p *reader) table(e entry) (Table, bool) {
	path := tablePath(e.key)
	at := position(e.keyAt)
	t := Table{Key: e.key, Ops: map[Op][]Rule{}, Line: at.line}
	keyOK := true
	if e.key == DefaultKey {
		// Connection and Name stay empty: _default is no table.
	} else if conn, name, err := splitKey(e.key); err != "" {
		p.addAt(at, path, "invalid table key %q: %s", clip(e.key), err)
		keyOK = false
	} else {
		t.Connection, t.Name = conn, name
	}

	m, ok := p.mapping(e.value, e.keyAt, path, "table %s must be a mapping of ops (select, insert, update, delete) and owner", clip(e.key))
	if !ok {
		return t, keyOK
	}
	for _, oe := range p.entries(m, path) {
		switch oe.key {
		case "owner":
			p.owner(&t, oe, path+".owner")
		case string(OpSelect), string(OpInsert), string(OpUpdate), string(OpDelete):
			op := Op(oe.key)
			if rules, ok := p.op(op, t.IsDefault(), oe, path+"."+oe.key); ok {
				t.Ops[op] = rules
			}
		default:
			p.add(oe.keyAt, path+segment(oe.key), "unknown key %q in table %s (allowed: owner, select, insert, update, delete)", clip(oe.key), clip(e.key))
		}
	}
	return t, keyOK
}

// splitKey checks a table key "table" or "connection.table" and returns its
// parts, or a reason when it is malformed.
func splitKey(key string) (conn, name, reason string) {
	conn, name = DefaultConnection, key
	if c, n, found := strings.Cut(key, "."); found {
		if strings.Contains(n, ".") {
			return "", "", "use table or connection.table (one dot at most)"
		}
		if !names.IsResource(c) {
			return "", "", fmt.Sprintf("connection %q must match ^[a-z][a-z0-9-]{0,62}$", clip(c))
		}
		if n == DefaultKey {
			return "", "", "_default applies to every connection and takes no connection prefix"
		}
		conn, name = c, n
	}
	if reason := checkTableName(name); reason != "" {
		return "", "", reason
	}
	return conn, name, ""
}

// checkTableName accepts real SQL table names (letters of any script,
// digits, '_', '$', '-') and refuses empty names, whitespace, quotes and
// other punctuation, which are typos here and never needed by a table the
// Bridge can serve.
func checkTableName(name string) string {
	if name == "" {
		return "the table name is empty"
	}
	if len(name) > maxTableName {
		return fmt.Sprintf("the table name is longer than %d bytes", maxTableName)
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$' || r == '-') {
			return fmt.Sprintf("the table name may only hold letters, digits, '_', '$' and '-' (found %q)", r)
		}
	}
	return ""
}

func (p *reader) owner(t *Table, e entry, path string) {
	if t.IsDefault() {
		p.add(e.keyAt, path, "owner is not allowed on _default: set it on each table")
		return
	}
	v, ok := p.resolve(e.value, path)
	if !ok {
		return
	}
	s, isStr := str(v)
	if !isStr || s == "" {
		p.add(orKey(v, e.keyAt), path, "owner must be a column name")
		return
	}
	t.Owner = s
	t.ownerAt = position(v)
}

// op parses an op: a list of role names (one rule) or a list of rules.
// defined=false when the value has no such shape; rules with problems are
// kept (partially read) so that Validate can still look at them.
func (p *reader) op(op Op, onDefault bool, e entry, path string) (rules []Rule, defined bool) {
	v, ok := p.resolve(e.value, path)
	if !ok {
		return nil, false
	}
	seq, isSeq := v.(*ast.SequenceNode)
	if !isSeq || seq == nil {
		p.add(orKey(v, e.keyAt), path, "%s must be a list of role names or a list of rules", op)
		return nil, false
	}
	items := make([]ast.Node, len(seq.Values))
	var scalars, maps int
	for i, raw := range seq.Values {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		item, ok := p.resolve(raw, itemPath)
		if !ok {
			continue
		}
		switch it := item.(type) {
		case *ast.MappingNode:
			if it != nil {
				maps++
				items[i] = item
			}
		case *ast.SequenceNode, *ast.MappingValueNode, *ast.MappingKeyNode, nil:
			p.add(orKey(item, raw), itemPath, "each entry of %s must be a role name or a rule (a mapping with roles)", op)
		default:
			scalars++
			items[i] = item
		}
	}
	if scalars > 0 && maps > 0 {
		p.add(orKey(seq, e.keyAt), path, "%s mixes role names and rules: write either a list of role names or a list of rules", op)
		return nil, false
	}
	rules = []Rule{}
	if maps > 0 {
		for i, item := range items {
			if m, isMap := item.(*ast.MappingNode); isMap {
				rules = append(rules, p.rule(op, onDefault, m, fmt.Sprintf("%s[%d]", path, i)))
			}
		}
		return rules, true
	}
	if len(seq.Values) == 0 {
		return rules, true // "op: []" denies everyone, overriding _default
	}
	r := Rule{Roles: []string{}, Line: position(e.keyAt).line}
	for i, item := range items {
		if item == nil {
			continue
		}
		if role, ok := p.role(item, seq.Values[i], fmt.Sprintf("%s[%d]", path, i)); ok {
			r.Roles = append(r.Roles, role)
		}
	}
	return append(rules, r), true
}

// role checks one role keyword or role name (SPEC §2); raw is the node as
// written, for the position of an empty entry.
func (p *reader) role(n, raw ast.Node, path string) (string, bool) {
	n = orKey(n, raw)
	s, isStr := str(n)
	if !isStr {
		p.add(n, path, "a role must be a role name, public or authenticated (found %s)", clip(scalarText(n)))
		return "", false
	}
	if !names.IsRole(s) {
		p.add(n, path, "invalid role name %q: use 1-63 characters, lowercase letters, digits, '_' and '-', starting with a letter", clip(s))
		return "", false
	}
	return s, true
}

func (p *reader) rule(op Op, onDefault bool, m *ast.MappingNode, path string) Rule {
	r := Rule{Line: position(m).line}
	sawRoles := false
	for _, e := range p.entries(m, path) {
		keyPath := path + segment(e.key)
		switch e.key {
		case "roles":
			sawRoles = true
			r.Roles = p.roles(e, keyPath)
		case "columns":
			r.Columns = p.columns(e, keyPath)
		case "condition", "check":
			text, where, ok := p.expr(e, keyPath)
			switch {
			case !ok:
			case e.key == "check" && (op == OpSelect || op == OpDelete):
				p.add(e.keyAt, keyPath, "check is only allowed on insert and update (use condition to filter rows on %s)", op)
			case e.key == "condition" && op == OpInsert:
				p.add(e.keyAt, keyPath, "condition filters existing rows, so it is not allowed on insert (use check for the rows an insert writes)")
			case onDefault:
				p.add(e.keyAt, keyPath, "%s is not allowed on _default: it names columns of one table, so set it on each table", e.key)
			case e.key == "condition":
				r.Condition, r.condAt = text, where
			default:
				r.Check, r.checkAt = text, where
			}
		default:
			p.add(e.keyAt, keyPath, "unknown key %q in a rule (allowed: roles, columns, condition, check)", clip(e.key))
		}
	}
	if !sawRoles {
		p.add(m, path, "a rule needs roles")
	}
	return r
}

// maxExpr bounds the text of one condition or check: real ones are a line
// or two, and the CEL parser's work grows with the text.
const maxExpr = 4096

// expr reads the text of a condition or check and where it was written.
func (p *reader) expr(e entry, path string) (string, exprAt, bool) {
	v, ok := p.resolve(e.value, path)
	if !ok {
		return "", exprAt{}, false
	}
	s, isStr := str(v)
	if !isStr || strings.TrimSpace(s) == "" {
		p.add(orKey(v, e.keyAt), path, "%s must be a non-empty string holding an expression (SPEC §5.2)", e.key)
		return "", exprAt{}, false
	}
	if len(s) > maxExpr {
		p.add(v, path, "%s is longer than %d bytes", e.key, maxExpr)
		return "", exprAt{}, false
	}
	at := exprAt{pos: position(v), path: path}
	switch v.(type) {
	case *ast.LiteralNode:
		at.block = true
	case *ast.StringNode:
		if tk := v.GetToken(); tk != nil && (tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType) {
			at.quoted = true
		}
	}
	return s, at, true
}

func (p *reader) roles(e entry, path string) []string {
	v, ok := p.resolve(e.value, path)
	if !ok {
		return nil
	}
	seq, isSeq := v.(*ast.SequenceNode)
	if !isSeq || seq == nil {
		p.add(orKey(v, e.keyAt), path, "roles must be a list of role names")
		return nil
	}
	if len(seq.Values) == 0 {
		p.add(orKey(v, e.keyAt), path, "roles must not be empty")
		return nil
	}
	out := []string{}
	for i, raw := range seq.Values {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		item, ok := p.resolve(raw, itemPath)
		if !ok {
			continue
		}
		if role, ok := p.role(item, raw, itemPath); ok {
			out = append(out, role)
		}
	}
	return out
}

// columns parses "columns: [a, b]" (Allow) or "columns: {deny: [a, b]}" (Deny).
func (p *reader) columns(e entry, path string) *Columns {
	v, ok := p.resolve(e.value, path)
	if !ok {
		return nil
	}
	const shape = "columns must be a list of column names or {deny: [column, ...]}"
	switch c := v.(type) {
	case *ast.SequenceNode:
		if c != nil {
			names, at := p.columnList(c, path)
			return &Columns{Allow: names, at: at}
		}
	case *ast.MappingNode:
		if c == nil {
			break
		}
		var cols *Columns
		entries := p.entries(c, path)
		if len(entries) == 0 {
			p.add(orKey(c, e.keyAt), path, "%s", shape)
		}
		for _, de := range entries {
			if de.key != "deny" {
				p.add(de.keyAt, path+segment(de.key), "unknown key %q in columns (only deny is allowed)", clip(de.key))
				continue
			}
			dv, ok := p.resolve(de.value, path+".deny")
			if !ok {
				continue
			}
			seq, isSeq := dv.(*ast.SequenceNode)
			if !isSeq || seq == nil {
				p.add(orKey(dv, de.keyAt), path+".deny", "columns.deny must be a list of column names")
				continue
			}
			names, at := p.columnList(seq, path+".deny")
			cols = &Columns{Deny: names, at: at}
		}
		return cols
	}
	p.add(orKey(v, e.keyAt), path, "%s", shape)
	return nil
}

func (p *reader) columnList(seq *ast.SequenceNode, path string) ([]string, []pos) {
	names, at := []string{}, []pos{}
	for i, raw := range seq.Values {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		item, ok := p.resolve(raw, itemPath)
		if !ok {
			continue
		}
		s, isStr := str(item)
		if !isStr || s == "" {
			p.add(orKey(item, raw), itemPath, "a column must be a column name")
			continue
		}
		names = append(names, s)
		at = append(at, position(item))
	}
	return names, at
}

// clip keeps echoed input short so messages stay readable.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
