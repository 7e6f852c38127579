package filter

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The fast path must give exactly the full parser's tree whenever it
// accepts an input, and must leave everything else to it.
func TestFlatMatchesParse(t *testing.T) {
	accepted := []string{`{"id":1}`, ` { "id" : -12.5e3 , "name":"x y", "ok": true, "no":false } `,
		`{"id":12345678901234567890123}`, `{"a":0}`, `{"a":"","b":""}`}
	refused := []string{`{}`, `{"a":null}`, `{"$or":[]}`, `{"a":{"$eq":1}}`, `{"a":[1]}`, `{"a":1,"a":2}`,
		`{"a":"\u0041"}`, `{"é":1}`, `{"a":01}`, `{"a":1.}`, `{"a":1,}`, `{"a":1}x`, `{"":1}`, `[1]`, `{"a":tru}`}
	for _, in := range accepted {
		n, ok := parseFlat([]byte(in), DefaultLimits())
		if !ok {
			t.Errorf("fast path refused %s", in)
			continue
		}
		full, err := parseFull([]byte(in), DefaultLimits())
		if err != nil || !reflect.DeepEqual(n, full) {
			t.Errorf("%s: fast %s, full %s (%v)", in, dump(n), dump(full), err)
		}
	}
	for _, in := range refused {
		if _, ok := parseFlat([]byte(in), DefaultLimits()); ok {
			t.Errorf("fast path accepted %s", in)
		}
	}
	// More entries than MaxLeaves: the full parser reports it.
	if _, ok := parseFlat([]byte(`{"a":1,"b":2,"c":3}`), Limits{MaxDepth: 8, MaxLeaves: 2, MaxIn: 10}); ok {
		t.Error("fast path ignored MaxLeaves")
	}
}

// The seed corpus too: wherever the fast path answers, it agrees.
func TestFlatMatchesParseOnCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/fuzz/FuzzParse/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := corpusValue(string(b))
		if n, ok := parseFlat([]byte(in), DefaultLimits()); ok {
			full, err := parseFull([]byte(in), DefaultLimits())
			if err != nil || !reflect.DeepEqual(n, full) {
				t.Errorf("%s: fast %s, full %s (%v)", f, dump(n), dump(full), err)
			}
		}
	}
}

func FuzzFlatMatchesParse(f *testing.F) {
	f.Add([]byte(`{"id":1,"name":"x"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		n, ok := parseFlat(in, DefaultLimits())
		if !ok {
			return
		}
		full, err := parseFull(in, DefaultLimits())
		if err != nil || !reflect.DeepEqual(n, full) {
			t.Fatalf("%q: fast %s, full %s (%v)", in, dump(n), dump(full), err)
		}
	})
}

// corpusValue extracts the []byte("…") value of a go test fuzz v1 file.
func corpusValue(file string) string {
	for _, line := range strings.Split(file, "\n") {
		if v, ok := strings.CutPrefix(line, "[]byte("); ok {
			v = strings.TrimSuffix(v, ")")
			if s, err := unquote(v); err == nil {
				return s
			}
		}
	}
	return ""
}

func unquote(s string) (string, error) { return strconv.Unquote(s) }
