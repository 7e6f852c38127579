package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The tests of this file are differential: encoding/json is the reference
// for every text and value, so that the planner answers the same with
// jsonscan as it did with encoding/json.

// valueSeeds are the nasty cases, for the tables and as fuzz seeds.
var valueSeeds = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `tru`, `fals`, `nulx`, `truex`, `t`, `n`, `f`,
	`0`, `-0`, `-`, `--1`, `01`, `-01`, `1.`, `1.e5`, `.5`, `1e`, `1e+`, `1E-7`, `0.1e-7`, `1e400`,
	`-1e400`, `123456789012345678901234567890`, `1.5e308`, `4.9e-324`, `+1`, `0x10`, `1 2`, ` 1 `,
	"\t\n\r 1\r\n", `[1,2,3]`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[1`, `[1,`, `[[[]]]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"a":[1,{"a":null}]}}`, `{"a"}`, `{"a":}`, `{"a" 1}`,
	`{"a":1,}`, `{,}`, `{1:2}`, `{"a":1 "b":2}`, `{"a":1}}`, `{"a":1]`, `[1}`, `{`, `{"a`, `{"a"`, `{"a":`,
	`""`, `"abc"`, `"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u0041\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`,
	`"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\uDBFF\uDFFF"`, `"\u12"`, `"\u12g4"`,
	`"\x"`, `"\'"`, `"\`, `"abc`, "\"a\x01b\"", "\"a\x7fb\"", "\"\xff\"", "\"a\xc3\"", "\"\xe2\x82\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\u2028\u2029\"", `"\u2028"`, `"<>&"`, `"\u0000"`,
	"{\"\xff\":1}", `{"\u00e9":1,"é":2}`, `{"\ud800":1}`, "\xef\xbb\xbf1", "\x00", `[1,"a",true,null,{"b":[]}]`,
	`[-0.0, 1E+2, 1e-2, 0.000001, 1e21, 1e20]`, `"` + strings.Repeat("x", 100) + `"`, `[1]x`, `{} {}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	deep := []string{
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
		strings.Repeat("[", 20000),
	}
	for _, s := range append(deep, valueSeeds...) {
		sameDecode(t, []byte(s))
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameDecode(t, in) })
}

// sameDecode fails unless Decode(in) is what encoding/json gives: the same
// tree (Decoder with UseNumber) or the same error (json.Unmarshal's message
// and offset).
func sameDecode(t *testing.T, in []byte) {
	t.Helper()
	got, err := Decode(in)
	var want any
	werr := json.Unmarshal(in, &want)
	if werr != nil {
		var se *json.SyntaxError
		if !errors.As(werr, &se) {
			// A number out of float64's range: Unmarshal into `any` without
			// UseNumber refuses it, Decode keeps the text.
			if err != nil {
				t.Fatalf("Decode(%q): %v, want a value (Unmarshal: %v)", in, err, werr)
			}
			return
		}
		var ge *SyntaxError
		if !errors.As(err, &ge) {
			t.Fatalf("Decode(%q) = %#v, %v; want error %q at %d", in, got, err, se.Error(), se.Offset)
		}
		if ge.Error() != se.Error() || int64(ge.Offset) != se.Offset {
			t.Fatalf("Decode(%q): error %q at %d, want %q at %d", in, ge.Error(), ge.Offset, se.Error(), se.Offset)
		}
		return
	}
	if err != nil {
		t.Fatalf("Decode(%q): %v", in, err)
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("json.Decoder(%q): %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q)\n got %#v\nwant %#v", in, got, want)
	}
	// What Decode gives, AppendValue renders as encoding/json does.
	sameAppend(t, got)
}

// sameAppend fails unless AppendValue(v) is encoding/json's Encoder output
// with SetEscapeHTML(false), or both refuse v.
func sameAppend(t *testing.T, v any) {
	t.Helper()
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	werr := enc.Encode(v)
	got, err := AppendValue([]byte("prefix"), v)
	if werr != nil {
		if err == nil {
			t.Fatalf("AppendValue(%#v) = %s, encoding/json refuses it: %v", v, got, werr)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendValue(%#v): %v", v, err)
	}
	if want := "prefix" + strings.TrimSuffix(sb.String(), "\n"); string(got) != want {
		t.Fatalf("AppendValue(%#v)\n got %s\nwant %s", v, got, want)
	}
}

func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "<a href=\"x\">&amp;</a>", "\x00\x01\x08\x0c\x1f\x7f", "\b\f\n\r\t\\\"/",
		"\u2028\u2029 é 中 😀", "\xff\xfe bad \xc3 utf8 \xed\xa0\x80", "\ufffd",
		json.Number("0"), json.Number("-0"), json.Number("1e400"), json.Number("0.1e-7"), json.Number(""),
		json.Number("01"), json.Number("1."), json.Number("abc"), json.Number(" 1"), json.Number("-"),
		json.RawMessage(`{"b": [1, 2], "a" : "x y"}`), json.RawMessage(nil), json.RawMessage(` "\u2028<" `),
		json.RawMessage(`{`), json.RawMessage(``), json.RawMessage(`1 2`),
		0.0, math.Copysign(0, -1), 1.0, -1.5, 0.1, 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, 5e-324,
		math.MaxFloat64, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1),
		float32(0.1), float32(1e-7), float32(1e21), float32(3.4e38), float32(math.Inf(1)),
		int(-7), int8(-128), int16(32767), int32(-1), int64(math.MinInt64), uint(7), uint8(255),
		uint16(65535), uint32(1 << 31), uint64(math.MaxUint64),
		[]any{}, []any(nil), []any{1, "a", nil, []any{true}}, []string{}, []string(nil), []string{"a", "\n"},
		map[string]any{}, map[string]any(nil), map[string]any{"b": 1, "a": []any{"x"}, "": nil, "é": 2, "A": 3},
		map[string]string{"z": "1", "y": "<"}, map[string]string(nil),
		map[string]any{"bad": math.NaN()},
	}
	for _, v := range values {
		sameAppend(t, v)
	}
}

func TestAppendValueErrorsSayWhere(t *testing.T) {
	_, err := AppendValue(nil, map[string]any{"a": []any{1, json.Number("x")}})
	if err == nil || !strings.Contains(err.Error(), `invalid number literal "x" at ."a"[1]`) {
		t.Fatalf("err = %v", err)
	}
	_, err = AppendValue(nil, []any{struct{}{}})
	if err == nil || err.Error() != "jsonscan: unsupported value at [0]" {
		t.Fatalf("err = %v", err)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAppend(t, s)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := string(AppendString(nil, s)) + "\n"; got != want.String() {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want.String())
		}
		if got := string(AppendString(nil, []byte(s))) + "\n"; got != want.String() {
			t.Fatalf("AppendString([]byte(%q)) = %s, want %s", s, got, want.String())
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1, -1.5, 1e-6, 1e-7, 1e20, 1e21, 0.1, 5e-324, math.MaxFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		sameAppend(t, x)
		sameAppend(t, float32(x))
	})
}

// TestUnquoteMatchesEncodingJSON: Unquote decodes what Validate accepted
// as encoding/json does.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range valueSeeds {
		if len(s) < 2 || s[0] != '"' {
			continue
		}
		var want string
		if Validate([]byte(s)) != nil || json.Unmarshal([]byte(s), &want) != nil {
			continue
		}
		if got := Unquote([]byte(s[1 : len(s)-1])); got != want {
			t.Errorf("Unquote(%s) = %q, want %q", s, got, want)
		}
	}
}

// FuzzDecoder checks the token Decoder against json.Decoder with
// UseNumber, reading the same text token by token (or, at every third
// position where a value may start, whole): the same tokens and values,
// then an error at the same place. Syntax errors must agree in kind (end of
// input or not); their messages agree between values, and inside a value
// json.Decoder's offsets count bytes its Decode calls read, not the input's.
func FuzzDecoder(f *testing.F) {
	for _, s := range append(streamSeeds, valueSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ref := json.NewDecoder(bytes.NewReader(in))
		ref.UseNumber()
		d := NewDecoder(in)
		for n := 0; n < 10000; n++ {
			var got, want any
			var err, werr error
			if n%3 == 2 {
				got, err = d.Value()
				werr = ref.Decode(&want)
			} else {
				got, err = d.Token()
				want, werr = ref.Token()
				if dl, ok := want.(json.Delim); ok {
					want = Delim(dl)
				}
			}
			if (err == nil) != (werr == nil) {
				t.Fatalf("%q token %d: %#v, %v; json.Decoder: %#v, %v", in, n, got, err, want, werr)
			}
			if werr != nil {
				sameStreamError(t, in, err, werr)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q token %d: %#v, json.Decoder: %#v", in, n, got, want)
			}
			if d.More() != ref.More() {
				t.Fatalf("%q token %d: More disagrees", in, n)
			}
		}
	})
}

var streamSeeds = []string{
	`{"a":[1,{"b":2}],"c":"d"} 3 "x" [] {}`, `{"a":{"$in":[1,"x",true,null]},"b":{"$eq":{"k":[1]}}}`,
	`{"a" 1}`, `{"a":1 "b"}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a"::1}`, `{"a":1}}`, `[1]]`, `{,"a":1}`,
	`[,]`, `{"a":[1,2,{"b":[3,`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":tx}`, `{"a":1}x`, `[1x]`,
	`{"a":-}`, `{"a":1.}`, `{"a":{"b":{"c":{`, `{"\ud800":"\udc00"}`, "{\"\xff\":\"\xfe\"}",
}

func sameStreamError(t *testing.T, in []byte, err, werr error) {
	t.Helper()
	eof := func(e error) bool { return errors.Is(e, io.EOF) || errors.Is(e, io.ErrUnexpectedEOF) }
	if eof(err) != eof(werr) {
		t.Fatalf("%q: error %v, json.Decoder: %v", in, err, werr)
	}
	var ge *SyntaxError
	var we *json.SyntaxError
	if errors.As(werr, &we) != errors.As(err, &ge) {
		t.Fatalf("%q: error %T %v, json.Decoder: %T %v", in, err, err, werr, werr)
	}
	if we != nil && ge.Error() != we.Error() {
		t.Fatalf("%q: error %q, json.Decoder: %q", in, ge.Error(), we.Error())
	}
}

// FuzzUnquote: Unquote agrees with encoding/json on a string's inside that
// encoding/json accepts, and returns any other input as is (the fallback
// that keeps a caller's bytes when the text was not validated).
func FuzzUnquote(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(strings.Trim(s, `"`)))
	}
	f.Add([]byte(`abc\`))
	f.Add([]byte(`\x`))
	f.Add([]byte(`\u12`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := Unquote(raw)
		var want string
		q := append(append([]byte{'"'}, raw...), '"')
		if json.Unmarshal(q, &want) != nil {
			want = string(raw)
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			want = string(raw) // kept as is, as before jsonscan decoded itself
		}
		if got != want {
			t.Fatalf("Unquote(%q) = %q, want %q", raw, got, want)
		}
	})
}
