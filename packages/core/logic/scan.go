package logic

import (
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/textf"
)

// Engines whose SQL the scanner understands (schema.EnginePostgres and
// schema.EngineSQLite; repeated here so that the package stays free of
// imports the planner's wasm build does not need).
const (
	EnginePostgres = "postgres"
	EngineSQLite   = "sqlite"
)

// bindRef is one `:name` occurrence found by Scan, with its byte offsets in
// the scanned text (Start is the ':').
type bindRef struct {
	Key        string // "sub", "roles", "claims.<name>" for :auth.*; the param name otherwise
	Auth       bool   // an :auth.… bind
	Start, End int
}

// scanResult is what Scan found in one statement text.
type scanResult struct {
	Binds []bindRef
	// End is the offset where the statement ends: the first top-level ';'
	// or len(text). Second is the offset of a token after that ';' (a second
	// statement), or -1.
	End, Second int
	// Problems are lexical errors, each at a byte offset.
	Problems []offsetProblem
}

type offsetProblem struct {
	At      int
	Message string
}

// scan walks text lexically for engine, finding the binds and statement
// boundary. Only code is scanned for binds: string literals ('…', a
// doubled quote escaping one; E'…' with backslash escapes on PostgreSQL), quoted identifiers
// ("…"; also `…` and […] on SQLite), line and block comments (nested on
// PostgreSQL) and dollar-quoted bodies ($tag$…$tag$, PostgreSQL) are
// skipped whole, and `::` is a cast. It never panics and never looks back
// more than one byte, so it is linear in the text.
func scan(text, engine string) scanResult {
	pg := engine != EngineSQLite
	res := scanResult{End: len(text), Second: -1}
	ended := false
	fail := func(at int, format string, args ...any) {
		res.Problems = append(res.Problems, offsetProblem{At: at, Message: textf.Sprintf(format, args...)})
	}
	i := 0
	for i < len(text) {
		c := text[i]
		if ended {
			// After the statement's ';': only blanks, comments and more ';'.
			switch {
			case isSpace(c) || c == ';':
				i++
				continue
			case c == '-' && strings.HasPrefix(text[i:], "--"):
				i = lineEnd(text, i)
				continue
			case c == '/' && strings.HasPrefix(text[i:], "/*"):
				j, ok := blockEnd(text, i, pg)
				if !ok {
					fail(i, "unterminated /* comment")
				}
				i = j
				continue
			}
			res.Second = i
			return res
		}
		switch {
		case c == ';':
			res.End = i
			ended = true
			i++
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			i = lineEnd(text, i)
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			j, ok := blockEnd(text, i, pg)
			if !ok {
				fail(i, "unterminated /* comment")
			}
			i = j
		case c == '\'':
			j, ok := quoted(text, i, '\'', false)
			if !ok {
				fail(i, "unterminated string literal")
			}
			i = j
		case pg && (c == 'e' || c == 'E') && i+1 < len(text) && text[i+1] == '\'' && !identBefore(text, i):
			j, ok := quoted(text, i+1, '\'', true)
			if !ok {
				fail(i, "unterminated string literal")
			}
			i = j
		case c == '"':
			j, ok := quoted(text, i, '"', false)
			if !ok {
				fail(i, "unterminated quoted identifier")
			}
			i = j
		case !pg && c == '`':
			j, ok := quoted(text, i, '`', false)
			if !ok {
				fail(i, "unterminated quoted identifier")
			}
			i = j
		case !pg && c == '[':
			j := strings.IndexByte(text[i+1:], ']')
			if j < 0 {
				fail(i, "unterminated [quoted identifier]")
				i = len(text)
			} else {
				i += j + 2
			}
		case c == '$':
			i = dollar(text, i, pg, fail)
		case !pg && (c == '?' || c == '@'):
			fail(i, "%q parameters are not allowed: bind values with :name", string(c))
			i++
		case c == ':':
			if i+1 < len(text) && text[i+1] == ':' {
				i += 2 // a cast
				continue
			}
			if i+1 >= len(text) || !isIdentStart(text[i+1]) {
				i++ // a slice bound, := inside code …: not a bind
				continue
			}
			b, j, msg := bind(text, i)
			if msg != "" {
				fail(i, "%s", msg)
			} else {
				res.Binds = append(res.Binds, b)
			}
			i = j
		case isIdentStart(c) || c >= 0x80:
			// Skip a whole word so that E in "TABLE" or a $ inside an
			// identifier (PostgreSQL allows it after the first letter) is not
			// mistaken for a literal's start.
			i++
			for i < len(text) && (isIdentPart(text[i]) || text[i] == '$' || text[i] >= 0x80) {
				i++
			}
		default:
			i++
		}
	}
	return res
}

