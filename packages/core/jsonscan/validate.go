package jsonscan

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/santokit/santokit/packages/core/apierr"
)

// MaxDepth bounds how deeply arrays and objects may nest in a validated
// text. The validator recurses once per level; the bound keeps a 1 MiB body
// of brackets from growing a request's stack to megabytes. Nothing Santokit
// reads nests beyond a few levels (a where filter stops at 8).
const MaxDepth = 1000

// Kind classifies why Validate refused a text.
type Kind uint8

const (
	// Syntax: not JSON at all (RFC 8259 grammar).
	Syntax Kind = iota + 1
	// InvalidUTF8: bytes that are not UTF-8, inside or outside a string.
	InvalidUTF8
	// LoneSurrogate: a \uD800–\uDFFF escape that is not half of a pair,
	// which decoders silently turn into U+FFFD.
	LoneSurrogate
	// DuplicateKey: an object names one member twice, so that readers
	// disagree on which one counts (the first or the last).
	DuplicateKey
	// TooDeep: nesting beyond MaxDepth.
	TooDeep
)

// Error says where and why a text is not strict JSON.
type Error struct {
	Kind Kind
	// Offset is the byte offset of the problem in the text.
	Offset int
	// Path locates the value holding the problem: "" for the top level,
	// else member names and array indexes, as in params.data[2].name.
	Path string
	// Msg says what is wrong, naming the key of a duplicate.
	Msg string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg + " at byte " + strconv.Itoa(e.Offset)
	}
	return e.Msg + " in " + e.Path + " at byte " + strconv.Itoa(e.Offset)
}

// Validate reports whether b holds exactly one JSON value (surrounded by
// optional whitespace) that is strict in the sense of I-JSON (RFC 7493):
// well-formed (RFC 8259), UTF-8 throughout, no escape that decodes to a lone
// surrogate, and no object with two members of the same name (compared
// after unescaping, exactly). encoding/json accepts all of these, repairing
// bad text to U+FFFD and letting the last duplicate win — so two readers of
// one request (a proxy, the server) could see different requests.
//
// It makes one pass and does not allocate unless an object has more than
// 16 members or a key with escapes, or the text is refused.
func Validate(b []byte) error {
	v := validator{b: b}
	i, err := v.value(SkipWS(b, 0), 0)
	if err != nil {
		return err
	}
	if i = SkipWS(b, i); i != len(b) {
		return v.fail(Syntax, i, "unexpected "+v.what(i)+" after the JSON value: exactly one value is allowed")
	}
	return nil
}

type validator struct{ b []byte }

func (v *validator) fail(k Kind, at int, msg string) *Error {
	return &Error{Kind: k, Offset: at, Msg: msg}
}

// what describes the byte at i for a syntax error.
func (v *validator) what(i int) string {
	if i >= len(v.b) {
		return "end of input"
	}
	c := v.b[i]
	if c > 0x20 && c < 0x7f {
		return "character " + strconv.QuoteRune(rune(c))
	}
	if c >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(v.b[i:]); r == utf8.RuneError {
			return "invalid UTF-8 byte 0x" + strconv.FormatUint(uint64(c), 16)
		}
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

func (v *validator) syntax(at int, expected string) *Error {
	k := Syntax
	if at < len(v.b) && v.b[at] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(v.b[at:]); r == utf8.RuneError {
			k = InvalidUTF8
		}
	}
	return v.fail(k, at, "unexpected "+v.what(at)+", expected "+expected)
}

func (v *validator) value(i, depth int) (int, *Error) {
	b := v.b
	if i >= len(b) {
		return i, v.syntax(i, "a JSON value")
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return i, v.fail(TooDeep, i, "arrays and objects nest deeper than "+strconv.Itoa(MaxDepth)+" levels")
		}
		if c == '{' {
			return v.object(i, depth+1)
		}
		return v.array(i, depth+1)
	case c == '"':
		end, _, err := v.str(i)
		return end, err
	case c == 't':
		return v.literal(i, "true")
	case c == 'f':
		return v.literal(i, "false")
	case c == 'n':
		return v.literal(i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return v.number(i)
	}
	return i, v.syntax(i, "a JSON value")
}

func (v *validator) literal(i int, word string) (int, *Error) {
	if !bytes.HasPrefix(v.b[i:], []byte(word)) {
		return i, v.syntax(i, "a JSON value")
	}
	return i + len(word), nil
}

