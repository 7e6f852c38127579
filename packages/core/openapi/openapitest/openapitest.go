// Package openapitest checks an OpenAPI 3.1 document against the server it
// describes, for tests (decision 0035): its routes against the server's
// route list, its examples against its own schemas, and real responses
// against the schema of their route and status, with a JSON Schema 2020-12
// validator. Only tests import it, so the validator stays out of the
// binaries.
package openapitest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const docURL = "mem:///openapi.json"

// oasSchema is the JSON Schema of OpenAPI 3.1 documents (the OpenAPI
// Initiative's, without Schema Object validation, as packaged with
// $dynamicRefs resolved by @seriousme/openapi-schema-validator 2.11.0, MIT):
// Load checks each document against it, offline.
//
//go:embed oas-3.1.schema.json
var oasSchema []byte

// Doc is a loaded document with its schemas compiled on demand.
type Doc struct {
	raw   map[string]any
	paths map[string]map[string]any // path template → method (lower case) → operation

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// MustLoad loads a document or fails t.
func MustLoad(t testing.TB, doc []byte) *Doc {
	t.Helper()
	d, err := Load(doc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Load parses a document.
func Load(doc []byte) (*Doc, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok || raw["openapi"] != "3.1.0" {
		return nil, fmt.Errorf("not an OpenAPI 3.1.0 document")
	}
	if err := validOpenAPI(v); err != nil {
		return nil, err
	}
	d := &Doc{raw: raw, paths: map[string]map[string]any{}, compiled: map[string]*jsonschema.Schema{}}
	paths, _ := raw["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		d.paths[p] = map[string]any{}
		for m, op := range ops {
			d.paths[p][m] = op
		}
	}
	d.compiler = jsonschema.NewCompiler()
	d.compiler.DefaultDraft(jsonschema.Draft2020)
	if err := d.compiler.AddResource(docURL, v); err != nil {
		return nil, err
	}
	return d, nil
}

// validOpenAPI checks doc against the OpenAPI 3.1 schema.
func validOpenAPI(doc any) error {
	meta, err := jsonschema.UnmarshalJSON(bytes.NewReader(oasSchema))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	const id = "mem:///oas-3.1.schema.json"
	if err := c.AddResource(id, meta); err != nil {
		return err
	}
	s, err := c.Compile(id)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("not a valid OpenAPI 3.1 document: %v", err)
	}
	return nil
}

// Routes lists the document's operations as "METHOD /path/{x}", sorted.
func (d *Doc) Routes() []string {
	var out []string
	for p, ops := range d.paths {
		for m := range ops {
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// pointer escapes one JSON pointer token.
func pointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

func (d *Doc) schema(loc string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[loc]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(docURL + "#" + loc)
	if err != nil {
		return nil, err
	}
	d.compiled[loc] = s
	return s, nil
}

// Example is one example of the document and where it is.
type Example struct {
	Where string // e.g. "POST /v1/auth/login response 200"
	Err   error  // nil when it validates
}

// Examples validates every JSON example of every request and response
// body against the schema beside it.
func (d *Doc) Examples() []Example {
	var out []Example
	for _, route := range d.Routes() {
		method, path, _ := strings.Cut(route, " ")
		op, _ := d.paths[path][strings.ToLower(method)].(map[string]any)
		base := "/paths/" + pointer(path) + "/" + strings.ToLower(method)
		check := func(where, loc string, content any) {
			media, _ := content.(map[string]any)
			for mt, m := range media {
				mm, _ := m.(map[string]any)
				if mt != "application/json" {
					continue
				}
				examples := map[string]any{}
				if ex, ok := mm["example"]; ok {
					examples[""] = ex
				}
				named, _ := mm["examples"].(map[string]any)
				for name, ex := range named {
					exm, _ := ex.(map[string]any)
					examples[" "+name] = exm["value"]
				}
				for _, name := range keys(examples) {
					e := Example{Where: route + " " + where + name}
					s, err := d.schema(loc + "/content/" + pointer(mt) + "/schema")
					if err == nil {
						err = s.Validate(examples[name])
					}
					e.Err = err
					out = append(out, e)
				}
			}
		}
		if rb, ok := op["requestBody"].(map[string]any); ok {
			check("request", base+"/requestBody", rb["content"])
		}
		resps, _ := op["responses"].(map[string]any)
		for status, r := range resps {
			rm, _ := r.(map[string]any)
			check("response "+status, base+"/responses/"+status, rm["content"])
		}
	}
	return out
}

// match finds the path template of a concrete path: literal segments
// equal, {x} any one non-empty segment; the template with more literal
// segments wins (as net/http's most specific pattern).
func (d *Doc) match(path string) (string, bool) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for tpl := range d.paths {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit := 0
		ok := true
		for i, t := range ts {
			if strings.HasPrefix(t, "{") {
				ok = ok && segs[i] != ""
				continue
			}
			ok = ok && t == segs[i]
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit = tpl, lit
		}
	}
	return best, bestLit >= 0
}

// CheckResponse validates one real answer of the server: the route must be
// documented for method, the status documented (errors fall to the default
// §3 envelope), and a JSON body must validate against its schema. Unknown
// routes and wrong methods must be §3 envelopes too.
func (d *Doc) CheckResponse(method, path string, status int, contentType string, body []byte) error {
	loc := "/components/responses/Error"
	var route string
	if tpl, ok := d.match(path); ok {
		if _, ok := d.paths[tpl][strings.ToLower(method)]; ok {
			route = method + " " + tpl
			resps, _ := d.paths[tpl][strings.ToLower(method)].(map[string]any)["responses"].(map[string]any)
			base := "/paths/" + pointer(tpl) + "/" + strings.ToLower(method) + "/responses/"
			class := strconv.Itoa(status/100) + "XX"
			if _, ok := resps[strconv.Itoa(status)]; ok {
				loc = base + strconv.Itoa(status)
			} else if _, ok := resps[class]; ok {
				loc = base + class
			} else if status < 400 && status != http.StatusNotModified {
				return fmt.Errorf("%s answered %d, which the document does not list", route, status)
			}
		}
	}
	if route == "" {
		route = method + " " + path + " (no route)"
	}
	if status == http.StatusNotModified || (status >= 300 && status < 400 && len(body) == 0) {
		return nil
	}
	content, _ := d.lookup(loc)["content"].(map[string]any)
	if content == nil {
		if len(body) > 0 && status >= 400 {
			return fmt.Errorf("%s answered %d with a body the document does not describe", route, status)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if _, ok := content[mt]; !ok {
		return fmt.Errorf("%s answered %d with Content-Type %q; the document lists %v", route, status, contentType, keys(content))
	}
	if mt != "application/json" {
		return nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s answered %d with invalid JSON: %v", route, status, err)
	}
	s, err := d.schema(loc + "/content/" + pointer(mt) + "/schema")
	if err != nil {
		return err
	}
	if err := s.Validate(v); err != nil {
		if status < 400 { // success bodies may hold tokens or keys: not echoed
			return fmt.Errorf("%s answered %d with a body that does not match the document: %v", route, status, err)
		}
		return fmt.Errorf("%s answered %d with a body that does not match the document: %v\nbody: %s", route, status, err, clip(body))
	}
	return nil
}

func (d *Doc) lookup(loc string) map[string]any {
	var cur any = d.raw
	for _, tok := range strings.Split(strings.TrimPrefix(loc, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, _ := cur.(map[string]any)
		cur = m[tok]
	}
	m, _ := cur.(map[string]any)
	return m
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// Handler wraps h so that every answer it gives is checked with
// CheckResponse; a mismatch fails t. Wrap a server's handler in a test and
// every request of the test checks the document against reality.
// Benchmarks are not slowed: with a *testing.B it returns h.
func Handler(t testing.TB, d *Doc, h http.Handler) http.Handler {
	if _, bench := t.(*testing.B); bench {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, buf: &bytes.Buffer{}}
		h.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if r.Method == http.MethodHead || r.Method == http.MethodOptions {
			return
		}
		if err := d.CheckResponse(r.Method, r.URL.Path, status, rec.Header().Get("Content-Type"), rec.buf.Bytes()); err != nil {
			t.Errorf("openapi: %v", err)
		}
	})
}

// recorder passes an answer through while keeping a copy of it. Long
// polls and streams flush through it.
type recorder struct {
	http.ResponseWriter
	status int
	buf    *bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.buf.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Record runs req against h and checks the answer, returning it.
func Record(t testing.TB, d *Doc, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler(t, d, h).ServeHTTP(rec, req)
	return rec
}

// MustJSON encodes v for a request body.
func MustJSON(t testing.TB, v any) *bytes.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// CheckDocument runs the document tests a server owes (decision 0035):
//   - checkedIn (the file at path, which the server embeds and serves)
//     equals what build makes now; STK_UPDATE_OPENAPI=1 (make openapi)
//     rewrites the file instead;
//   - every route the server registers (routes, "METHOD /path/{x}") is
//     documented, and the document names no other (method, path and
//     {param} names alike);
//   - every request and response example validates against its schema.
func CheckDocument(t *testing.T, build func() ([]byte, error), checkedIn []byte, path string, routes []string) {
	t.Helper()
	doc, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STK_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		checkedIn = doc
	} else if !bytes.Equal(doc, checkedIn) {
		t.Errorf("%s is stale: run `make openapi` and commit it", path)
	}
	d := MustLoad(t, checkedIn)
	documented := d.Routes()
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but missing from %s", r, path)
		}
	}
	for _, r := range documented {
		if !slices.Contains(routes, r) {
			t.Errorf("%s documents %q, which the server does not serve", path, r)
		}
	}
	n := 0
	for _, e := range d.Examples() {
		n++
		if e.Err != nil {
			t.Errorf("%s: example of %s: %v", path, e.Where, e.Err)
		}
	}
	if n < len(routes)/2 {
		t.Errorf("%s: only %d examples for %d routes", path, n, len(routes))
	}
}
