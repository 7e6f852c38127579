package plan

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/santokit/santokit/packages/core/schema"
)

func TestTemporal(t *testing.T) {
	for _, tc := range []struct {
		k          kind
		in         string
		pg, sqlite string // "" = invalid
	}{
		{kTimestamptz, "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01 10:00:00"},
		{kTimestamptz, "2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z", "2024-05-01 08:00:00"},
		{kTimestamptz, "2024-05-01 10:00:00.5-01:00", "2024-05-01T11:00:00.5Z", "2024-05-01 11:00:00.5"},
		{kTimestamptz, "2024-05-01T10:00:00.0000004Z", "2024-05-01T10:00:00Z", "2024-05-01 10:00:00"},
		{kTimestamptz, "2024-05-01T10:00:00.9999996Z", "2024-05-01T10:00:01Z", "2024-05-01 10:00:01"},
		{kTimestamptz, "2024-05-01T10:00:00", "", ""},
		{kTimestamptz, "2024-05-01", "", ""},
		{kTimestamptz, "2024-05-01T25:00:00Z", "", ""},
		{kTimestamptz, "0000-12-31T23:00:00Z", "", ""},
		{kTimestamptz, "9999-12-31T23:00:00-02:00", "", ""},
		{kTimestamptz, "", "", ""},
		{kTimestamp, "2024-05-01T10:00:00", "2024-05-01T10:00:00", "2024-05-01 10:00:00"},
		{kTimestamp, "2024-05-01 10:00:00.25", "2024-05-01T10:00:00.25", "2024-05-01 10:00:00.25"},
		{kTimestamp, "2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00", "2024-05-01 08:00:00"},
		{kTimestamp, "2024-05-01T10:00", "", ""},
		{kDate, "2024-02-29", "2024-02-29", "2024-02-29"},
		{kDate, "2023-02-29", "", ""},
		{kDate, "2024-1-01", "", ""},
		{kDate, "2024-01-01T00:00:00Z", "", ""},
		{kTime, "07:30", "07:30:00", "07:30:00"},
		{kTime, "07:30:15.123", "07:30:15.123", "07:30:15.123"},
		{kTime, "23:59:59.9999999", "", ""}, // rounds to 24:00, which Go cannot format as a time of day
		{kTime, "24:00", "", ""},
		{kTime, "7:30", "", ""},
		{kTime, "07:30:00Z", "", ""},
		{kTime, "07:30:00-01", "", ""},
	} {
		for _, eng := range []engine{enginePostgres, engineSQLite} {
			want := tc.pg
			if eng == engineSQLite {
				want = tc.sqlite
			}
			got, ok := temporal(tc.k, eng, tc.in)
			if tc.k == kTime && tc.in == "23:59:59.9999999" {
				// Either refused or wrapped to midnight; never a malformed string.
				if ok && got != "00:00:00" {
					t.Errorf("temporal(time, %q) = %q", tc.in, got)
				}
				continue
			}
			if ok != (want != "") || got != want {
				t.Errorf("temporal(%d, %d, %q) = %q, %v; want %q", tc.k, eng, tc.in, got, ok, want)
			}
		}
	}
}

