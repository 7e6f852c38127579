package plan

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

// The params of Auto CRUD ops (SPEC §4.3).
type param uint8

const (
	pSelect param = iota
	pWhere
	pOrderBy
	pLimit
	pOffset
	pCount
	pData
	pReturning
	nParams
)

func (p param) String() string {
	return [...]string{"select", "where", "orderBy", "limit", "offset", "count", "data", "returning"}[p]
}

func paramOf(key []byte) (param, bool) {
	switch string(key) {
	case "select":
		return pSelect, true
	case "where":
		return pWhere, true
	case "orderBy":
		return pOrderBy, true
	case "limit":
		return pLimit, true
	case "offset":
		return pOffset, true
	case "count":
		return pCount, true
	case "data":
		return pData, true
	case "returning":
		return pReturning, true
	}
	return 0, false
}

// opParams is the set of params an op accepts (op as opIndex).
func opParams(op int) uint16 {
	return [4]uint16{
		1<<pSelect | 1<<pWhere | 1<<pOrderBy | 1<<pLimit | 1<<pOffset | 1<<pCount,
		1<<pData | 1<<pReturning,
		1<<pData | 1<<pWhere | 1<<pReturning,
		1<<pWhere | 1<<pReturning,
	}[op]
}

// params holds the raw JSON value of each param given (sub-slices of the
// request; a JSON null counts as absent).
type params [nParams][]byte

// splitParams reads the params object into its raw values without copying.
// Empty input and null are no params. Params must be strict JSON
// (jsonscan.Validate: a duplicate name, invalid UTF-8 or a lone surrogate
// anywhere in them is 400 naming where), and unknown names are 400.
func splitParams(b []byte, op int, ps *params) error {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return nil
	}
	if err := jsonscan.Validate(b[i:]); err != nil {
		return jsonscan.BadRequest(err, "params", "params")
	}
	if b[i] == 'n' { // null
		return nil
	}
	if b[i] != '{' {
		return badParam("params", "params must be an object")
	}
	_, err := jsonscan.Members(b, i, func(rawKey, val []byte) error {
		p, ok := paramOf(rawKey)
		if !ok && bytes.IndexByte(rawKey, '\\') >= 0 {
			p, ok = paramOf([]byte(jsonscan.Unquote(rawKey)))
		}
		if !ok || opParams(op)&(1<<p) == 0 {
			name := jsonscan.Unquote(rawKey)
			return badParam("params."+name, "unknown param %q for %s", clip(name), opName(op))
		}
		if !(len(val) == 4 && string(val) == "null") {
			ps[p] = val
		}
		return nil
	})
	return err
}

func opName(op int) string { return [4]string{"select", "insert", "update", "delete"}[op] }

// badParam is a 400 naming the param path.
func badParam(path, format string, args ...any) *apierr.Error {
	e := apierr.New(apierr.BadRequest, format, args...)
	return e.WithDetail("problems", []apierr.Problem{{Path: path, Message: e.Message}})
}

// clipLen is how many characters of a user-given name a message repeats.
const clipLen = 60

func clip(s string) string {
	if utf8.RuneCountInString(s) <= clipLen {
		return s
	}
	n := 0
	for i := range s {
		if n == clipLen {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// pathKey appends a JSON key to a problem path (the filter package's style).
func pathKey(base, key string) string {
	plain := key != "" && len(key) <= clipLen
	for i := 0; plain && i < len(key); i++ {
		c := key[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	if plain {
		return base + "." + key
	}
	return base + "[" + strconv.Quote(clip(key)) + "]"
}

func pathIndex(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

// intParam reads an integral JSON number (limit, offset), by the rule of
// integer columns: 1e2 and 10.0 are integers.
func intParam(raw []byte) (int64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, false
	}
	return integral(string(raw))
}

// columnList reads "*" (star=true) or a non-empty array of distinct column
// names.
func columnList(raw []byte, name string) (cols []string, star bool, err error) {
	if raw[0] == '"' {
		if s, err := jsonscan.Decode(raw); err == nil && s == "*" {
			return nil, true, nil
		}
		return nil, false, badParam(name, `%s must be "*" or an array of column names`, name)
	}
	if raw[0] != '[' {
		return nil, false, badParam(name, `%s must be "*" or an array of column names`, name)
	}
	v, err := jsonscan.Decode(raw)
	if err != nil {
		return nil, false, badParam(name, `%s must be "*" or an array of column names`, name)
	}
	list := v.([]any)
	if len(list) == 0 {
		return nil, false, badParam(name, "%s must name at least one column", name)
	}
	cols = make([]string, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, false, badParam(pathIndex(name, i), "%s must hold column names (non-empty strings)", name)
		}
		for _, prev := range cols[:i] {
			if prev == s {
				return nil, false, badParam(pathIndex(name, i), "%s names column %q twice", name, clip(s))
			}
		}
		cols[i] = s
	}
	return cols, false, nil
}

type orderTerm struct {
	col  string
	desc bool
	path string
}

// orderByParam reads {"col": "asc"|"desc", …} (keys in written order) or
// an array of one-key such objects.
func orderByParam(raw []byte) ([]orderTerm, error) {
	const name = "orderBy"
	var out []orderTerm
	readObj := func(b []byte, path string, one bool) error {
		n := 0
		_, err := jsonscan.Members(b, 0, func(k, v []byte) error {
			col := jsonscan.Unquote(k)
			kp := pathKey(path, col)
			dir, err := jsonscan.Decode(v)
			if err != nil || (dir != "asc" && dir != "desc") {
				return badParam(kp, "orderBy direction of %q must be \"asc\" or \"desc\"", clip(col))
			}
			for _, t := range out {
				if t.col == col {
					return badParam(kp, "orderBy names column %q twice", clip(col))
				}
			}
			out = append(out, orderTerm{col: col, desc: dir == "desc", path: kp})
			n++
			return nil
		})
		switch {
		case err != nil:
			return err
		case n == 0:
			return badParam(path, "orderBy entries must be {\"column\": \"asc\"|\"desc\"}")
		case one && n != 1:
			return badParam(path, "each orderBy array entry must have exactly one key")
		}
		return nil
	}
	switch raw[0] {
	case '{':
		if err := readObj(raw, name, false); err != nil {
			return nil, err
		}
	case '[':
		i := jsonscan.SkipWS(raw, 1)
		for k := 0; raw[i] != ']'; k++ {
			end := jsonscan.SkipValue(raw, i)
			if raw[i] != '{' {
				return nil, badParam(pathIndex(name, k), "orderBy array entries must be {\"column\": \"asc\"|\"desc\"}")
			}
			if err := readObj(raw[i:end], pathIndex(name, k), true); err != nil {
				return nil, err
			}
			i = jsonscan.SkipWS(raw, end)
			if raw[i] == ',' {
				i = jsonscan.SkipWS(raw, i+1)
			}
		}
		if len(out) == 0 {
			return nil, badParam(name, "orderBy must not be empty")
		}
	default:
		return nil, badParam(name, "orderBy must be {\"column\": \"asc\"|\"desc\"} or an array of such objects")
	}
	return out, nil
}
