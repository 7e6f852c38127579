package plan

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// Values are checked against the column's normalized type (SPEC §1, §4.3)
// and turned into the Go value that is bound. Decisions:
//
//   - text, other: a JSON string (no NUL character: PostgreSQL text cannot
//     hold one). other is writable as text (the database's input function
//     parses it) but not filterable or orderable.
//   - integer: an integral JSON number within int32; bigint: an integral JSON
//     number or a decimal integer string within int64 (responses write
//     integers beyond ±(2^53−1) as strings, so they must be accepted back).
//     Bound as int64. A JSON number is integral by its exact decimal value,
//     not by its spelling: 1.0, 1e2, 1.5e1 and -0 are integers (JSON
//     writers produce them, and the value is exact); 1.5 and 1e400 are not.
//     Strings stay plain decimal integers (they are the response's form).
//   - numeric: a JSON number or a numeric string ([+-]digits[.digits][e±n]);
//     NaN and Infinity are refused. PostgreSQL gets the text (exact); SQLite,
//     which stores NUMERIC as INTEGER or REAL anyway, gets int64 or float64.
//   - float: a finite JSON number, bound as float64.
//   - boolean: true/false only; SQLite gets 1/0.
//   - timestamptz: an RFC 3339 date-time with offset ('T' or ' ' between
//     date and time), rounded to microseconds and stored in UTC.
//     timestamp: the same with or without offset; an offset converts the
//     value to UTC wall time (PostgreSQL itself would silently drop it).
//     date: YYYY-MM-DD. time: HH:MM[:SS[.fraction]], no offset (timetz is
//     other). Years 1…9999.
//     PostgreSQL gets ISO text ("2024-05-01T10:00:00.5Z"); SQLite, where
//     they are plain TEXT compared as text, gets SQLite's own format
//     ("2024-05-01 10:00:00.5", UTC, like CURRENT_TIMESTAMP) so that stored,
//     default and filter values compare correctly.
//   - uuid: the 8-4-4-4-12 hex form, either case; bound lower-case.
//   - json, jsonb: any JSON value, bound as JSON text (null is SQL NULL),
//     except one with a NUL character (\u0000) in a string or key: jsonb
//     cannot store it, and $eq compares json as jsonb, so both types refuse
//     it here, naming the column, the same on both engines.
//   - bytea: a base64 string (standard alphabet, padding optional), bound as
//     []byte.
//   - array<T>: a JSON array (nested for several dimensions, at most 6) of
//     T values or nulls. PostgreSQL gets an array literal as text
//     ('{"a","b"}', parsed by the server for any element type, enums
//     included); SQLite gets JSON text.
//
// Strings are bound for every type the server parses itself, because pgx
// sends a Go string in text format to a parameter of any type — which keeps
// unregistered types (enums, domains) working without type registration.

type kind uint8

const (
	kText kind = iota
	kInteger
	kBigint
	kNumeric
	kFloat
	kBoolean
	kTimestamptz
	kTimestamp
	kDate
	kTime
	kUUID
	kJSON
	kJSONB
	kBytea
	kOther
)

// kindOf maps a normalized scalar type to its kind.
func kindOf(t string) (kind, bool) {
	switch t {
	case schema.Text:
		return kText, true
	case schema.Integer:
		return kInteger, true
	case schema.Bigint:
		return kBigint, true
	case schema.Numeric:
		return kNumeric, true
	case schema.Float:
		return kFloat, true
	case schema.Boolean:
		return kBoolean, true
	case schema.Timestamptz:
		return kTimestamptz, true
	case schema.Timestamp:
		return kTimestamp, true
	case schema.Date:
		return kDate, true
	case schema.Time:
		return kTime, true
	case schema.UUID:
		return kUUID, true
	case schema.JSON:
		return kJSON, true
	case schema.JSONB:
		return kJSONB, true
	case schema.Bytea:
		return kBytea, true
	case schema.Other:
		return kOther, true
	}
	return kOther, false
}

// pgFallback names a PostgreSQL type per kind, for a column whose DBType
// cannot be used in SQL text (see safePGType).
func pgFallback(k kind) string {
	return [...]string{
		kText: "text", kInteger: "integer", kBigint: "bigint", kNumeric: "numeric",
		kFloat: "double precision", kBoolean: "boolean", kTimestamptz: "timestamptz",
		kTimestamp: "timestamp", kDate: "date", kTime: "time", kUUID: "uuid", kJSON: "json",
		kJSONB: "jsonb", kBytea: "bytea", kOther: "text",
	}[k]
}

// Filter operator classes a column supports.
type opSet uint8

const (
	opsEq   opSet = 1 << iota // $eq $ne
	opsCmp                    // $gt $gte $lt $lte
	opsIn                     // $in $nin
	opsLike                   // $like $ilike
	opsNull                   // $isNull
)

