package filter

import "encoding/json"

// parseFlat parses the most common filter — an object of `"column": scalar`
// equalities, such as a select by primary key — without the token Decoder, whose
// token stream costs a third of a /call's allocations. It returns ok=false
// for anything else (nested values, null, $ keys, escapes, non-ASCII,
// duplicate keys, malformed input, too many entries); Parse then runs the
// full parser, which owns every error. When ok, the tree is exactly the
// full parser's (FuzzFlatMatchesParse checks it).
func parseFlat(src []byte, lim Limits) (*Node, bool) {
	i := skipSpace(src, 0)
	if i >= len(src) || src[i] != '{' {
		return nil, false
	}
	var conds []*Node
	for {
		i = skipSpace(src, i+1)
		key, next, ok := flatString(src, i)
		if !ok || key == "" || key[0] == '$' {
			return nil, false
		}
		for _, c := range conds {
			if c.Column == key {
				return nil, false
			}
		}
		i = skipSpace(src, next)
		if i >= len(src) || src[i] != ':' {
			return nil, false
		}
		i = skipSpace(src, i+1)
		var v any
		switch {
		case i >= len(src):
			return nil, false
		case src[i] == '"':
			s, next, ok := flatString(src, i)
			if !ok {
				return nil, false
			}
			v, i = s, next
		case src[i] == 't' && hasAt(src, i, "true"):
			v, i = true, i+4
		case src[i] == 'f' && hasAt(src, i, "false"):
			v, i = false, i+5
		default:
			end, ok := flatNumber(src, i)
			if !ok {
				return nil, false
			}
			v, i = json.Number(src[i:end]), end
		}
		conds = append(conds, &Node{Kind: KindCond, Column: key, Op: OpEq, Value: v})
		if len(conds) > lim.MaxLeaves {
			return nil, false
		}
		i = skipSpace(src, i)
		if i >= len(src) {
			return nil, false
		}
		if src[i] == ',' {
			continue
		}
		if src[i] != '}' || skipSpace(src, i+1) != len(src) {
			return nil, false
		}
		break
	}
	if len(conds) == 1 {
		return conds[0], true
	}
	return &Node{Kind: KindAnd, Children: conds}, true
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

func hasAt(src []byte, i int, lit string) bool {
	return len(src)-i >= len(lit) && string(src[i:i+len(lit)]) == lit
}

// flatString reads a JSON string at src[i] made only of printable ASCII
// without escapes; anything else is left to the full parser.
func flatString(src []byte, i int) (string, int, bool) {
	if i >= len(src) || src[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(src); j++ {
		switch c := src[j]; {
		case c == '"':
			return string(src[i+1 : j]), j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", 0, false
		}
	}
	return "", 0, false
}

// flatNumber returns the end of a JSON number at src[i] (RFC 8259 grammar).
func flatNumber(src []byte, i int) (int, bool) {
	digits := func(j int) int {
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		return j
	}
	j := i
	if j < len(src) && src[j] == '-' {
		j++
	}
	switch {
	case j < len(src) && src[j] == '0':
		j++
	case j < len(src) && src[j] >= '1' && src[j] <= '9':
		j = digits(j)
	default:
		return 0, false
	}
	if j < len(src) && src[j] == '.' {
		k := digits(j + 1)
		if k == j+1 {
			return 0, false
		}
		j = k
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		k := digits(j)
		if k == j {
			return 0, false
		}
		j = k
	}
	return j, true
}
