package execute

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/schema"
)

// The JSON encoding of values by normalized type (SPEC §4.5), the same on
// both engines: integers as numbers (beyond ±(2^53−1) as strings), numeric
// as strings, float as numbers (NaN and ±Infinity, which JSON lacks, as
// strings), boolean true/false, timestamptz as RFC 3339 in UTC, timestamp
// (no zone) as RFC 3339 without an offset, date and time as strings, uuid
// as strings, bytea as base64, json/jsonb embedded, arrays as arrays; text
// and other as strings. Values are appended to a byte slice: no per-row
// maps, no reflection.

const maxSafeInt = 1<<53 - 1

// appendPG appends the JSON form of one PostgreSQL value in text format
// (the executor asks for text results; the session runs with TimeZone=UTC,
// DateStyle=ISO and bytea_output=hex). raw == nil is SQL NULL.
func appendPG(dst []byte, typ string, raw []byte) []byte {
	if raw == nil {
		return append(dst, "null"...)
	}
	if elem, ok := schema.ElemType(typ); ok {
		if out, ok := appendPGArray(dst, elem, raw); ok {
			return out
		}
		return jsonscan.AppendString(dst, raw)
	}
	switch typ {
	case schema.Integer, schema.Bigint:
		return appendIntText(dst, raw)
	case schema.Numeric:
		return jsonscan.AppendString(dst, raw)
	case schema.Float:
		return appendFloatText(dst, raw)
	case schema.Boolean:
		if len(raw) == 1 && raw[0] == 't' {
			return append(dst, "true"...)
		}
		if len(raw) == 1 && raw[0] == 'f' {
			return append(dst, "false"...)
		}
		return jsonscan.AppendString(dst, raw)
	case schema.Timestamptz:
		return appendPGTimestamptz(dst, raw)
	case schema.Timestamp:
		return appendPGTimestamp(dst, raw)
	case schema.JSON, schema.JSONB:
		// PostgreSQL only stores valid JSON; json keeps the text as given.
		return append(dst, raw...)
	case schema.Bytea:
		if len(raw) >= 2 && raw[0] == '\\' && raw[1] == 'x' {
			b := make([]byte, hex.DecodedLen(len(raw)-2))
			if _, err := hex.Decode(b, raw[2:]); err == nil {
				return appendBase64(dst, b)
			}
		}
		return appendBase64(dst, raw)
	default: // text, date, time, uuid, other
		return jsonscan.AppendString(dst, raw)
	}
}

// appendIntText appends a decimal integer as a number, or as a string when
// JavaScript could not hold it exactly.
func appendIntText(dst []byte, raw []byte) []byte {
	if len(raw) <= 15 && isInt(raw) {
		return append(dst, raw...) // at most 15 digits: below 2^53
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return jsonscan.AppendString(dst, raw)
	}
	return appendInt(dst, n)
}

func isInt(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func appendInt(dst []byte, n int64) []byte {
	if n > maxSafeInt || n < -maxSafeInt {
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, '"')
	}
	return strconv.AppendInt(dst, n, 10)
}

func appendFloatText(dst []byte, raw []byte) []byte {
	// PostgreSQL prints NaN, Infinity and -Infinity, which JSON lacks;
	// everything else it prints is a valid JSON number.
	if len(raw) > 0 && (raw[0] >= '0' && raw[0] <= '9' || raw[0] == '-' && len(raw) > 1 && raw[1] >= '0' && raw[1] <= '9') {
		if json.Valid(raw) {
			return append(dst, raw...)
		}
	}
	return jsonscan.AppendString(dst, raw)
}

