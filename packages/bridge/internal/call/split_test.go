package call

import (
	"bytes"
	"testing"
)

var splitSeeds = []string{
	`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`,
	`{"path":"db/main/items/select"}`,
	` { "params" : { "where" : { "a" : [1, "}", {"x": "\""}] } } , "path" : "db/m/t/select" } `,
	`{"path":"db/main/items/select","params":null}`,
	`{"path":"db/main/items/select","params":[1]}`,
	`{"path":"db/main/items/select","params":"x"}`,
	`{"path":"db/m/t/select","path":"db/m/u/select"}`,
	`{"PATH":"db/m/t/select"}`,
	`{"p\u0061th":"db/m/t/select"}`,
	`{"path":"db/m/t/s\u0065lect"}`,
	`{"path":"db/m/t/sélect"}`,
	`{"path":null}`,
	`{"path":5}`,
	`{"params":{}}`,
	`{}`,
	`{"path":"db/main/users/select", "extra": 1}`,
	`{"path":"db/main/users/select"} {}`,
	`{"path":"db/main/users/select",}`,
	`{"path":"a\tb"}`,
}

// TestSplitFlat pins the cases the fast path must leave to the decoder.
func TestSplitFlat(t *testing.T) {
	for _, tc := range []struct {
		body   string
		ok     bool
		path   string
		params string
	}{
		{`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`, true, "db/main/items/select", `{"where":{"id":12345}}`},
		{` { "params" : [1, "}"] , "path" : "db/m/t/select" } `, true, "db/m/t/select", `[1, "}"]`},
		{`{"path":"db/m/t/select"}`, true, "db/m/t/select", ``},
		{`{"path":"db/m/t/select","path":"db/m/u/select"}`, false, "", ""},
		{`{"PATH":"db/m/t/select"}`, false, "", ""},
		{`{"p\u0061th":"db/m/t/select"}`, false, "", ""},
		{`{"path":"db/m/t/s\u0065lect"}`, false, "", ""},
		{`{"path":"db/m/t/sélect"}`, false, "", ""},
		{`{"path":null}`, false, "", ""},
		{`{"params":{}}`, false, "", ""},
		{`{"path":"x","extra":1}`, false, "", ""},
		{`{"path":"x"} {}`, false, "", ""},
		{`{"path":"x",}`, false, "", ""},
	} {
		body := bytes.TrimSpace([]byte(tc.body))
		path, params, ok := splitFlat(body)
		if ok != tc.ok || ok && (path != tc.path || string(params) != tc.params) {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.body, path, params, ok, tc.path, tc.params, tc.ok)
		}
	}
}

// FuzzSplitFlat: whenever the fast path accepts a body, the strict decoder
// accepts it too and reads the same path and params.
func FuzzSplitFlat(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		body := bytes.TrimSpace(data)
		if len(body) == 0 || body[0] != '{' {
			return
		}
		path, params, ok := splitFlat(body)
		if !ok {
			return
		}
		var req request
		if err := decodeFull(body, &req); err != nil {
			t.Fatalf("fast path accepted %q, decoder refused: %v", body, err)
		}
		if req.Path == nil || *req.Path != path {
			t.Fatalf("%q: path %q, decoder %v", body, path, req.Path)
		}
		if !bytes.Equal(params, req.Params) {
			t.Fatalf("%q: params %q, decoder %q", body, params, req.Params)
		}
	})
}
