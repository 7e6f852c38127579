// Package openapi builds the OpenAPI 3.1 documents of the Hub API and the
// Bridge's /call (SPEC §15) from a table of operations whose request and
// response bodies are Go values: the value's type gives the JSON Schema
// (2020-12, by reflection over the encoding/json tags, so the document
// cannot drift from the types the servers encode) and the value itself is
// the example. Each server keeps its table beside its routes, writes the
// document into the repository with `go generate`, embeds it and serves it
// at GET /openapi.json; tests check the checked-in file is current, that
// its routes are exactly the server's, and that examples and real
// responses validate against its schemas (decision 0035). No I/O here.
package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
)

// Media types of bodies that are not JSON.
const (
	JSON = "application/json"
	YAML = "application/yaml"
	HTML = "text/html"
	Text = "text/plain"
)

// Body is a request or response body.
type Body struct {
	// Media is the content type; JSON when empty.
	Media string
	// Value is an example of the body: its Go type gives the schema (unless
	// Schema is set) and the value, encoded as JSON, is the example.
	Value any
	// Schema replaces the schema reflected from Value, for bodies whose
	// shape no Go type describes (the /call params, raw text).
	Schema Schema
	// Examples are named examples, each validated like Value.
	Examples map[string]any
}

// Response is one documented answer of an operation. Errors are documented
// once for all (the §3 envelope as the default response).
type Response struct {
	Status      int
	Description string
	Body        *Body
	// Headers names response headers worth documenting (Location, ETag).
	Headers []string
}

// Param is a query or header parameter.
type Param struct {
	Name        string
	In          string // "query" or "header"
	Description string
	Required    bool
}

// Operation is one route of a server with what it takes and answers.
type Operation struct {
	// Pattern is the route as the server registers it: "METHOD /path/{x}".
	Pattern     string
	ID          string
	Summary     string
	Tag         string
	Security    []string // names of security schemes, any of which will do; empty: none
	Params      []Param
	Request     *Body
	Responses   []Response
	Description string
	// Pages: a browser route, whose errors are HTML pages to a browser
	// (Accept: text/html) and §3 envelopes to other clients.
	Pages bool
}

// Schema is a JSON Schema (2020-12) object.
type Schema = map[string]any

// SecurityScheme is an OpenAPI security scheme object.
type SecurityScheme = map[string]any

// Info names a document.
type Info struct {
	Title       string
	Version     string
	Description string
}

// Build returns the OpenAPI 3.1 document of ops, indented JSON with a
// final newline (encoding/json sorts map keys, so the text is stable).
func Build(info Info, schemes map[string]SecurityScheme, ops []Operation) ([]byte, error) {
	g := &generator{components: map[string]any{}, names: map[string]reflect.Type{}, done: map[reflect.Type]string{}}
	paths := map[string]map[string]any{}
	ids := map[string]bool{}
	for _, op := range ops {
		if op.ID == "" || ids[op.ID] {
			return nil, fmt.Errorf("openapi: %s: operation id %q is empty or not unique", op.Pattern, op.ID)
		}
		ids[op.ID] = true
		method, path, ok := strings.Cut(op.Pattern, " ")
		if !ok {
			return nil, fmt.Errorf("openapi: pattern %q has no method", op.Pattern)
		}
		o, err := g.operation(op, path)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", op.Pattern, err)
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		m := strings.ToLower(method)
		if _, dup := paths[path][m]; dup {
			return nil, fmt.Errorf("openapi: %s listed twice", op.Pattern)
		}
		paths[path][m] = o
	}
	if schemes == nil {
		schemes = map[string]SecurityScheme{}
	}
	g.component(problemType) // named by the envelope's details
	g.component(missingType)
	g.components["ErrorEnvelope"] = errorEnvelope()
	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info":              map[string]any{"title": info.Title, "version": info.Version, "description": info.Description},
		"paths":             paths,
		"components": map[string]any{
			"schemas":         g.components,
			"securitySchemes": schemes,
			"responses": map[string]any{"Error": map[string]any{
				"description": "An error: the §3 envelope, with the status of its code.",
				"headers":     requestIDHeader(),
				"content":     map[string]any{JSON: map[string]any{"schema": ref("ErrorEnvelope")}},
			}},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Serve answers GET /openapi.json with doc: public, cacheable for an hour
// and revalidated by ETag (the document changes only with the binary).
func Serve(w http.ResponseWriter, r *http.Request, doc []byte) {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=3600")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", JSON)
	_, _ = w.Write(doc)
}

var pathParam = regexp.MustCompile(`\{([^{}]+)\}`)

func (g *generator) operation(op Operation, path string) (map[string]any, error) {
	o := map[string]any{"operationId": op.ID, "summary": op.Summary, "tags": []string{op.Tag}}
	if op.Description != "" {
		o["description"] = op.Description
	}
	security := []map[string][]string{}
	for _, s := range op.Security {
		if s == "" {
			security = append(security, map[string][]string{}) // anonymous allowed
			continue
		}
		security = append(security, map[string][]string{s: {}})
	}
	o["security"] = security
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": Schema{"type": "string"}})
	}
	for _, p := range op.Params {
		params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required,
			"description": p.Description, "schema": Schema{"type": "string"}})
	}
	if params != nil {
		o["parameters"] = params
	}
	if op.Request != nil {
		c, err := g.content(op.Request)
		if err != nil {
			return nil, err
		}
		o["requestBody"] = map[string]any{"required": true, "content": c}
	}
	responses := map[string]any{"default": map[string]any{"$ref": "#/components/responses/Error"}}
	for _, r := range op.Responses {
		desc := r.Description
		if desc == "" {
			desc = http.StatusText(r.Status)
		}
		resp := map[string]any{"description": desc}
		headers := requestIDHeader()
		for _, h := range r.Headers {
			headers[h] = map[string]any{"schema": Schema{"type": "string"}}
		}
		resp["headers"] = headers
		if r.Body != nil {
			c, err := g.content(r.Body)
			if err != nil {
				return nil, err
			}
			resp["content"] = c
		}
		responses[strconv.Itoa(r.Status)] = resp
	}
	if op.Pages {
		for _, class := range []string{"4XX", "5XX"} {
			responses[class] = map[string]any{"description": "An error: a page to a browser, else the §3 envelope.", "headers": requestIDHeader(),
				"content": map[string]any{HTML: map[string]any{"schema": Schema{"type": "string"}}, JSON: map[string]any{"schema": ref("ErrorEnvelope")}}}
		}
	}
	o["responses"] = responses
	return o, nil
}

