// Package jsonscan checks that a JSON text is strict (Validate: the one
// check of request bodies on the Hub and the Bridge, SPEC §3, §4.2 step 1),
// then skips over parts of it and walks an object's members without
// decoding them. The Bridge's /call fast path and the planner's params and
// orderBy readers use it to find the raw bytes of a value without the
// allocations of encoding/json; Skip* and Members assume a text Validate
// accepted.
//
// It also decodes and renders JSON values (Decode, Decoder, AppendValue,
// AppendString) exactly as encoding/json does, without reflection: the
// planner links no encoding/json function, which keeps the Worker's wasm
// within its size budget (SPEC §16).
package jsonscan

import "bytes"

// SkipWS returns the index of the first non-whitespace byte at or after i.
func SkipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipString returns the index after the string starting at b[i] == '"'.
func SkipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// SkipValue returns the index after the JSON value starting at b[i].
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = SkipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// Members calls fn, in written order, with the raw key (between its quotes,
// escapes kept) and the raw value of each member of the object that starts
// at b[i] == '{', and returns the index after the object. It stops at the
// first error fn returns and returns that error.
func Members(b []byte, i int, fn func(key, val []byte) error) (int, error) {
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for i < len(b) {
		kEnd := SkipString(b, i)
		v := SkipWS(b, SkipWS(b, kEnd)+1) // past ':'
		vEnd := SkipValue(b, v)
		if err := fn(b[i+1:kEnd-1], b[v:vEnd]); err != nil {
			return vEnd, err
		}
		i = SkipWS(b, vEnd)
		if i >= len(b) || b[i] == '}' {
			return i + 1, nil
		}
		i = SkipWS(b, i+1) // past ','
	}
	return i, nil
}

// Unquote decodes the inside of a JSON string that Validate accepted (the
// bytes between its quotes, as Members gives keys). Text without escapes
// is returned as is, which is the common case and allocates only the
// string.
func Unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	if s, ok := unquote(raw); ok {
		return s
	}
	return string(raw)
}