func TestScalarValues(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	for _, tc := range []struct {
		k          kind
		in         any
		pg, sqlite any // nil: invalid
	}{
		{kText, "a", "a", "a"},
		{kText, n("1"), nil, nil},
		{kInteger, n("-5"), int64(-5), int64(-5)},
		{kInteger, n("2147483647"), int64(2147483647), int64(2147483647)},
		{kInteger, n("2147483648"), nil, nil},
		{kInteger, "5", nil, nil},
		{kBigint, "-9223372036854775808", int64(-9223372036854775808), int64(-9223372036854775808)},
		{kBigint, n("1.0"), int64(1), int64(1)},
		{kBigint, n("1e2"), int64(100), int64(100)},
		{kBigint, n("-0"), int64(0), int64(0)},
		{kBigint, n("1.5e1"), int64(15), int64(15)},
		{kBigint, n("9223372036854775807.000"), int64(9223372036854775807), int64(9223372036854775807)},
		{kBigint, n("-9.223372036854775808e18"), int64(-9223372036854775808), int64(-9223372036854775808)},
		{kBigint, n("9.223372036854775808e18"), nil, nil},
		{kBigint, n("1.5"), nil, nil},
		{kBigint, n("1e400"), nil, nil},
		{kBigint, n("1e-400"), nil, nil},
		{kBigint, n("0e400"), int64(0), int64(0)},
		{kBigint, n("1.0000000000000000001"), nil, nil},
		{kBigint, "1e2", nil, nil},
		{kInteger, n("2.147483647e9"), int64(2147483647), int64(2147483647)},
		{kInteger, n("2.147483648e9"), nil, nil},
		{kBigint, " 1", nil, nil},
		{kNumeric, n("1.50"), "1.50", 1.5},
		{kNumeric, n("12"), "12", int64(12)},
		{kNumeric, "-.5e2", "-.5e2", -50.0},
		{kNumeric, "1e999999", nil, nil},
		{kNumeric, "1e400", "1e400", nil},
		{kNumeric, "Infinity", nil, nil},
		{kNumeric, "1.", "1.", 1.0},
		{kNumeric, ".", nil, nil},
		{kNumeric, "", nil, nil},
		{kFloat, n("1e-3"), 0.001, 0.001},
		{kFloat, n("7"), 7.0, 7.0},
		{kBoolean, true, true, true},
		{kBoolean, "true", nil, nil},
		{kUUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{kUUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11", nil, nil},
		{kUUID, "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", nil, nil},
		{kJSON, map[string]any{"b": n("1.0"), "a": "<&>"}, rawJSON(`{"a":"<&>","b":1.0}`), rawJSON(`{"a":"<&>","b":1.0}`)},
		{kJSONB, "s", rawJSON(`"s"`), rawJSON(`"s"`)},
		{kJSONB, "a\x00", nil, nil},
		{kJSON, []any{map[string]any{"k\x00": n("1")}}, nil, nil},
		{kJSON, map[string]any{"k": []any{"ok", "x\x00"}}, nil, nil},
		{kBytea, "aGk=", []byte("hi"), []byte("hi")},
		{kBytea, "aGk", []byte("hi"), []byte("hi")},
		{kBytea, 5, nil, nil},
		{kOther, "1 day", "1 day", "1 day"},
	} {
		for _, eng := range []engine{enginePostgres, engineSQLite} {
			want := tc.pg
			if eng == engineSQLite {
				want = tc.sqlite
			}
			got, prob := scalarValue(tc.k, eng, tc.in)
			if want == nil {
				if prob == "" {
					t.Errorf("scalarValue(%d, %d, %#v) = %#v; want a problem", tc.k, eng, tc.in, got)
				}
				continue
			}
			if prob != "" || !reflect.DeepEqual(got, want) {
				t.Errorf("scalarValue(%d, %d, %#v) = %#v, %q; want %#v", tc.k, eng, tc.in, got, prob, want)
			}
		}
	}
}

func TestBind(t *testing.T) {
	arr := colEnv{array: true, kind: kText}
	v, _ := arr.value(enginePostgres, []any{"a", nil, `b"\c`, []any{"d"}})
	if got := arr.bind(enginePostgres, v); got != `{"a",NULL,"b\"\\c",{"d"}}` {
		t.Errorf("pg array literal %q", got)
	}
	if got := arr.bind(engineSQLite, v); got != `["a",null,"b\"\\c",["d"]]` {
		t.Errorf("sqlite array JSON %q", got)
	}
	ba := colEnv{array: true, kind: kBytea}
	v, _ = ba.value(enginePostgres, []any{"AAE="})
	if got := ba.bind(enginePostgres, v); got != `{"\\x0001"}` {
		t.Errorf("pg bytea array %q", got)
	}
	if got := ba.bind(engineSQLite, v); got != `["AAE="]` {
		t.Errorf("sqlite bytea array %q", got)
	}
	b := colEnv{kind: kBoolean}
	if b.bind(engineSQLite, true) != int64(1) || b.bind(engineSQLite, false) != int64(0) || b.bind(enginePostgres, true) != true {
		t.Error("boolean binding")
	}
	j := colEnv{kind: kJSONB}
	if j.bind(enginePostgres, rawJSON(`{"a":1}`)) != `{"a":1}` {
		t.Error("json binding is text")
	}
	if (&colEnv{}).bind(enginePostgres, nil) != nil {
		t.Error("null binding")
	}
}

func TestLikeToGlob(t *testing.T) {
	for _, tc := range []struct{ like, glob string }{
		{"abc", "abc"},
		{"a%", "a*"},
		{"_b_", "?b?"},
		{`100\%`, "100%"},
		{`a\_b`, "a_b"},
		{`a\\b`, `a\b`},
		{`\a`, "a"},
		{"*?[]", "[*][?][[]]"},
		{`\*`, "[*]"},
		{"é_", "é?"},
		{`\é`, "é"},
	} {
		if got := likeToGlob(tc.like); got != tc.glob {
			t.Errorf("likeToGlob(%q) = %q; want %q", tc.like, got, tc.glob)
		}
	}
	for pat, ok := range map[string]bool{"": true, `a\`: false, `a\\`: true, `a\\\`: false, `\%`: true} {
		if likeOK(pat) != ok {
			t.Errorf("likeOK(%q) != %v", pat, ok)
		}
	}
}

func TestSafePGType(t *testing.T) {
	for s, ok := range map[string]bool{
		"integer":                     true,
		"character varying(20)[]":     true,
		"numeric(12,2)":               true,
		"timestamp(3) with time zone": true,
		`"My Enum"`:                   true,
		`public."we""ird"[]`:          true,
		"ÿtype":                       true,
		"":                            false,
		"int; DROP TABLE x":           false,
		"int -- x":                    false,
		"int/*x*/":                    false,
		"text'":                       false,
		`"unterminated`:               false,
		"int)":                        false,
		"int(":                        false,
		"int[":                        false,
		"int]":                        false,
		"int\x00":                     false,
	} {
		if safePGType(s) != ok {
			t.Errorf("safePGType(%q) != %v", s, ok)
		}
	}
	c := compileColumn(enginePostgres, &schema.Column{Name: "x", Type: schema.ArrayOf(schema.Integer), DBType: "int); DROP TABLE t; --"})
	if c.recType != "integer[]" {
		t.Errorf("fallback recType %q", c.recType)
	}
}

func TestCompileColumn(t *testing.T) {
	for _, tc := range []struct {
		typ       string
		array     bool
		k         kind
		ops       opSet
		orderable bool
	}{
		{schema.Text, false, kText, opsEq | opsCmp | opsIn | opsLike | opsNull, true},
		{schema.Integer, false, kInteger, opsEq | opsCmp | opsIn | opsNull, true},
		{schema.Boolean, false, kBoolean, opsEq | opsIn | opsNull, true},
		{schema.JSONB, false, kJSONB, opsEq | opsNull, false},
		{schema.JSON, false, kJSON, opsEq | opsNull, false},
		{schema.Bytea, false, kBytea, opsEq | opsNull, false},
		{schema.Other, false, kOther, 0, false},
		{"array<uuid>", true, kUUID, opsEq | opsNull, false},
		{"array<other>", false, kOther, 0, false},
		{"array<array<text>>", false, kOther, 0, false},
		{"mystery", false, kOther, 0, false},
	} {
		c := compileColumn(enginePostgres, &schema.Column{Name: "c", Type: tc.typ, DBType: "x"})
		if c.array != tc.array || c.kind != tc.k || c.ops != tc.ops || c.orderable != tc.orderable {
			t.Errorf("compileColumn(%s) = array %v kind %d ops %b orderable %v", tc.typ, c.array, c.kind, c.ops, c.orderable)
		}
	}
}

// integral agrees with exact rational arithmetic on every spelling of a
// JSON number built from these parts.
func TestIntegralMatchesExactArithmetic(t *testing.T) {
	minI, maxI := new(big.Int).SetInt64(math.MinInt64), new(big.Int).SetInt64(math.MaxInt64)
	for _, sign := range []string{"", "-"} {
		for _, mant := range []string{"0", "1", "10", "15", "1.0", "1.5", "0.5", "100.000", "9223372036854775807", "9223372036854775808",
			"9.223372036854775807", "92233720368547758.07", "0.0000", "1.0000000000000000001", "12345678901234567890"} {
			for _, exp := range []string{"", "e0", "e1", "E+2", "e-1", "e-3", "e18", "e19", "e400", "e-400", "e0001", "e99999"} {
				s := sign + mant + exp
				r, ok := new(big.Rat).SetString(s)
				if !ok {
					t.Fatalf("big.Rat cannot read %q", s)
				}
				want := r.IsInt() && r.Num().Cmp(minI) >= 0 && r.Num().Cmp(maxI) <= 0
				got, gotOK := integral(s)
				if gotOK != want || (want && got != r.Num().Int64()) {
					t.Errorf("integral(%q) = %d, %v; want ok=%v (%s)", s, got, gotOK, want, r.RatString())
				}
			}
		}
	}
}