func requestIDHeader() map[string]any {
	return map[string]any{"X-Request-Id": map[string]any{
		"description": "The request id (the caller's, when printable ASCII of at most 128 characters, else generated; SPEC §3).",
		"required":    true, "schema": Schema{"type": "string"}}}
}

func (g *generator) content(b *Body) (map[string]any, error) {
	media := b.Media
	if media == "" {
		media = JSON
	}
	s := b.Schema
	if s == nil {
		if b.Value == nil {
			return nil, fmt.Errorf("a body needs a Value or a Schema")
		}
		s = g.schema(reflect.TypeOf(b.Value))
	}
	m := map[string]any{"schema": s}
	if b.Value != nil {
		if str, ok := b.Value.(string); ok && media != JSON {
			m["example"] = str
		} else {
			raw, err := json.Marshal(b.Value)
			if err != nil {
				return nil, err
			}
			m["example"] = json.RawMessage(raw)
		}
	}
	if len(b.Examples) > 0 {
		named := map[string]any{}
		for name, v := range b.Examples {
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			named[name] = map[string]any{"value": json.RawMessage(raw)}
		}
		m["examples"] = named
	}
	return map[string]any{media: m}, nil
}

func ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// errorEnvelope is the one schema of every error answer (SPEC §3).
func errorEnvelope() Schema {
	var codes []string
	for _, c := range apierr.Codes() {
		codes = append(codes, string(c))
	}
	return Schema{
		"type":                 "object",
		"description":          "The error envelope of every error answer of the Hub and the Bridge (SPEC §3).",
		"required":             []string{"error"},
		"additionalProperties": false,
		"properties": map[string]any{"error": Schema{
			"type":                 "object",
			"required":             []string{"code", "message", "requestId"},
			"additionalProperties": false,
			"properties": map[string]any{
				"code":      Schema{"type": "string", "enum": codes},
				"message":   Schema{"type": "string", "minLength": 1},
				"requestId": Schema{"type": "string", "minLength": 1},
				"details": Schema{
					"type":        "object",
					"description": "Structured details: problems[] for validation failures, missing[] for drift, reason for some auth flows.",
					"properties": map[string]any{
						"problems": Schema{"type": "array", "items": ref("Problem")},
						"missing":  Schema{"type": "array", "items": ref("Missing")},
					},
				},
			},
		}},
	}
}

// generator turns Go types into component schemas, one per named struct.
type generator struct {
	components map[string]any
	names      map[string]reflect.Type // component name → its type
	done       map[reflect.Type]string // type → component name
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	problemType = reflect.TypeFor[apierr.Problem]()
	missingType = reflect.TypeFor[apierr.Missing]()
)

func (g *generator) schema(t reflect.Type) Schema {
	switch t {
	case timeType:
		return Schema{"type": "string", "format": "date-time"}
	case rawType:
		return Schema{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return Schema{"description": "any JSON value"}
	case reflect.Struct:
		return ref(g.component(t))
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

// component registers the schema of struct t and returns its name: the
// type's name, qualified by its package when two packages share it
// (schema.Snapshot, hubapi.Snapshot); a generic List[hubapi.Project] is
// ProjectList.
func (g *generator) component(t reflect.Type) string {
	if name, ok := g.done[t]; ok {
		return name
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		arg := name[i+1 : len(name)-1]
		arg = arg[strings.LastIndexByte(arg, '.')+1:]
		name = arg + name[:i]
	}
	if other, taken := g.names[name]; taken && other != t {
		pkg := t.PkgPath()[strings.LastIndexByte(t.PkgPath(), '/')+1:]
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	g.names[name] = t
	g.done[t] = name
	props := map[string]any{}
	required := []string{}
	g.fields(t, props, &required)
	sort.Strings(required)
	g.components[name] = Schema{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	return name
}

// fields adds t's JSON fields as encoding/json sees them: embedded structs
// without a tag are flattened, "-" skipped, omitempty/omitzero optional.
// A pointer without omitempty may be null.
func (g *generator) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		s := g.schema(f.Type)
		if f.Type.Kind() == reflect.Pointer && !optional {
			s = Schema{"anyOf": []any{s, Schema{"type": "null"}}}
		}
		props[name] = s
		if !optional {
			*required = append(*required, name)
		}
	}
}
