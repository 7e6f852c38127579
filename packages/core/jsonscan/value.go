package jsonscan

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file decodes JSON into the tree encoding/json builds for an `any`
// and renders such trees back, without reflection: the planner is compiled
// to WebAssembly for the Worker (SPEC §16), where encoding/json's reflection
// costs a fifth of the module. Both sides are checked against encoding/json
// by differential tests and fuzz targets (value_test.go); the error texts are
// encoding/json's too, because some of them reach API answers (SPEC §3).
//
// json.Number and json.RawMessage stay the types of numbers and raw values:
// they are plain named types, and the callers of the planner already use
// them.

// maxNesting is encoding/json's bound on nesting (its scanner refuses the
// 10001st level), kept so that the same texts are refused.
const maxNesting = 10000

// SyntaxError is a text that is not JSON, reported as encoding/json's
// json.Unmarshal reports it: the same message, Offset the number of bytes
// read when the error was found (the bad byte included).
type SyntaxError struct {
	Msg    string
	Offset int
	// eof: the input ended inside a value (a streaming Decoder reports
	// io.ErrUnexpectedEOF then, as json.Decoder does).
	eof bool
}

func (e *SyntaxError) Error() string { return e.Msg }

// Decode decodes one JSON value (surrounding whitespace allowed, nothing
// else after it) the way encoding/json decodes into an `any` with
// UseNumber: objects map[string]any (a repeated key: the last wins), arrays
// []any, strings string, numbers json.Number (the literal text), true/false
// bool, null nil. Invalid JSON is a *SyntaxError; invalid UTF-8 and lone
// surrogate escapes in strings become U+FFFD as with encoding/json.
func Decode(raw []byte) (any, error) {
	p := parser{b: raw}
	v, i, err := p.value(SkipWS(raw, 0))
	if err != nil {
		return nil, err
	}
	if i = SkipWS(raw, i); i < len(raw) {
		return nil, p.invalid(i, "after top-level value")
	}
	return v, nil
}

// parser decodes values out of b, reporting errors as encoding/json's
// scanner does.
type parser struct {
	b     []byte
	depth int
}

// invalid reports the byte at i as not allowed in context. At the end of the
// input encoding/json feeds its scanner a space, and reports that.
func (p *parser) invalid(i int, context string) *SyntaxError {
	if i >= len(p.b) {
		return &SyntaxError{Msg: "invalid character ' ' " + context, Offset: len(p.b), eof: true}
	}
	return &SyntaxError{Msg: "invalid character " + quoteChar(p.b[i]) + " " + context, Offset: i + 1}
}

// end reports input that stops where more was needed.
func (p *parser) end() *SyntaxError {
	return &SyntaxError{Msg: "unexpected end of JSON input", Offset: len(p.b), eof: true}
}

// quoteChar is encoding/json's rendering of a byte in a message.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// value decodes the value starting at b[i] (whitespace skipped) and returns
// it with the index after it.
func (p *parser) value(i int) (any, int, *SyntaxError) {
	b := p.b
	if i >= len(b) {
		return nil, i, p.end()
	}
	switch c := b[i]; {
	case c == '{':
		return p.object(i)
	case c == '[':
		return p.array(i)
	case c == '"':
		s, j, err := p.str(i)
		if err != nil {
			return nil, j, err
		}
		return s, j, nil
	case c == 't':
		j, err := p.literal(i, "true")
		return true, j, err
	case c == 'f':
		j, err := p.literal(i, "false")
		return false, j, err
	case c == 'n':
		j, err := p.literal(i, "null")
		return nil, j, err
	case c == '-' || c >= '0' && c <= '9':
		j, err := p.number(i)
		if err != nil {
			return nil, j, err
		}
		return json.Number(b[i:j]), j, nil
	}
	return nil, i, p.invalid(i, "looking for beginning of value")
}

func (p *parser) literal(i int, word string) (int, *SyntaxError) {
	for k := 1; k < len(word); k++ {
		if i+k >= len(p.b) || p.b[i+k] != word[k] {
			return i + k, p.invalid(i+k, "in literal "+word+" (expecting "+quoteChar(word[k])+")")
		}
	}
	return i + len(word), nil
}

