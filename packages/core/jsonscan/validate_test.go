package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateAccepts(t *testing.T) {
	for _, in := range []string{
		`{}`, ` [ ] `, `0`, `-0.5e+10`, `1E2`, `"x"`, `true`, `false`, `null`,
		`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`,
		`{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}`, // one name in different objects
		`"é😀\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`,    // UTF-8, a surrogate pair
		`"\uFFFD"`, "\"\xef\xbf\xbd\"", // U+FFFD itself is a character
		`{"a":1,"A":2}`, // names compare exactly
		`{"\u0000":1,"":2}`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		manyKeys(40, ""),
	} {
		if err := Validate([]byte(in)); err != nil {
			t.Errorf("Validate(%.80q) = %v, want nil", in, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		path string
		msg  string // a substring of Error()
	}{
		{``, Syntax, "", "unexpected end of input, expected a JSON value at byte 0"},
		{`  `, Syntax, "", "end of input"},
		{`{"path":"x"`, Syntax, "", "expected ',' or '}'"},
		{`{"path":"x"} {}`, Syntax, "", "after the JSON value"},
		{`{"a":1,}`, Syntax, "", "a member name"},
		{`[1,]`, Syntax, "[1]", "expected a JSON value"},
		{`{"a":01}`, Syntax, "", "character '1'"},
		{`{"a":-}`, Syntax, "a", "a digit"},
		{`{"a":1.}`, Syntax, "a", "decimal point"},
		{`{"a":1e}`, Syntax, "a", "exponent"},
		{`{"a":tru}`, Syntax, "a", "expected a JSON value"},
		{`{"a":"x` + "\n" + `"}`, Syntax, "a", "control character 0xa"},
		{`{"a":"\x"}`, Syntax, "a", "an escape"},
		{`{"a":"\u12"}`, Syntax, "a", `invalid \u escape`},
		{`{a:1}`, Syntax, "", "member name in double quotes"},
		{`'x'`, Syntax, "", "character '\\''"},

		{"{\"path\":\"db/m/t/select\",\"params\":{\"where\":{\"name\":\"a\xffb\"}}}", InvalidUTF8, "params.where.name", "invalid UTF-8 in a string in params.where.name at byte 52"},
		{"{\"a\xc3\":1}", InvalidUTF8, "", "invalid UTF-8 in a string (a member name)"},
		{"[\"\xed\xa0\x80\"]", InvalidUTF8, "[0]", "invalid UTF-8"}, // a surrogate encoded as UTF-8
		{"[\"\xc0\xaf\"]", InvalidUTF8, "[0]", "invalid UTF-8"},     // overlong
		{"[1,\xff]", InvalidUTF8, "[1]", "invalid UTF-8 byte 0xff"},

		{`{"name":"\ud800"}`, LoneSurrogate, "name", `lone surrogate escape \ud800 (a high surrogate not followed by a low one) in name`},
		{`{"name":"\udc00"}`, LoneSurrogate, "name", `\udc00 (a low surrogate without a high one)`},
		{`{"name":"\uD83Dx"}`, LoneSurrogate, "name", `\uD83D`},
		{`{"name":"\ud83d\ud83d"}`, LoneSurrogate, "name", `high surrogate`},
		{`{"name":"\ud83d\u0041"}`, LoneSurrogate, "name", `high surrogate`},
		{`{"name":"\ud83d`, LoneSurrogate, "name", `high surrogate`},
		{`{"\udc00":1}`, LoneSurrogate, "", `(a member name)`},

		{`{"path":"db/m/t/select","path":"db/m/u/delete"}`, DuplicateKey, "", `duplicate key "path" at byte 24`},
		{`{"path":"db/m/t/select","p\u0061th":"db/m/u/delete"}`, DuplicateKey, "", `duplicate key "path"`},
		{`{"params":{"where":{"id":1,"id":2}}}`, DuplicateKey, "params.where", `duplicate key "id" in params.where`},
		{`{"params":{"data":[{"a":1},{"b":1,"b":2}]}}`, DuplicateKey, "params.data[1]", `duplicate key "b" in params.data[1]`},
		{`[[{"x":[{"k":1,"k":1}]}]]`, DuplicateKey, "[0][0].x[0]", `in [0][0].x[0]`},
		{manyKeys(40, `"k7"`), DuplicateKey, "", `duplicate key "k7"`},   // map path
		{manyKeys(40, `"k39"`), DuplicateKey, "", `duplicate key "k39"`}, // map path, late
		{manyKeys(40, `"k\u0033"`), DuplicateKey, "", `duplicate key "k3"`},
		{`{"` + strings.Repeat("é", 100) + `":1,"` + strings.Repeat("é", 100) + `":2}`, DuplicateKey, "", "é…\""},

		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), TooDeep, strings.Repeat("[0]", MaxDepth), "nest deeper than 1000"},
	} {
		err := Validate([]byte(tc.in))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Validate(%.80q) = %v, want an *Error", tc.in, err)
			continue
		}
		if e.Kind != tc.kind || e.Path != tc.path || !strings.Contains(e.Error(), tc.msg) {
			t.Errorf("Validate(%.80q) = kind %d path %q %q; want kind %d path %q containing %q",
				tc.in, e.Kind, e.Path, e.Error(), tc.kind, tc.path, tc.msg)
		}
		if e.Offset < 0 || e.Offset > len(tc.in) {
			t.Errorf("Validate(%.80q): offset %d outside the input", tc.in, e.Offset)
		}
	}
}