func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		switch {
		case math.IsNaN(f):
			return append(dst, `"NaN"`...)
		case f > 0:
			return append(dst, `"Infinity"`...)
		default:
			return append(dst, `"-Infinity"`...)
		}
	}
	// The shortest form that reads back as the same float64, as JSON
	// writers do (exponent only for very large or small magnitudes).
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendPGTimestamptz turns "2024-01-02 03:04:05.123456+00" (TimeZone is
// UTC) into "2024-01-02T03:04:05.123456Z". Anything else (infinity, BC
// dates, another offset) is parsed when possible, else passed as a string.
func appendPGTimestamptz(dst []byte, raw []byte) []byte {
	if n := len(raw); n >= 22 && raw[10] == ' ' && bytes.HasSuffix(raw, []byte("+00")) {
		dst = append(dst, '"')
		dst = append(dst, raw[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, raw[11:n-3]...)
		return append(dst, `Z"`...)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999-07:00:00"} {
		if t, err := time.Parse(layout, string(raw)); err == nil {
			return appendTime(dst, t.UTC(), true)
		}
	}
	return jsonscan.AppendString(dst, raw)
}

// appendPGTimestamp turns "2024-01-02 03:04:05.5" into "2024-01-02T03:04:05.5".
func appendPGTimestamp(dst []byte, raw []byte) []byte {
	if len(raw) >= 19 && raw[10] == ' ' && raw[4] == '-' {
		dst = append(dst, '"')
		dst = append(dst, raw[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, raw[11:]...)
		return append(dst, '"')
	}
	return jsonscan.AppendString(dst, raw)
}

func appendTime(dst []byte, t time.Time, zone bool) []byte {
	dst = append(dst, '"')
	if zone {
		dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	} else {
		dst = t.AppendFormat(dst, "2006-01-02T15:04:05.999999999")
	}
	return append(dst, '"')
}

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendPGArray encodes a PostgreSQL array literal ({1,2}, {"a b",NULL},
// {{1,2},{3,4}}, [0:1]={1,2}) as a JSON array whose elements are encoded by
// elem. ok is false when raw is not an array literal.
func appendPGArray(dst []byte, elem string, raw []byte) ([]byte, bool) {
	if len(raw) > 0 && raw[0] == '[' {
		// Explicit bounds: "[1:2][0:1]={...}".
		i := bytes.IndexByte(raw, '=')
		if i < 0 {
			return dst, false
		}
		raw = raw[i+1:]
	}
	p := arrayParser{src: raw, elem: elem}
	out, ok := p.value(dst, 0)
	if !ok || p.pos != len(p.src) {
		return dst, false
	}
	return out, true
}

type arrayParser struct {
	src  []byte
	pos  int
	elem string
	tmp  []byte
}

const maxArrayDepth = 6 // PostgreSQL's MAXDIM

func (p *arrayParser) value(dst []byte, depth int) ([]byte, bool) {
	if depth > maxArrayDepth || p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return dst, false
	}
	p.pos++
	dst = append(dst, '[')
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, ']'), true
	}
	for first := true; ; first = false {
		if !first {
			dst = append(dst, ',')
		}
		if p.pos >= len(p.src) {
			return dst, false
		}
		var ok bool
		switch p.src[p.pos] {
		case '{':
			dst, ok = p.value(dst, depth+1)
		case '"':
			dst, ok = p.quoted(dst)
		default:
			dst, ok = p.bare(dst)
		}
		if !ok || p.pos >= len(p.src) {
			return dst, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

func (p *arrayParser) quoted(dst []byte) ([]byte, bool) {
	p.pos++ // opening quote
	p.tmp = p.tmp[:0]
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) {
				return dst, false
			}
			p.tmp = append(p.tmp, p.src[p.pos+1])
			p.pos += 2
		case '"':
			p.pos++
			return appendPG(dst, p.elem, p.tmp), true
		default:
			p.tmp = append(p.tmp, c)
			p.pos++
		}
	}
	return dst, false
}

func (p *arrayParser) bare(dst []byte) ([]byte, bool) {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ',' && p.src[p.pos] != '}' {
		p.pos++
	}
	v := p.src[start:p.pos]
	if len(v) == 0 {
		return dst, false
	}
	if len(v) == 4 && (string(v) == "NULL" || string(v) == "null") {
		return append(dst, "null"...), true
	}
	return appendPG(dst, p.elem, v), true
}

// appendSQLite appends the JSON form of one value read from SQLite, whose
// storage classes (integer, real, text, blob, null) are converted by the
// column's normalized type. The driver may have turned TEXT in DATE,
// DATETIME and TIMESTAMP columns into time.Time.
func appendSQLite(dst []byte, typ string, v any) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	if elem, ok := schema.ElemType(typ); ok {
		return appendSQLiteArray(dst, elem, v)
	}
	switch typ {
	case "": // no declared type (an expression): by storage class
		switch x := v.(type) {
		case int64:
			return appendInt(dst, x)
		case float64:
			return appendFloat(dst, x)
		case []byte:
			return appendBase64(dst, x)
		}
	case schema.Integer, schema.Bigint:
		switch x := v.(type) {
		case int64:
			return appendInt(dst, x)
		case float64:
			if x == math.Trunc(x) && math.Abs(x) <= maxSafeInt {
				return strconv.AppendInt(dst, int64(x), 10)
			}
			return appendFloat(dst, x)
		case bool:
			return appendBool01(dst, x)
		}
		if s, ok := textOf(v); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return appendInt(dst, n)
			}
			return jsonscan.AppendString(dst, s)
		}
	case schema.Numeric:
		switch x := v.(type) {
		case int64:
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, x, 10)
			return append(dst, '"')
		case float64:
			dst = append(dst, '"')
			dst = strconv.AppendFloat(dst, x, 'f', -1, 64)
			return append(dst, '"')
		}
	case schema.Float:
		switch x := v.(type) {
		case float64:
			return appendFloat(dst, x)
		case int64:
			return appendFloat(dst, float64(x))
		}
		if s, ok := textOf(v); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return appendFloat(dst, f)
			}
			return jsonscan.AppendString(dst, s)
		}
	case schema.Boolean:
		switch x := v.(type) {
		case int64:
			return appendBool01(dst, x != 0)
		case float64:
			return appendBool01(dst, x != 0)
		case bool:
			return appendBool01(dst, x)
		}
		if s, ok := textOf(v); ok {
			if b, err := strconv.ParseBool(s); err == nil {
				return appendBool01(dst, b)
			}
			return jsonscan.AppendString(dst, s)
		}
	case schema.Timestamptz, schema.Timestamp, schema.Date, schema.Time:
		return appendSQLiteTime(dst, typ, v)
	case schema.JSON, schema.JSONB:
		// json_extract and numeric affinity store JSON scalars as SQLite
		// numbers: they are the JSON values themselves.
		switch x := v.(type) {
		case int64:
			return appendInt(dst, x)
		case float64:
			return appendFloat(dst, x)
		}
		if b, ok := bytesOf(v); ok {
			if json.Valid(b) {
				return append(dst, bytes.TrimSpace(b)...)
			}
			return jsonscan.AppendString(dst, b)
		}
	case schema.Bytea:
		if b, ok := bytesOf(v); ok {
			return appendBase64(dst, b)
		}
	}
	return appendScalarText(dst, v)
}