func (p *parser) number(i int) (int, *SyntaxError) {
	b := p.b
	if b[i] == '-' {
		if i++; i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, p.invalid(i, "in numeric literal")
		}
	}
	if b[i] == '0' {
		i++
	} else {
		i = digits(b, i)
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, p.invalid(i, "after decimal point in numeric literal")
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, p.invalid(i, "in exponent of numeric literal")
		}
		i = digits(b, i)
	}
	return i, nil
}

// str decodes the string starting at b[i] == '"'. Like encoding/json's
// scanner it accepts any byte but '"', '\\' and controls inside, then
// decodes as encoding/json does (invalid UTF-8 and lone surrogates become
// U+FFFD).
func (p *parser) str(i int) (string, int, *SyntaxError) {
	b := p.b
	start := i + 1
	plain := true // no escapes and no bytes ≥ 0x80
	for i = start; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			raw := b[start:i]
			if plain || !needsUnquote(raw) {
				return string(raw), i + 1, nil
			}
			s, _ := unquote(raw) // the loop checked raw
			return s, i + 1, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return "", i + 1, p.invalid(i+1, "in string escape code")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || !isHex(b[k]) {
						return "", k, p.invalid(k, `in \u hexadecimal character escape`)
					}
				}
				i += 6
			default:
				return "", i + 1, p.invalid(i+1, "in string escape code")
			}
		case c < 0x20:
			return "", i, p.invalid(i, "in string literal")
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			i++
		}
	}
	return "", i, p.end()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// needsUnquote reports whether the inside of a string holds an escape or
// invalid UTF-8, which decoding rewrites.
func needsUnquote(raw []byte) bool {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			return true
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return true
		}
		i += size
	}
	return false
}

// unquote decodes the inside of a string exactly as encoding/json's
// unquote: escapes decoded, a surrogate escape that is not the first half
// of a pair and invalid UTF-8 bytes as U+FFFD. It reports false for what is
// no string's inside (a bad escape, a quote or a control byte).
func unquote(raw []byte) (string, bool) {
	out := make([]byte, 0, len(raw)+utf8.UTFMax)
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return "", false
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(raw, i+2)
				if !ok {
					return "", false
				}
				i += 6
				if r >= 0xD800 && r < 0xE000 {
					if r < 0xDC00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						if lo, ok := hex4(raw, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
							out = utf8.AppendRune(out, (r-0xD800)<<10|(lo-0xDC00)+0x10000)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c == '"' || c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r)
			i += size
		}
	}
	return string(out), true
}

func (p *parser) object(i int) (any, int, *SyntaxError) {
	b := p.b
	if p.depth++; p.depth > maxNesting {
		return nil, i, p.invalid(i, "exceeded max depth")
	}
	m := map[string]any{}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		p.depth--
		return m, i + 1, nil
	}
	for {
		if i >= len(b) {
			return nil, i, p.end()
		}
		if b[i] != '"' {
			return nil, i, p.invalid(i, "looking for beginning of object key string")
		}
		k, j, err := p.str(i)
		if err != nil {
			return nil, j, err
		}
		if i = SkipWS(b, j); i >= len(b) {
			return nil, i, p.end()
		}
		if b[i] != ':' {
			return nil, i, p.invalid(i, "after object key")
		}
		v, j, err := p.value(SkipWS(b, i+1))
		if err != nil {
			return nil, j, err
		}
		m[k] = v
		if i = SkipWS(b, j); i >= len(b) {
			return nil, i, p.end()
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			p.depth--
			return m, i + 1, nil
		default:
			return nil, i, p.invalid(i, "after object key:value pair")
		}
	}
}

func (p *parser) array(i int) (any, int, *SyntaxError) {
	b := p.b
	if p.depth++; p.depth > maxNesting {
		return nil, i, p.invalid(i, "exceeded max depth")
	}
	a := []any{}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		p.depth--
		return a, i + 1, nil
	}
	for {
		v, j, err := p.value(i)
		if err != nil {
			return nil, j, err
		}
		a = append(a, v)
		if i = SkipWS(b, j); i >= len(b) {
			return nil, i, p.end()
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case ']':
			p.depth--
			return a, i + 1, nil
		default:
			return nil, i, p.invalid(i, "after array element")
		}
	}
}

// AppendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false): `"` and `\` with a backslash, controls as \b
// \f \n \r \t or \u00XX, U+2028 and U+2029 as \u2028 and \u2029, and each
// byte of invalid UTF-8 as \ufffd. It takes bytes too, so that encoders of
// driver results (the Bridge's) need not copy them into strings.
func AppendString[T ~string | ~[]byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		// A string of at most UTFMax bytes: the conversion of a []byte
		// does not allocate.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendValue appends v's JSON text to dst exactly as encoding/json's
// Encoder with SetEscapeHTML(false) renders it, without the trailing
// newline. v is a tree of nil, bool, string, json.Number, json.RawMessage,
// float64, float32, the integer types, []any, []string, map[string]any and
// map[string]string (keys sorted); anything else is an error, as are an
// invalid json.Number or json.RawMessage and NaN or ±Inf.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case string:
		return AppendString(dst, v), nil
	case json.Number:
		s := string(v)
		if s == "" {
			s = "0" // encoding/json writes an empty Number as 0
		}
		if !isNumber(s) {
			return dst, &EncodeError{Msg: "invalid number literal " + strconv.Quote(s)}
		}
		return append(dst, s...), nil
	case json.RawMessage:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendCompact(dst, v)
	case float64:
		return appendFloat(dst, v, 64)
	case float32:
		return appendFloat(dst, float64(v), 32)
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendValue(dst, e); err != nil {
				return dst, err.(*EncodeError).at("[" + strconv.Itoa(i) + "]")
			}
		}
		return append(dst, ']'), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e)
		}
		return append(dst, ']'), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(AppendString(dst, k), ':')
			var err error
			if dst, err = AppendValue(dst, v[k]); err != nil {
				return dst, err.(*EncodeError).at("." + strconv.Quote(k))
			}
		}
		return append(dst, '}'), nil
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(append(AppendString(dst, k), ':'), v[k])
		}
		return append(dst, '}'), nil
	}
	return dst, &EncodeError{Msg: "unsupported value"}
}

// EncodeError is a value AppendValue cannot render. Path locates it in the
// tree ("" at the top, else like [2]."name").
type EncodeError struct {
	Msg  string
	Path string
}

func (e *EncodeError) Error() string {
	if e.Path == "" {
		return "jsonscan: " + e.Msg
	}
	return "jsonscan: " + e.Msg + " at " + e.Path
}

func (e *EncodeError) at(step string) *EncodeError {
	e.Path = step + e.Path
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFloat formats as encoding/json does (ES6 number to string): the
// shortest text, exponent form below 1e-6 and from 1e21 on, "e-7" not
// "e-07".
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &EncodeError{Msg: "unsupported value " + strconv.FormatFloat(f, 'g', -1, bits)}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// isNumber reports whether s is exactly one JSON number.
func isNumber(s string) bool {
	p := parser{b: []byte(s)}
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	end, err := p.number(0)
	return err == nil && end == len(s)
}

// appendCompact appends a raw JSON text without its insignificant
// whitespace, as encoding/json does with a json.RawMessage, refusing text
// that is not one JSON value.
func appendCompact(dst []byte, raw []byte) ([]byte, error) {
	if err := (&parser{b: raw}).skipTop(); err != nil {
		return dst, &EncodeError{Msg: "invalid json.RawMessage: " + err.Msg}
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end := SkipString(raw, i)
			dst = append(dst, raw[i:end]...)
			i = end - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

// skipTop checks that b is one JSON value, as Decode does.
func (p *parser) skipTop() *SyntaxError {
	_, i, err := p.value(SkipWS(p.b, 0))
	if err != nil {
		return err
	}
	if i = SkipWS(p.b, i); i < len(p.b) {
		return p.invalid(i, "after top-level value")
	}
	return nil
}