// manyKeys is an object of n members k0…k(n-1), then the member named
// extra (a JSON string, possibly escaped) when given.
func manyKeys(n int, extra string) string {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range n {
		fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
	}
	if extra != "" {
		sb.WriteString(extra + ":0,")
	}
	return strings.TrimSuffix(sb.String(), ",") + "}"
}

// TestValidateSmallObjectsDoNotAllocate pins the hot path's budget: a
// /call body is checked without allocating.
func TestValidateSmallObjectsDoNotAllocate(t *testing.T) {
	body := []byte(`{"path":"db/main/items/insert","params":{"data":[{"id":1,"name":"é","tags":["a","b"],"doc":{"x":[1.5e3,null,true]}},{"id":2,"name":"\u00e9\ud83d\ude00"}],"returning":["id"]}}`)
	if n := testing.AllocsPerRun(100, func() {
		if err := Validate(body); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Validate allocates %v times per call, want 0", n)
	}
}

// FuzzValidate checks Validate against encoding/json: what it accepts is
// valid JSON and UTF-8 whose objects, decoded, have distinct member names;
// valid JSON that it refuses breaks one of its stricter rules; and an error
// always points inside the input.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[{"a":{"b":1,"b":2}}]`,
		`"\ud800"`, `"\udc00"`, `"\ud83d\ude00"`, "\"\xff\"", `{"a":1,"A":2}`,
		`-0.0e-0`, `[1,2,[3,{"x":null}]]`, manyKeys(20, `"k1"`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b)
		if err == nil {
			if !json.Valid(b) || !utf8.Valid(b) {
				t.Fatalf("Validate accepts %q, which json.Valid/utf8.Valid refuse", b)
			}
			if dup, ok := duplicateByDecoder(b); ok {
				t.Fatalf("Validate accepts %q, which repeats the key %q", b, dup)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(b) {
			t.Fatalf("Validate(%q) = %#v: not an *Error inside the input", b, err)
		}
		if json.Valid(b) {
			switch e.Kind {
			case Syntax:
				t.Fatalf("Validate(%q) = %v: a syntax error in what json.Valid accepts", b, err)
			case InvalidUTF8:
				if utf8.Valid(b) {
					t.Fatalf("Validate(%q) = %v, but the text is UTF-8", b, err)
				}
			case DuplicateKey:
				if _, ok := duplicateByDecoder(b); !ok && utf8.Valid(b) && !bytes.Contains(b, []byte(`\u`)) {
					t.Fatalf("Validate(%q) = %v, but the decoder sees no duplicate", b, err)
				}
			}
		} else if e.Kind == DuplicateKey || e.Kind == LoneSurrogate {
			// Fine: the text is also invalid further on; Validate stops
			// at its first problem.
			_ = e
		}
	})
}

// duplicateByDecoder finds a repeated member name with encoding/json's
// tokenizer (exact for UTF-8 input without lone surrogates).
func duplicateByDecoder(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return k, true
			}
			top.keys[k] = true
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// BenchmarkValidate measures the strict check of a typical /call body next
// to json.Valid, the lax check it replaced on the Bridge's hot path.
func BenchmarkValidate(b *testing.B) {
	body := []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345,"name":{"$in":["a","é"]}},"limit":10}}`)
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if Validate(body) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("refused")
			}
		}
	})
}
