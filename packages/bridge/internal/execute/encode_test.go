package execute

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestAppendPG(t *testing.T) {
	cases := []struct {
		typ  string
		raw  string
		null bool
		want string
	}{
		{typ: "integer", raw: "42", want: `42`},
		{typ: "integer", raw: "-7", want: `-7`},
		{typ: "bigint", raw: "9007199254740991", want: `9007199254740991`},
		{typ: "bigint", raw: "9007199254740992", want: `"9007199254740992"`},
		{typ: "bigint", raw: "-9223372036854775808", want: `"-9223372036854775808"`},
		{typ: "numeric", raw: "12.50", want: `"12.50"`},
		{typ: "numeric", raw: "NaN", want: `"NaN"`},
		{typ: "float", raw: "1.5", want: `1.5`},
		{typ: "float", raw: "-1e+30", want: `-1e+30`},
		{typ: "float", raw: "Infinity", want: `"Infinity"`},
		{typ: "float", raw: "NaN", want: `"NaN"`},
		{typ: "boolean", raw: "t", want: `true`},
		{typ: "boolean", raw: "f", want: `false`},
		{typ: "timestamptz", raw: "2024-01-02 03:04:05.123456+00", want: `"2024-01-02T03:04:05.123456Z"`},
		{typ: "timestamptz", raw: "2024-01-02 03:04:05+00", want: `"2024-01-02T03:04:05Z"`},
		{typ: "timestamptz", raw: "2024-01-02 05:04:05+02", want: `"2024-01-02T03:04:05Z"`},
		{typ: "timestamptz", raw: "2024-01-02 03:34:05+00:30", want: `"2024-01-02T03:04:05Z"`},
		{typ: "timestamptz", raw: "infinity", want: `"infinity"`},
		{typ: "timestamp", raw: "2024-01-02 03:04:05.5", want: `"2024-01-02T03:04:05.5"`},
		{typ: "date", raw: "2024-01-02", want: `"2024-01-02"`},
		{typ: "time", raw: "03:04:05", want: `"03:04:05"`},
		{typ: "uuid", raw: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", want: `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{typ: "json", raw: `{"b": 1, "a": [1, 2]}`, want: `{"b": 1, "a": [1, 2]}`},
		{typ: "jsonb", raw: `{"x": null}`, want: `{"x": null}`},
		{typ: "bytea", raw: `\x0102ff`, want: `"AQL/"`},
		{typ: "text", raw: "hé \"q\"\n\x01", want: `"hé \"q\"\n\u0001"`},
		{typ: "text", raw: "bad \xff utf8", want: `"bad \ufffd utf8"`},
		{typ: "other", raw: "P1D", want: `"P1D"`},
		{typ: "array<integer>", raw: "{1,NULL,3}", want: `[1,null,3]`},
		{typ: "array<integer>", raw: "{}", want: `[]`},
		{typ: "array<integer>", raw: "{{1,2},{3,4}}", want: `[[1,2],[3,4]]`},
		{typ: "array<integer>", raw: "[0:1]={5,6}", want: `[5,6]`},
		{typ: "array<text>", raw: `{"a b","c\"d",NULL,"NULL",plain}`, want: `["a b","c\"d",null,"NULL","plain"]`},
		{typ: "array<boolean>", raw: `{t,f}`, want: `[true,false]`},
		{typ: "array<jsonb>", raw: `{"{\"a\": 1}","[1]"}`, want: `[{"a": 1},[1]]`},
		{typ: "array<bytea>", raw: `{"\\x01"}`, want: `["AQ=="]`},
		{typ: "array<bigint>", raw: `{9007199254740993}`, want: `["9007199254740993"]`},
		{typ: "array<integer>", raw: `{1,2`, want: `"{1,2"`},
		{typ: "integer", null: true, want: `null`},
	}
	for _, c := range cases {
		var raw []byte
		if !c.null {
			raw = []byte(c.raw)
		}
		got := string(appendPG(nil, c.typ, raw))
		if got != c.want {
			t.Errorf("%s %q: got %s, want %s", c.typ, c.raw, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s %q: invalid JSON %s", c.typ, c.raw, got)
		}
	}
}

func TestAppendSQLite(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		typ  string
		v    any
		want string
	}{
		{"integer", int64(42), `42`},
		{"bigint", int64(9007199254740993), `"9007199254740993"`},
		{"bigint", "17", `17`},
		{"bigint", 3.0, `3`},
		{"numeric", 12.5, `"12.5"`},
		{"numeric", int64(12), `"12"`},
		{"numeric", "12.50", `"12.50"`},
		{"float", 1.5, `1.5`},
		{"float", int64(2), `2`},
		{"float", math.Inf(-1), `"-Infinity"`},
		{"float", 1e300, `1e+300`},
		{"boolean", int64(1), `true`},
		{"boolean", int64(0), `false`},
		{"boolean", "true", `true`},
		{"timestamptz", ts, `"2024-01-02T03:04:05Z"`},
		{"timestamptz", "2024-01-02 03:04:05", `"2024-01-02T03:04:05Z"`},
		{"timestamptz", "2024-01-02T05:04:05+02:00", `"2024-01-02T03:04:05Z"`},
		{"timestamptz", int64(1704164645), `"2024-01-02T03:04:05Z"`},
		{"timestamptz", "not a time", `"not a time"`},
		{"timestamp", ts, `"2024-01-02T03:04:05"`},
		{"timestamp", "2024-01-02 03:04:05.25", `"2024-01-02T03:04:05.25"`},
		// Another program's text: an offset converts to UTC wall time, and
		// precision is PostgreSQL's (microseconds).
		{"timestamp", "2024-01-02T05:04:05+02:00", `"2024-01-02T03:04:05"`},
		{"timestamp", time.Date(2024, 1, 2, 5, 4, 5, 0, time.FixedZone("", 7200)), `"2024-01-02T03:04:05"`},
		{"timestamp", "2024-01-02 03:04:05.123456789", `"2024-01-02T03:04:05.123457"`},
		{"timestamptz", "2024-01-02T03:04:05.1234564Z", `"2024-01-02T03:04:05.123456Z"`},
		{"timestamp", int64(1704164645), `"2024-01-02T03:04:05"`},
		{"date", ts, `"2024-01-02"`},
		{"date", "2024-01-02", `"2024-01-02"`},
		{"time", "03:04:05", `"03:04:05"`},
		{"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"json", `{"a": [1]}`, `{"a": [1]}`},
		{"jsonb", []byte(`[1,2]`), `[1,2]`},
		{"json", `{bad`, `"{bad"`},
		{"bytea", []byte{1, 2, 0xff}, `"AQL/"`},
		{"text", "hé", `"hé"`},
		{"text", int64(5), `"5"`},
		{"other", 1.5, `"1.5"`},
		{"array<integer>", `[1,null,3]`, `[1,null,3]`},
		{"array<boolean>", `[1,0,true]`, `[true,false,true]`},
		{"array<bigint>", `[9007199254740993]`, `["9007199254740993"]`},
		{"array<text>", `["a","b"]`, `["a","b"]`},
		{"array<jsonb>", `[{"a":1}]`, `[{"a":1}]`},
		{"integer", nil, `null`},
	}
	for _, c := range cases {
		got := string(appendSQLite(nil, c.typ, c.v))
		if got != c.want {
			t.Errorf("%s %#v: got %s, want %s", c.typ, c.v, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s %#v: invalid JSON %s", c.typ, c.v, got)
		}
	}
}

func TestDetailColumns(t *testing.T) {
	for detail, want := range map[string]string{
		`Key (email)=(a@b.c) already exists.`:                  "email",
		`Key (org_id, name)=(1, x) already exists.`:            "org_id,name",
		`Key (author_id)=(5) is not present in table "users".`: "author_id",
		`Key (lower(email))=(a@b.c) already exists.`:           "",
		`Schlüssel »(email)=(a)« existiert bereits.`:           "",
		`Key ("Mixed Case")=(1) already exists.`:               "Mixed Case",
	} {
		got := ""
		for i, c := range detailColumns(detail) {
			if i > 0 {
				got += ","
			}
			got += c
		}
		if got != want {
			t.Errorf("%q: %q, want %q", detail, got, want)
		}
	}
}

func BenchmarkEncodePGRow(b *testing.B) {
	cols := []string{"bigint", "text", "numeric", "timestamptz", "boolean", "jsonb"}
	raw := [][]byte{[]byte("123456"), []byte("Ada Lovelace"), []byte("12.50"), []byte("2024-01-02 03:04:05.123456+00"), []byte("t"), []byte(`{"a": 1}`)}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i, c := range cols {
			buf = appendPG(buf, c, raw[i])
		}
	}
}