func (v *validator) number(i int) (int, *Error) {
	b := v.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, v.syntax(i, "a digit")
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, v.syntax(i, "a digit after the decimal point")
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, v.syntax(i, "a digit in the exponent")
		}
		i = digits(b, i)
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// str checks the string starting at b[i] == '"' and returns the index
// after it, and whether it holds escapes.
func (v *validator) str(i int) (end int, escaped bool, err *Error) {
	b := v.b
	for i++; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, v.syntax(i+1, "an escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(b, i+2)
				if !ok {
					return i, escaped, v.fail(Syntax, i, `invalid \u escape: four hex digits expected`)
				}
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return i, escaped, v.fail(LoneSurrogate, i, `lone surrogate escape `+string(b[i:i+6])+` (a low surrogate without a high one)`)
				case r >= 0xD800 && r <= 0xDBFF:
					if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
							i += 12
							continue
						}
					}
					return i, escaped, v.fail(LoneSurrogate, i, `lone surrogate escape `+string(b[i:i+6])+` (a high surrogate not followed by a low one)`)
				}
				i += 6
			default:
				return i, escaped, v.syntax(i+1, `an escape (\" \\ \/ \b \f \n \r \t \uXXXX)`)
			}
		case c < 0x20:
			return i, escaped, v.fail(Syntax, i, "control character 0x"+strconv.FormatUint(uint64(c), 16)+" in a string: escape it")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, v.fail(InvalidUTF8, i, "invalid UTF-8 in a string")
			}
			i += size
		}
	}
	return i, escaped, v.syntax(i, `a closing '"'`)
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (v *validator) array(i, depth int) (int, *Error) {
	b := v.b
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		var err *Error
		if i, err = v.value(i, depth); err != nil {
			err.Path = joinIndex(n, err.Path)
			return i, err
		}
		i = SkipWS(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = SkipWS(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, nil
		default:
			return i, v.syntax(i, "',' or ']'")
		}
	}
}

// smallObject is how many keys an object's duplicate check compares
// pairwise, in a stack array, before it switches to a map.
const smallObject = 16

// key is a member name: b[lo:hi] between its quotes.
type key struct {
	lo, hi  int
	escaped bool
}

func (v *validator) object(i, depth int) (int, *Error) {
	b := v.b
	var small [smallObject]key
	var big map[string]struct{}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		if i >= len(b) || b[i] != '"' {
			return i, v.syntax(i, "a member name in double quotes")
		}
		end, escaped, err := v.str(i)
		if err != nil {
			err.Msg += " (a member name)"
			return end, err
		}
		k := key{i + 1, end - 1, escaped}
		switch {
		case n < smallObject:
			for _, o := range small[:n] {
				if v.sameKey(o, k) {
					return i, v.duplicate(i, k)
				}
			}
			small[n] = k
		default:
			if big == nil {
				big = make(map[string]struct{}, 2*smallObject)
				for _, o := range small {
					big[v.keyText(o)] = struct{}{}
				}
			}
			t := v.keyText(k)
			if _, dup := big[t]; dup {
				return i, v.duplicate(i, k)
			}
			big[t] = struct{}{}
		}
		i = SkipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, v.syntax(i, "':' after a member name")
		}
		if i, err = v.value(SkipWS(b, i+1), depth); err != nil {
			err.Path = joinKey(clipKey(v.keyText(k)), err.Path)
			return i, err
		}
		i = SkipWS(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = SkipWS(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, nil
		default:
			return i, v.syntax(i, "',' or '}'")
		}
	}
}

func (v *validator) duplicate(at int, k key) *Error {
	return v.fail(DuplicateKey, at, "duplicate key "+strconv.Quote(clipKey(v.keyText(k))))
}

// sameKey compares two member names as decoded text; raw bytes suffice
// unless one holds an escape ("a" and "\u0061" are one name).
func (v *validator) sameKey(a, b key) bool {
	if !a.escaped && !b.escaped {
		return bytes.Equal(v.b[a.lo:a.hi], v.b[b.lo:b.hi])
	}
	return v.keyText(a) == v.keyText(b)
}

// keyText is the decoded member name (already validated).
func (v *validator) keyText(k key) string {
	return Unquote(v.b[k.lo:k.hi])
}

// clipKey keeps member names in messages short.
func clipKey(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func joinKey(k, rest string) string {
	switch {
	case rest == "":
		return k
	case rest[0] == '[':
		return k + rest
	}
	return k + "." + rest
}

func joinIndex(n int, rest string) string {
	idx := "[" + strconv.Itoa(n) + "]"
	switch {
	case rest == "":
		return idx
	case rest[0] == '[':
		return idx + rest
	}
	return idx + "." + rest
}

// BadRequest is the §3 answer to a text Validate refused: a 400 whose
// message says what is wrong and where (doc names the text, as in
// "request body"), with the location in details.problems. within prefixes
// the path when the text is part of a larger document ("params").
// Anything else than an *Error is a plain 400 naming doc.
func BadRequest(err error, doc, within string) *apierr.Error {
	var e *Error
	if !errors.As(err, &e) {
		return apierr.New(apierr.BadRequest, "%s is not valid JSON", doc)
	}
	path := e.Path
	if within != "" {
		path = joinKey(within, path)
	}
	where := ""
	if path != "" {
		where = " in " + path
	}
	return apierr.New(apierr.BadRequest, "%s is not valid JSON: %s%s (byte %d)", doc, e.Msg, where, e.Offset).
		WithDetail("problems", []apierr.Problem{{Path: path, Message: e.Msg}})
}