// appendScalarText writes any SQLite value as a string (text, uuid,
// other, and the fallbacks of the other types).
func appendScalarText(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return jsonscan.AppendString(dst, x)
	case []byte:
		return jsonscan.AppendString(dst, x)
	case int64:
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, x, 10)
		return append(dst, '"')
	case float64:
		dst = append(dst, '"')
		dst = strconv.AppendFloat(dst, x, 'g', -1, 64)
		return append(dst, '"')
	case bool:
		return jsonscan.AppendString(dst, strconv.FormatBool(x))
	case time.Time:
		return appendTime(dst, x, true)
	default:
		return append(dst, "null"...)
	}
}

func appendBool01(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func bytesOf(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case string:
		return []byte(x), true
	}
	return nil, false
}

// sqliteTimeLayouts are the text forms SQLite's date functions produce and
// accept (https://www.sqlite.org/lang_datefunc.html), plus RFC 3339.
var sqliteTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

func appendSQLiteTime(dst []byte, typ string, v any) []byte {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case int64:
		if typ == schema.Timestamptz || typ == schema.Timestamp {
			t = time.Unix(x, 0).UTC() // unixepoch() seconds
		} else {
			return appendScalarText(dst, v)
		}
	default:
		s, ok := textOf(v)
		if !ok {
			return appendScalarText(dst, v)
		}
		if typ == schema.Date || typ == schema.Time {
			return jsonscan.AppendString(dst, s)
		}
		parsed := false
		for _, layout := range sqliteTimeLayouts {
			if p, err := time.Parse(layout, s); err == nil {
				t, parsed = p, true
				break
			}
		}
		if !parsed {
			return jsonscan.AppendString(dst, s)
		}
	}
	switch typ {
	case schema.Timestamptz, schema.Timestamp:
		// Both read in UTC at PostgreSQL's precision (SPEC §4.5): text
		// written with an offset by another program is converted first,
		// as the planner converts input, and a timestamp then drops the
		// zone, so the same row reads the same on both engines.
		return appendTime(dst, t.UTC().Round(time.Microsecond), typ == schema.Timestamptz)
	case schema.Date:
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, "2006-01-02")
		return append(dst, '"')
	default: // time
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, "15:04:05.999999999")
		return append(dst, '"')
	}
}

// appendSQLiteArray: SQLite has no arrays; array columns hold JSON arrays
// as text, whose elements are re-encoded by the element type where JSON
// and the normalized encoding differ (big integers, bytea, booleans).
func appendSQLiteArray(dst []byte, elem string, v any) []byte {
	b, ok := bytesOf(v)
	if !ok {
		return appendScalarText(dst, v)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return jsonscan.AppendString(dst, b)
	}
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONElem(dst, elem, it)
	}
	return append(dst, ']')
}

func appendJSONElem(dst []byte, elem string, raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return append(dst, "null"...)
	}
	if elem == schema.JSON || elem == schema.JSONB {
		return append(dst, raw...)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return append(dst, raw...)
	}
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return appendSQLite(dst, elem, n)
		}
		if f, err := x.Float64(); err == nil {
			return appendSQLite(dst, elem, f)
		}
		return jsonscan.AppendString(dst, string(x))
	case string:
		return appendSQLite(dst, elem, x)
	case bool:
		return appendSQLite(dst, elem, x)
	default: // nested arrays and objects pass through
		return append(dst, raw...)
	}
}