// names lists the operators of a set, for the hint of an error that
// refuses another one.
func (s opSet) names() string {
	var out []string
	for _, o := range []struct {
		set opSet
		ops string
	}{{opsEq, "$eq, $ne"}, {opsCmp, "$gt, $gte, $lt, $lte"}, {opsIn, "$in, $nin"}, {opsLike, "$like, $ilike"}, {opsNull, "$isNull"}} {
		if s&o.set != 0 {
			out = append(out, o.ops)
		}
	}
	return strings.Join(out, ", ")
}

// colEnv is a snapshot column compiled for planning.
type colEnv struct {
	name      string
	quoted    string
	typ       string // normalized type
	kind      kind   // element kind for arrays
	array     bool
	nullable  bool
	generated bool
	ops       opSet
	orderable bool
	// selExpr is the column in a select or returning list.
	selExpr string
	// recType is the PostgreSQL type of the column in json_to_recordset.
	recType string
}

func compileColumn(eng engine, c *schema.Column) colEnv {
	ce := colEnv{
		name:      c.Name,
		quoted:    quoteIdent(c.Name),
		typ:       c.Type,
		nullable:  c.Nullable,
		generated: c.Generated,
	}
	k, ok := kindOf(c.Type)
	if elem, isArray := schema.ElemType(c.Type); isArray {
		k, ok = kindOf(elem)
		ce.array = ok && k != kOther
	}
	if !ok || (!ce.array && strings.HasPrefix(c.Type, "array<")) {
		k = kOther
	}
	ce.kind = k
	switch {
	case ce.array:
		ce.ops = opsEq | opsNull
	case k == kOther:
		ce.ops = 0
	case k == kJSON || k == kJSONB:
		// Whole JSON values (SPEC §4.4); no $in: a list of JSON values
		// is an $or of $eq (decision 0015).
		ce.ops = opsEq | opsNull
	case k == kBytea:
		ce.ops = opsEq | opsNull
	case k == kBoolean:
		ce.ops = opsEq | opsIn | opsNull
		ce.orderable = true
	case k == kText:
		ce.ops = opsEq | opsCmp | opsIn | opsLike | opsNull
		ce.orderable = true
	default:
		ce.ops = opsEq | opsCmp | opsIn | opsNull
		ce.orderable = true
	}
	ce.selExpr = ce.quoted
	if k == kOther {
		// "readable as text" (SPEC §1): the executor needs no codec for it.
		if eng == enginePostgres {
			ce.selExpr = ce.quoted + "::text AS " + ce.quoted
		} else {
			ce.selExpr = "CAST(" + ce.quoted + " AS TEXT) AS " + ce.quoted
		}
	}
	if safePGType(c.DBType) {
		ce.recType = c.DBType
	} else {
		ce.recType = pgFallback(k)
		if ce.array {
			ce.recType += "[]"
		}
	}
	return ce
}

// safePGType reports whether a snapshot DBType (PostgreSQL's format_type
// output, e.g. `character varying(20)[]`, `public."My Enum"`) can be
// spliced into SQL as a type name: identifiers, quoted identifiers, digits,
// spaces, '.', ',' and balanced () and []. Anything else — a quote, a
// semicolon, a comment — makes the column fall back to the type named by its
// normalized type.
func safePGType(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	parens, brackets := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for {
				if j >= len(s) || s[j] == 0 {
					return false
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$',
			c >= 0x80, c == ' ', c == '.', c == ',':
		case c == '(':
			parens++
		case c == ')':
			if parens--; parens < 0 {
				return false
			}
		case c == '[':
			brackets++
		case c == ']':
			if brackets--; brackets < 0 {
				return false
			}
		default:
			return false
		}
	}
	return parens == 0 && brackets == 0
}

// quoteIdent double-quotes an identifier, doubling inner quotes.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// rawJSON marks JSON text of a json/jsonb value.
type rawJSON []byte

// maxArrayDims is PostgreSQL's MAXDIM.
const maxArrayDims = 6

// value converts a decoded JSON value (json.Number, string, bool, nil,
// []any, map[string]any) for the column: the canonical Go value of
// the type comment above (nil for null, []any of canonical values for
// arrays). The problem string is "" on success, else what was expected.
func (c *colEnv) value(eng engine, v any) (any, string) {
	if v == nil {
		return nil, ""
	}
	if c.array {
		a, ok := v.([]any)
		if !ok {
			return nil, "expected an array"
		}
		return arrayValue(c.kind, eng, a, 1)
	}
	return scalarValue(c.kind, eng, v)
}

