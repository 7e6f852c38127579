package permissions

import (
	"strings"
	"testing"
)

// TestParseStrictText: what the JSON APIs refuse (issue #11 item 4), the
// permissions YAML refuses too, each at its line and column — invalid
// UTF-8 (which the YAML parser would read as U+FFFD), duplicate keys at
// any depth and lone surrogate escapes (which the parser itself refuses;
// pinned here so that a parser upgrade cannot loosen them).
func TestParseStrictText(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"invalid UTF-8 in a key", "version: 1\ntables:\n  us\xffers:\n    select: [reader]\n", 3, 5, "invalid UTF-8 (byte 0xff)"},
		{"invalid UTF-8 in a comment", "# caf\xc3\nversion: 1\ntables: {}\n", 1, 6, "invalid UTF-8"},
		{"UTF-8 encoded surrogate", "version: 1\ntables:\n  users:\n    select: [\"\xed\xa0\x80\"]\n", 4, 15, "invalid UTF-8"},
		{"duplicate top-level key", "version: 1\nversion: 1\ntables: {}\n", 2, 1, `mapping key "version" already defined`},
		{"duplicate op", "version: 1\ntables:\n  users:\n    select: [reader]\n    select: [admin]\n", 5, 5, `mapping key "select" already defined`},
		{"duplicate key in a flow mapping", "version: 1\ntables:\n  users: {select: [a], select: [b]}\n", 3, 24, `"select" already defined`},
		{"duplicate table through an escape", "version: 1\ntables:\n  \"users\": {}\n  \"us\\x65rs\": {}\n", 4, 3, `"users" already defined`},
		{"lone high surrogate", "version: 1\ntables:\n  users:\n    select: [\"re\\ud800\"]\n", 4, 17, "surrogate"},
	} {
		doc, probs := Parse([]byte(tc.src))
		if doc != nil || len(probs) != 1 {
			t.Errorf("%s: doc %v, problems %v; want no document and one problem", tc.name, doc != nil, probs)
			continue
		}
		if p := probs[0]; p.Line != tc.line || p.Column != tc.col || !strings.Contains(p.Message, tc.msg) {
			t.Errorf("%s: %d:%d %q; want %d:%d containing %q", tc.name, p.Line, p.Column, p.Message, tc.line, tc.col, tc.msg)
		}
	}
	// The parser reads a lone low surrogate as U+FFFD; Parse refuses it
	// where it is written (the document is kept, to report all problems).
	for _, src := range []string{
		"version: 1\ntables:\n  users:\n    select: [reader, \"x\\\"y\", \"re\\udc00\"]\n",
		"version: 1\ntables:\n  users:\n    select: [reader, \"x\\\"y\", \"re\\ud83d\\u0041\"]\n", // the parser's own
	} {
		_, probs := Parse([]byte(src))
		found := false
		for _, p := range probs {
			found = found || p.Line == 4 && p.Column >= 30 && strings.Contains(p.Message, "surrogate")
		}
		if !found {
			t.Errorf("%q: problems %v; want a surrogate problem on line 4", src, probs)
		}
	}
	for _, src := range []string{
		"# café ✓ \\udc00 in a comment\nversion: 1\ntables:\n  users:\n    select: [reader, 'a\\udc00', \"\\ud83d\\ude00\\\\udc00\"]\n",
	} {
		_, probs := Parse([]byte(src))
		for _, p := range probs {
			if strings.Contains(p.Message, "surrogate") || strings.Contains(p.Message, "UTF-8") {
				t.Errorf("%q: %v", src, p)
			}
		}
	}
}
