package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/openapi/openapitest"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

// TestOpenAPIDocument: openapi.json is current, documents exactly the
// Bridge's routes, and its examples validate against its schemas.
func TestOpenAPIDocument(t *testing.T) {
	openapitest.CheckDocument(t, OpenAPI, OpenAPIDocument, "openapi.json", Routes())
}

// TestOpenAPIRealAnswers validates named answers of a running Hub and
// Bridge against their documents: the §3 envelope (a handler's error, an
// unknown route, a wrong method), login tokens, the project list, a
// release, and /call select, insert and its errors. (The test helpers also
// check every answer of every test; this one says which cases must be
// among them.) It also checks GET /openapi.json is public and cacheable.
func TestOpenAPIRealAnswers(t *testing.T) {
	s := newStack(t, nil)
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	admin, reader, _ := s.setup(db)
	hubDoc := openapitest.MustLoad(t, hubserver.OpenAPIDocument())
	bridgeDoc := openapitest.MustLoad(t, OpenAPIDocument)
	owner := map[string]string{"Authorization": "Bearer " + s.hubToken}
	check := func(d *openapitest.Doc, base, method, path string, body any, headers map[string]string, status int) reply {
		t.Helper()
		r := do(t, method, base+path, body, headers)
		if r.status != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, status, r.body)
		}
		if err := d.CheckResponse(method, path, r.status, r.header.Get("Content-Type"), r.body); err != nil {
			t.Error(err)
		}
		return r
	}
	hub := func(method, path string, body any, headers map[string]string, status int) reply {
		t.Helper()
		return check(hubDoc, s.hubURL, method, path, body, headers, status)
	}
	call := func(headers map[string]string, body any, status int) reply {
		t.Helper()
		return check(bridgeDoc, s.bridgeURL, "POST", "/call", body, headers, status)
	}

	hub("POST", "/v1/auth/login", hubapi.Login{Email: "owner@example.com", Password: "bridge-tests-owner-pw"}, nil, 200)
	hub("POST", "/v1/auth/login", hubapi.Login{Email: "owner@example.com", Password: "wrong"}, nil, 401)
	hub("GET", "/v1/projects", nil, owner, 200)
	hub("GET", "/v1/projects", nil, nil, 401)
	hub("GET", "/v1/projects/nope", nil, owner, 404)
	hub("POST", "/v1/projects", hubapi.CreateProject{Name: "Bad Name"}, owner, 400)
	hub("GET", "/v1/projects/demo/envs/dev/releases/current", nil, owner, 200)
	hub("POST", "/v1/projects/demo/envs/dev/releases", hubapi.CreateRelease{Ref: "r2"}, owner, 201)
	hub("GET", "/v1/projects/demo/envs/dev/releases", nil, owner, 200)
	hub("GET", "/v1/nowhere", nil, owner, 404)
	hub("DELETE", "/v1/version", nil, nil, 405)

	call(key(admin), map[string]any{"path": "db/main/users/select", "params": map[string]any{"count": true, "limit": 1}}, 200)
	call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": []any{map[string]any{"email": "cy@x", "name": "Cy"}}}}, 200)
	call(key(admin), map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": map[string]any{"email": "cy@x", "name": "Cy"}}}, 409)
	call(key(reader), map[string]any{"path": "db/main/users/select", "params": map[string]any{"select": []string{"secret"}}}, 403)
	call(key(admin), map[string]any{"path": "db/main/nope/select"}, 404)
	call(key(admin), map[string]any{"path": "nope"}, 400)
	call(nil, map[string]any{"path": "db/main/users/select"}, 401)
	call(anon("demo", "dev"), map[string]any{"path": "db/main/notes/select"}, 200)
	check(bridgeDoc, s.bridgeURL, "GET", "/call", nil, nil, 405)
	check(bridgeDoc, s.bridgeURL, "GET", "/nowhere", nil, nil, 404)

	for _, c := range []struct {
		d    *openapitest.Doc
		base string
	}{{hubDoc, s.hubURL}, {bridgeDoc, s.bridgeURL}} {
		r := check(c.d, c.base, "GET", "/openapi.json", nil, nil, 200)
		etag := r.header.Get("ETag")
		if etag == "" || !strings.Contains(r.header.Get("Cache-Control"), "public") {
			t.Fatalf("%s/openapi.json: ETag %q, Cache-Control %q", c.base, etag, r.header.Get("Cache-Control"))
		}
		if _, err := openapitest.Load(r.body); err != nil {
			t.Fatalf("%s/openapi.json: %v", c.base, err)
		}
		check(c.d, c.base, "GET", "/openapi.json", nil, map[string]string{"If-None-Match": etag}, 304)
	}
	if !bytes.Equal(do(t, "GET", s.bridgeURL+"/openapi.json", nil, nil).body, OpenAPIDocument) {
		t.Fatal("the Bridge serves another document than openapi.json")
	}

	// A body off its schema fails: the check is not vacuous.
	if err := bridgeDoc.CheckResponse("POST", "/call", 200, "application/json", []byte(`{"data":[{"id":1}]}`)); err == nil {
		t.Error("a /call answer without meta passed")
	}
	if err := hubDoc.CheckResponse("POST", "/v1/auth/login", 200, "application/json", []byte(`{"accessToken":"x"}`)); err == nil {
		t.Error("a login answer without refreshToken passed")
	}
}