func arrayValue(k kind, eng engine, a []any, dim int) (any, string) {
	if dim > maxArrayDims {
		return nil, "expected an array of at most 6 dimensions"
	}
	out := make([]any, len(a))
	for i, el := range a {
		switch el := el.(type) {
		case nil:
		case []any:
			v, p := arrayValue(k, eng, el, dim+1)
			if p != "" {
				return nil, p
			}
			out[i] = v
		default:
			v, p := scalarValue(k, eng, el)
			if p != "" {
				return nil, p + " as array element"
			}
			out[i] = v
		}
	}
	return out, ""
}

// scalarValue converts a non-null value to kind k.
func scalarValue(k kind, eng engine, v any) (any, string) {
	switch k {
	case kText, kOther:
		s, ok := v.(string)
		if !ok {
			return nil, "expected a string"
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, "a string cannot contain the NUL character"
		}
		return s, ""
	case kInteger, kBigint:
		var (
			n  int64
			ok bool
		)
		switch v := v.(type) {
		case json.Number:
			n, ok = integral(string(v))
		case string:
			if k == kInteger {
				return nil, "expected an integer"
			}
			var err error
			n, err = strconv.ParseInt(v, 10, 64)
			ok = err == nil
		default:
			return nil, "expected an integer"
		}
		if !ok || (k == kInteger && (n < math.MinInt32 || n > math.MaxInt32)) {
			if k == kInteger {
				return nil, "expected an integer between -2147483648 and 2147483647"
			}
			return nil, "expected an integer between -9223372036854775808 and 9223372036854775807 (a number or a decimal string)"
		}
		return n, ""
	case kNumeric:
		var text string
		switch v := v.(type) {
		case json.Number:
			text = string(v)
		case string:
			text = v
		default:
			return nil, "expected a number or a numeric string"
		}
		if !isNumeric(text) {
			return nil, "expected a number or a numeric string"
		}
		if eng == enginePostgres {
			return text, ""
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, ""
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, "expected a number within the range of a double"
		}
		return f, ""
	case kFloat:
		n, ok := v.(json.Number)
		if !ok {
			return nil, "expected a number"
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, "expected a number within the range of a double"
		}
		return f, ""
	case kBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, "expected true or false"
		}
		return b, ""
	case kTimestamptz, kTimestamp, kDate, kTime:
		s, ok := v.(string)
		if !ok {
			return nil, temporalProblem(k)
		}
		out, ok := temporal(k, eng, s)
		if !ok {
			return nil, temporalProblem(k)
		}
		return out, ""
	case kUUID:
		s, ok := v.(string)
		if !ok || !logic.IsUUID(s) {
			return nil, "expected a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
		}
		return strings.ToLower(s), ""
	case kJSON, kJSONB:
		if hasNUL(v) {
			return nil, "a JSON string or key cannot contain \\u0000 (PostgreSQL's jsonb cannot store it)"
		}
		b, err := marshalJSON(v)
		if err != nil {
			return nil, "expected a JSON value"
		}
		return rawJSON(b), ""
	case kBytea:
		s, ok := v.(string)
		if !ok {
			return nil, "expected a base64 string"
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(s)
		}
		if err != nil {
			return nil, "expected a base64 string"
		}
		return b, ""
	}
	return nil, "unsupported type"
}

// integral reads a JSON number whose exact decimal value is an integer
// within int64: "1.0", "1e2", "-0", "1.5e1" are; "1.5", "1e-1", "1e400"
// are not. It works on the digits, never through a float, so that every
// int64 is exact and no rounding makes 1.0000000000000000001 an integer.
func integral(s string) (int64, bool) {
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64) // the usual spelling
		return n, err == nil
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, false
	}
	// digits × 10^(e − len(frac)), with digits = intPart‖frac.
	digits := strings.TrimLeft(intPart+frac, "0")
	e := -len(frac)
	if exp != "" {
		x := strings.TrimPrefix(strings.TrimPrefix(exp, "+"), "-")
		if x == "" || !allDigits(x) {
			return 0, false
		}
		x = strings.TrimLeft(x, "0")
		if digits == "" {
			return 0, true // zero, whatever the exponent
		}
		if len(x) > 4 {
			return 0, false // far beyond int64, or far below 1
		}
		n, _ := strconv.Atoi("0" + x)
		if strings.HasPrefix(exp, "-") {
			n = -n
		}
		e += n
	}
	if digits == "" {
		return 0, true
	}
	for e < 0 && strings.HasSuffix(digits, "0") {
		digits, e = digits[:len(digits)-1], e+1
	}
	if e < 0 {
		return 0, false // a fraction remains
	}
	if len(digits)+e > 19 {
		return 0, false // more than int64's 19 digits
	}
	digits += strings.Repeat("0", e)
	if neg {
		digits = "-" + digits
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hasNUL reports whether a decoded JSON value holds a NUL character in a
// string or an object key.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, el := range v {
			if hasNUL(el) {
				return true
			}
		}
	case map[string]any:
		for k, el := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(el) {
				return true
			}
		}
	}
	return false
}

