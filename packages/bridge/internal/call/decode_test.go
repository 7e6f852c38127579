package call

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		body   string
		target string // db/conn/table/op or logics/name, when accepted
		params string
		msg    string // a substring of the 400's message, when refused
		at     string // details.problems[0].path, when set
	}{
		{body: `{"path":"db/main/items/select","params":{"where":{"id":12345}}}`, target: "db/main/items/select", params: `{"where":{"id":12345}}`},
		{body: ` { "params" : { "a" : [1, "}"] } , "path" : "db/m/t/select" } `, target: "db/m/t/select", params: `{ "a" : [1, "}"] }`},
		{body: `{"path":"db/m/t/select","params":null}`, target: "db/m/t/select"},
		{body: `{"p\u0061th":"db/m/t/s\u0065lect"}`, target: "db/m/t/select"},
		{body: `{"path":"logics/posts/mine"}`, target: "logics/posts/mine"},

		{body: ``, msg: "request body is empty"},
		{body: `[{"path":"db/m/t/select"}]`, msg: "must be a JSON object"},
		{body: `{"path":"db/m/t/select"`, msg: "not valid JSON"},
		{body: `{"path":"db/m/t/select"} {}`, msg: "after the JSON value"},
		{body: `{"path":"db/m/t/select","path":"db/m/u/delete"}`, msg: `duplicate key "path"`},
		{body: `{"path":"db/m/t/select","p\u0061th":"db/m/u/delete"}`, msg: `duplicate key "path"`},
		{body: `{"path":"db/m/t/select","params":{"where":{"id":1},"where":{"id":2}}}`, msg: `duplicate key "where" in params`, at: "params"},
		{body: `{"path":"db/m/t/insert","params":{"data":[{"a":1},{"a":1,"a":2}]}}`, msg: `duplicate key "a" in params.data[1]`, at: "params.data[1]"},
		{body: `{"path":"db/m/t/select\ud800"}`, msg: `lone surrogate escape \ud800`, at: "path"},
		{body: `{"path":"db/m/t/insert","params":{"data":{"name":"\udc00"}}}`, msg: `\udc00`, at: "params.data.name"},
		{body: "{\"path\":\"db/m/t/insert\",\"params\":{\"data\":{\"name\":\"\xff\"}}}", msg: "invalid UTF-8", at: "params.data.name"},
		{body: "{\"path\":\"db/m/t/s\xc3\"}", msg: "invalid UTF-8", at: "path"},
		{body: `{"PATH":"db/m/t/select"}`, msg: `unknown field "PATH"`, at: "PATH"},
		{body: `{"path":"db/m/t/select","Params":{}}`, msg: `unknown field "Params"`},
		{body: `{"path":"db/m/t/select","extra":1}`, msg: `unknown field "extra"`},
		{body: `{"params":{}}`, msg: "path is required", at: "path"},
		{body: `{"path":null}`, msg: "path is required"},
		{body: `{"path":5}`, msg: "path must be a string", at: "path"},
		{body: `{"path":"db/m/t/select","params":[1]}`, msg: "params must be a JSON object", at: "params"},
		{body: `{"path":"db/m/t/sélect"}`, msg: "op"},
	} {
		target, params, err := decodeRequest([]byte(tc.body))
		if tc.msg == "" {
			if err != nil || pathOf(target) != tc.target || string(params) != tc.params {
				t.Errorf("%s: got %q %q %v; want %q %q", tc.body, pathOf(target), params, err, tc.target, tc.params)
			}
			continue
		}
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.BadRequest || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%q: error %v; want a 400 containing %q", tc.body, err, tc.msg)
			continue
		}
		if tc.at != "" {
			probs, _ := e.Details["problems"].([]apierr.Problem)
			if len(probs) == 0 || probs[0].Path != tc.at {
				t.Errorf("%q: problems %v; want path %q", tc.body, e.Details, tc.at)
			}
		}
	}
}

// FuzzDecodeRequest: whatever decodeRequest accepts, a strict
// encoding/json decoding of the body reads as the same path and params —
// so no reader of the body can see another request than the one served.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`,
		`{"path":"db/main/items/select"}`,
		` { "params" : { "where" : { "a" : [1, "}", {"x": "\""}] } } , "path" : "db/m/t/select" } `,
		`{"path":"db/m/t/select","path":"db/m/u/select"}`,
		`{"PATH":"db/m/t/select"}`, `{"p\u0061th":"db/m/t/select"}`, `{"path":"db/m/t/s\u0065lect"}`,
		`{"path":"logics/a/b\ud83d\ude00"}`, `{"path":"db/m/t/select","params":{"x":"\ud800"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		target, params, err := decodeRequest(body)
		if err != nil {
			return
		}
		var req struct {
			Path   *string         `json:"path"`
			Params json.RawMessage `json:"params"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			t.Fatalf("decodeRequest accepted %q, encoding/json refused: %v", body, err)
		}
		if req.Path == nil || *req.Path != pathOf(target) {
			t.Fatalf("%q: path %q, encoding/json %v", body, pathOf(target), req.Path)
		}
		if p := bytes.TrimSpace(req.Params); !bytes.Equal(params, p) && !(params == nil && (len(p) == 0 || string(p) == "null")) {
			t.Fatalf("%q: params %q, encoding/json %q", body, params, req.Params)
		}
	})
}