// bind reads the bind starting at text[i] == ':' (an identifier follows).
// Params are one identifier; :auth.sub, :auth.roles and :auth.claims.<name>
// are the caller's.
func bind(text string, i int) (bindRef, int, string) {
	j := identEnd(text, i+1)
	name := text[i+1 : j]
	if name != "auth" {
		return bindRef{Key: name, Start: i, End: j}, j, ""
	}
	// :auth.<part>(.<part>)
	var parts []string
	for j < len(text) && text[j] == '.' && j+1 < len(text) && isIdentStart(text[j+1]) {
		k := identEnd(text, j+1)
		parts = append(parts, text[j+1:k])
		j = k
	}
	switch {
	case len(parts) == 1 && (parts[0] == "sub" || parts[0] == "roles"):
		return bindRef{Key: parts[0], Auth: true, Start: i, End: j}, j, ""
	case len(parts) == 2 && parts[0] == "claims":
		return bindRef{Key: "claims." + parts[1], Auth: true, Start: i, End: j}, j, ""
	}
	return bindRef{}, j, textf.Sprintf("unknown bind %q: the caller's binds are :auth.sub, :auth.roles and :auth.claims.<name>", clipText(text[i:j]))
}

// dollar handles a '$' at text[i]: a dollar-quoted body on PostgreSQL
// ($$…$$, $tag$…$tag$) is skipped; a positional parameter ($1, or $name on
// SQLite) is refused, since the compiled statement's parameters are
// Santokit's own.
func dollar(text string, i int, pg bool, fail func(int, string, ...any)) int {
	j := i + 1
	if j < len(text) && text[j] >= '0' && text[j] <= '9' {
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		fail(i, "positional parameter %s is not allowed: bind values with :name", clipText(text[i:j]))
		return j
	}
	if !pg {
		if j < len(text) && isIdentStart(text[j]) {
			fail(i, "$name parameters are not allowed: bind values with :name")
			return identEnd(text, j)
		}
		return j
	}
	k := j
	if k < len(text) && isIdentStart(text[k]) {
		k = identEnd(text, k)
	}
	if k >= len(text) || text[k] != '$' {
		return j // a lone '$': let the database judge it
	}
	tag := text[i : k+1]
	end := strings.Index(text[k+1:], tag)
	if end < 0 {
		fail(i, "unterminated dollar-quoted string %s", clipText(tag))
		return len(text)
	}
	return k + 1 + end + len(tag)
}

// quoted returns the offset after the literal opened at text[i] == q; a
// doubled q is an escaped q, and with backslash a '\' escapes the next byte
// (E'…'). ok=false when it runs to the end.
func quoted(text string, i int, q byte, backslash bool) (int, bool) {
	j := i + 1
	for j < len(text) {
		switch text[j] {
		case '\\':
			if backslash {
				j += 2
				continue
			}
		case q:
			if j+1 < len(text) && text[j+1] == q {
				j += 2
				continue
			}
			return j + 1, true
		}
		j++
	}
	return len(text), false
}

// blockEnd returns the offset after the block comment opened at text[i];
// PostgreSQL nests them, SQLite does not.
func blockEnd(text string, i int, nested bool) (int, bool) {
	depth := 1
	j := i + 2
	for j < len(text) {
		switch {
		case nested && strings.HasPrefix(text[j:], "/*"):
			depth++
			j += 2
		case strings.HasPrefix(text[j:], "*/"):
			depth--
			j += 2
			if depth == 0 {
				return j, true
			}
		default:
			j++
		}
	}
	return len(text), false
}

func lineEnd(text string, i int) int {
	if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(text)
}

func identEnd(text string, i int) int {
	for i < len(text) && isIdentPart(text[i]) {
		i++
	}
	return i
}

// identBefore reports whether text[i] continues a word (so an 'E' there is
// not a string prefix).
func identBefore(text string, i int) bool {
	return i > 0 && (isIdentPart(text[i-1]) || text[i-1] == '$' || text[i-1] >= 0x80)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// clipText bounds user text quoted in a message.
func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// placeholder is the engine's positional parameter n (1-based).
func placeholder(engine string, n int) string {
	if engine == EngineSQLite {
		return "?" + strconv.Itoa(n)
	}
	return "$" + strconv.Itoa(n)
}