func temporalProblem(k kind) string {
	switch k {
	case kTimestamptz:
		return "expected an RFC 3339 date-time with offset (2006-01-02T15:04:05Z)"
	case kTimestamp:
		return "expected an ISO 8601 date-time (2006-01-02T15:04:05)"
	case kDate:
		return "expected a date (2006-01-02)"
	}
	return "expected a time of day (15:04:05)"
}

// temporal parses and canonicalizes a date/time string (see the type
// comment at the top of this file).
func temporal(k kind, eng engine, s string) (string, bool) {
	switch k {
	case kDate:
		t, err := time.Parse("2006-01-02", s)
		if err != nil || t.Year() < 1 {
			return "", false
		}
		return s, true
	case kTime:
		if len(s) < 5 || strings.ContainsAny(s, "+-Zz") {
			return "", false
		}
		layout := "15:04:05"
		if len(s) == 5 {
			layout = "15:04"
		}
		t, err := time.Parse(layout, s)
		if err != nil {
			return "", false
		}
		return t.Round(time.Microsecond).Format("15:04:05.999999"), true
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if k == kTimestamptz {
			return "", false
		}
		if t, err = time.Parse("2006-01-02T15:04:05", s); err != nil {
			return "", false
		}
	}
	t = t.UTC().Round(time.Microsecond)
	if t.Year() < 1 || t.Year() > 9999 {
		return "", false
	}
	switch {
	case eng == engineSQLite:
		return t.Format("2006-01-02 15:04:05.999999"), true
	case k == kTimestamptz:
		return t.Format("2006-01-02T15:04:05.999999Z07:00"), true
	}
	return t.Format("2006-01-02T15:04:05.999999"), true
}

// isNumeric matches [+-]?(digits[.digits?]|.digits)([eE][+-]?digits)?,
// with at most 4 exponent digits (larger exponents overflow PostgreSQL's
// numeric anyway).
func isNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 4 {
			return false
		}
	}
	return i == len(s)
}

// marshalJSON renders a decoded JSON value as encoding/json's Encoder with
// SetEscapeHTML(false) does, without reflection (jsonscan.AppendValue).
func marshalJSON(v any) ([]byte, error) {
	return jsonscan.AppendValue(nil, v)
}

// bind turns a canonical value into the bound argument for the engine.
func (c *colEnv) bind(eng engine, v any) any { return bindValue(eng, v) }

// bindValue turns a canonical value into the bound argument for the engine:
// arrays as a PostgreSQL array literal or JSON text, json as its text,
// booleans as 1/0 on SQLite.
func bindValue(eng engine, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		if eng == enginePostgres {
			return string(appendPGArray(nil, v))
		}
		return string(appendJSONValue(nil, v, engineSQLite))
	case rawJSON:
		return string(v)
	case bool:
		if eng == engineSQLite {
			if v {
				return int64(1)
			}
			return int64(0)
		}
	}
	return v
}

// appendPGArray renders a PostgreSQL array literal: every element quoted
// (backslash-escaping '"' and '\'), NULL for nulls, bytea as \x hex.
func appendPGArray(b []byte, a []any) []byte {
	b = append(b, '{')
	for i, el := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPGElem(b, el)
	}
	return append(b, '}')
}

func appendPGElem(b []byte, el any) []byte {
	switch el := el.(type) {
	case nil:
		return append(b, "NULL"...)
	case []any:
		return appendPGArray(b, el)
	case string:
		return appendPGQuoted(b, el)
	case int64:
		return strconv.AppendInt(b, el, 10)
	case float64:
		return strconv.AppendFloat(b, el, 'g', -1, 64)
	case bool:
		if el {
			return append(b, 't')
		}
		return append(b, 'f')
	case []byte:
		return appendPGQuoted(b, `\x`+hexString(el))
	case rawJSON:
		return appendPGQuoted(b, string(el))
	}
	return append(b, "NULL"...)
}

func appendPGQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func hexString(p []byte) string {
	b := make([]byte, 2*len(p))
	for i, c := range p {
		b[2*i], b[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return string(b)
}

// appendJSONValue renders a canonical value as JSON. Booleans are
// true/false, bytea is "\x…" hex for PostgreSQL (bytea's text input) and
// base64 for SQLite (inside a JSON array column, as responses encode it).
func appendJSONValue(b []byte, v any, eng engine) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case []any:
		b = append(b, '[')
		for i, el := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, el, eng)
		}
		return append(b, ']')
	case string:
		return jsonscan.AppendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case []byte:
		if eng == enginePostgres {
			return jsonscan.AppendString(b, `\x`+hexString(v))
		}
		return jsonscan.AppendString(b, base64.StdEncoding.EncodeToString(v))
	case rawJSON:
		return append(b, v...)
	}
	return append(b, "null"...)
}
