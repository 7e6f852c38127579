package openapitest

import (
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/openapi"
)

type thing struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags,omitempty"`
	Note  *string  `json:"note"`
}

// TestChecks shows that the checks fail where they should: a wrong
// example, a body off its schema, an undocumented status, an error that
// is not the §3 envelope.
func TestChecks(t *testing.T) {
	doc, err := openapi.Build(openapi.Info{Title: "t", Version: "1"}, nil, []openapi.Operation{
		{Pattern: "GET /things/{id}", ID: "get", Tag: "t", Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{Value: thing{Name: "a"}}}}},
		{Pattern: "POST /things", ID: "bad", Tag: "t", Request: &openapi.Body{Value: "not an object", Schema: openapi.Schema{"type": "object"}},
			Responses: []openapi.Response{{Status: 201, Body: &openapi.Body{Value: thing{Name: "b", Count: 2}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Routes(), ","); got != "GET /things/{id},POST /things" {
		t.Fatalf("routes %s", got)
	}
	var bad []string
	for _, e := range d.Examples() {
		if e.Err != nil {
			bad = append(bad, e.Where)
		}
	}
	if strings.Join(bad, ",") != "POST /things request" {
		t.Fatalf("failing examples %v, want only POST /things request", bad)
	}
	const js = "application/json"
	for _, c := range []struct {
		method, path string
		status       int
		body         string
		want         string // "" when valid
	}{
		{"GET", "/things/7", 200, `{"name":"a","count":1,"note":null}`, ""},
		{"GET", "/things/7", 200, `{"name":"a","count":1,"note":"x","tags":["t"]}`, ""},
		{"GET", "/things/7", 200, `{"name":"a","note":null}`, "count"},
		{"GET", "/things/7", 200, `{"name":"a","count":1,"note":null,"extra":1}`, "extra"},
		{"GET", "/things/7", 200, `{"name":"a","count":"1","note":null}`, "count"},
		{"GET", "/things/7", 204, ``, "does not list"},
		{"GET", "/things/7", 404, `{"error":{"code":"NOT_FOUND","message":"no thing 7","requestId":"req_1"}}`, ""},
		{"GET", "/things/7", 404, `{"error":{"code":"NOPE","message":"no thing 7","requestId":"req_1"}}`, "NOPE"},
		{"GET", "/elsewhere", 404, `{"error":{"code":"NOT_FOUND","message":"no route"}}`, "requestId"},
		{"DELETE", "/things", 405, `{"error":{"code":"METHOD_NOT_ALLOWED","message":"use POST","requestId":"r"}}`, ""},
		{"GET", "/elsewhere", 404, `not found`, "invalid JSON"},
	} {
		err := d.CheckResponse(c.method, c.path, c.status, js, []byte(c.body))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s %d %s: %v", c.method, c.path, c.status, c.body, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s %d %s: got %v, want an error naming %q", c.method, c.path, c.status, c.body, err, c.want)
		}
	}
	if _, err := Load([]byte(`{"openapi":"3.1.0","paths":{"/x":{"get":{"responses":"none"}}}}`)); err == nil ||
		!strings.Contains(err.Error(), "not a valid OpenAPI 3.1 document") {
		t.Errorf("a document without info and with a bad responses object loaded: %v", err)
	}
	if err := d.CheckResponse("GET", "/x", 404, "text/plain", []byte("404 page not found")); err == nil {
		t.Error("a plain-text error passed")
	}
}

// TestBuildRefuses: a table with a repeated route or operation id does not
// build.
func TestBuildRefuses(t *testing.T) {
	ok := []openapi.Response{{Status: 200, Body: &openapi.Body{Value: thing{}}}}
	for name, ops := range map[string][]openapi.Operation{
		"repeated route": {{Pattern: "GET /a", ID: "a", Responses: ok}, {Pattern: "GET /a", ID: "b", Responses: ok}},
		"repeated id":    {{Pattern: "GET /a", ID: "a", Responses: ok}, {Pattern: "GET /b", ID: "a", Responses: ok}},
		"no method":      {{Pattern: "/a", ID: "a", Responses: ok}},
	} {
		if _, err := openapi.Build(openapi.Info{Title: "t", Version: "1"}, nil, ops); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}
