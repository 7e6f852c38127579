package server

import (
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// TestStrictJSONBodies: every JSON body of the Hub API is strict (issue
// #11 item 4, SPEC §3): invalid UTF-8 and lone surrogates, which
// encoding/json would store as U+FFFD, and a duplicate or differently cased
// key, which would let the last one win where a proxy reads the first, are
// 400 naming the key or where the text is — and nothing is stored.
func TestStrictJSONBodies(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", map[string]string{"name": "dev"}), 201, "", nil)
	noAuth := map[string]string{"Authorization": ""}
	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		msg, at                  string // message substring, details.problems[0].path
	}{
		{"duplicate name", "POST", "/v1/projects", `{"name":"first","name":"second"}`, nil, `duplicate key "name"`, ""},
		{"duplicate name through an escape", "POST", "/v1/projects", `{"name":"first","n\u0061me":"second"}`, nil, `duplicate key "name"`, ""},
		{"name in another case", "POST", "/v1/projects", `{"name":"first","NAME":"second"}`, nil, `unknown field "NAME"`, "NAME"},
		{"only a differently cased name", "POST", "/v1/orgs", `{"Name":"second"}`, nil, `unknown field "Name"`, "Name"},
		{"lone surrogate in a name", "POST", "/v1/projects", `{"name":"x\ud800"}`, nil, `lone surrogate escape \ud800`, "name"},
		{"invalid UTF-8 in a ref", "POST", "/v1/projects/demo/envs/dev/releases", "{\"ref\":\"v1\xff\"}", nil, "invalid UTF-8", "ref"},
		{"lone surrogate in a password", "POST", "/v1/auth/login", `{"email":"` + adminEmail + `","password":"\udc00"}`, noAuth, `\udc00`, "password"},
		{"duplicate email at login", "POST", "/v1/auth/login", `{"email":"a@example.com","email":"` + adminEmail + `","password":"` + adminPassword + `"}`, noAuth, `duplicate key "email"`, ""},
		{"duplicate key in a nested value", "POST", "/v1/tokens", `{"name":"ci","x":{"a":1,"a":2}}`, nil, `duplicate key "a" in x`, "x"},
		{"trailing data", "POST", "/v1/orgs", `{"name":"second"} {}`, nil, "after the JSON value", ""},
		{"invalid UTF-8 outside a string", "POST", "/v1/orgs", "{\"name\":\"second\"\xff}", nil, "invalid UTF-8", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.doH(tc.method, tc.path, tc.body, tc.headers)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			e := r.envelope(t)
			if e.Code != apierr.BadRequest || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("%s %q, want BAD_REQUEST containing %q", e.Code, e.Message, tc.msg)
			}
			if tc.at != "" && !strings.Contains(string(r.body), `"path":"`+tc.at+`"`) {
				t.Errorf("details %s, want a problem at %q", r.body, tc.at)
			}
		})
	}
	var projects struct{ Items []hubapi.Project }
	h.expect(h.do("GET", "/v1/projects", nil), 200, "", &projects)
	if len(projects.Items) != 1 {
		t.Errorf("projects %+v: a refused body created one", projects.Items)
	}
	var releases struct{ Items []hubapi.Release }
	h.expect(h.do("GET", "/v1/projects/demo/envs/dev/releases", nil), 200, "", &releases)
	if len(releases.Items) != 0 {
		t.Errorf("releases %+v: a refused body created one", releases.Items)
	}

	// The permissions body is YAML: as strict, each problem at its line.
	for _, tc := range []struct{ name, yaml, msg string }{
		{"invalid UTF-8", "version: 1\ntables:\n  users:\n    select: [read\xffer]\n", "invalid UTF-8"},
		{"duplicate key", "version: 1\ntables:\n  users:\n    select: [reader]\n    select: [admin]\n", `already defined`},
		{"lone surrogate", "version: 1\ntables:\n  users:\n    select: [\"r\\udc00\"]\n", "lone surrogate escape"},
	} {
		r := h.apply("dev", tc.yaml)
		if r.status != 400 || !strings.Contains(string(r.body), tc.msg) || !strings.Contains(string(r.body), `"line":4`) && !strings.Contains(string(r.body), `"line":5`) {
			t.Errorf("permissions with %s: %d %s; want 400 naming %q at its line", tc.name, r.status, r.body, tc.msg)
		}
	}

	// Well-formed bodies with non-ASCII text and surrogate pairs get
	// through to the service (here: a wrong password).
	r := h.doH("POST", "/v1/auth/login", `{"email":"`+adminEmail+`","password":"café \ud83d\ude00"}`, noAuth)
	if e := r.envelope(t); r.status != 401 || e.Code != apierr.Unauthorized {
		t.Errorf("a strict body: %d %s; want the service's 401", r.status, r.body)
	}
}
