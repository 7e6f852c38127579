package authconfig

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// specExample is the SPEC §7.3 example, with real URLs.
const specExample = `version: 1
issuers:
  - name: auth0
    issuer: https://example.eu.auth0.com/
    audience: my-api                 # optional; checked when set
    jwksUrl: https://example.eu.auth0.com/.well-known/jwks.json?v=2
    rolesClaim: https://example.com/roles
  - name: dev
    issuer: http://127.0.0.1:8788
`

func TestParseSpecExample(t *testing.T) {
	d, problems := Parse([]byte(specExample))
	if len(problems) > 0 {
		t.Fatalf("problems: %+v", problems)
	}
	want := &Document{Version: 1, Issuers: []Issuer{
		{Name: "auth0", Issuer: "https://example.eu.auth0.com/", Audience: "my-api",
			JWKSURL: "https://example.eu.auth0.com/.well-known/jwks.json?v=2", RolesClaim: "https://example.com/roles", Line: 3},
		{Name: "dev", Issuer: "http://127.0.0.1:8788", Line: 8},
	}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("got %+v\nwant %+v", d, want)
	}
	// The bundle carries it as JSON: the round trip keeps it whole.
	b, _ := json.Marshal(d)
	var back Document
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, want) {
		t.Fatalf("JSON round trip: %s → %+v (%v)", b, back, err)
	}
}

func TestParseAccepts(t *testing.T) {
	for name, src := range map[string]string{
		"no issuers":     "version: 1\nissuers: []\n",
		"localhost":      "version: 1\nissuers:\n  - name: a\n    issuer: http://localhost:9000/realms/x\n",
		"LOCALHOST":      "version: 1\nissuers:\n  - name: a\n    issuer: http://LocalHost\n",
		"127.8.9.10":     "version: 1\nissuers:\n  - name: a\n    issuer: http://127.8.9.10:1\n",
		"ipv6 loopback":  "version: 1\nissuers:\n  - name: a\n    issuer: http://[::1]:8080\n",
		"http jwks":      "version: 1\nissuers:\n  - name: a\n    issuer: https://idp.example.com\n    jwksUrl: http://127.0.0.1:1/keys\n",
		"flow style":     `{version: 1, issuers: [{name: a, issuer: "https://idp.example.com"}]}`,
		"quoted strings": "version: 1\nissuers:\n  - name: \"a\"\n    issuer: 'https://idp.example.com'\n",
		"comments":       "# trusted issuers\nversion: 1 # format\nissuers: # none yet\n  []\n",
	} {
		t.Run(name, func(t *testing.T) {
			d, problems := Parse([]byte(src))
			if len(problems) > 0 || d == nil || d.Version != 1 {
				t.Fatalf("problems: %+v, doc %+v", problems, d)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	head := "version: 1\nissuers:\n  - name: a\n"
	for _, tc := range []struct {
		name, src string
		want      []apierr.Problem
	}{
		{"empty", "", []apierr.Problem{{Line: 1, Column: 1, Message: "the file is empty: expected version and issuers"}}},
		{"syntax", "version: 1\nissuers: [\n", nil},
		{"not a mapping", "- a\n", []apierr.Problem{{Line: 1, Column: 1,
			Message: "the document must be a mapping with the keys version and issuers"}}},
		{"missing keys", "{}\n", []apierr.Problem{
			{Path: "version", Line: 1, Column: 1, Message: "version is required (version: 1)"},
			{Path: "issuers", Line: 1, Column: 1, Message: "issuers is required (a list; [] trusts no issuer)"}}},
		{"version 2", "version: 2\nissuers: []\n", []apierr.Problem{{Path: "version", Line: 1, Column: 10, Message: "version must be 1"}}},
		{"version string", "version: \"1\"\nissuers: []\n", []apierr.Problem{{Path: "version", Line: 1, Column: 10, Message: "version must be 1"}}},
		{"unknown top key", "version: 1\nissuers: []\nissuer: x\n", []apierr.Problem{{Path: "issuer", Line: 3, Column: 1,
			Message: `unknown key "issuer" (allowed: version, issuers)`}}},
		{"issuers mapping", "version: 1\nissuers:\n  a: b\n", []apierr.Problem{{Path: "issuers", Line: 3, Column: 3,
			Message: "issuers must be a list of issuers (each with name and issuer)"}}},
		{"issuer scalar", "version: 1\nissuers: [x]\n", []apierr.Problem{{Path: "issuers[0]", Line: 2, Column: 11,
			Message: "an issuer must be a mapping with name and issuer"}}},
		{"unknown issuer key", head + "    issuer: https://i.example\n    jwks_url: https://i.example/k\n",
			[]apierr.Problem{{Path: "issuers[0].jwks_url", Line: 5, Column: 5,
				Message: `unknown key "jwks_url" in an issuer (allowed: name, issuer, audience, jwksUrl, rolesClaim)`}}},
		{"missing name and issuer", "version: 1\nissuers:\n  - audience: x\n", []apierr.Problem{
			{Path: "issuers[0].name", Line: 3, Column: 5, Message: "an issuer needs a name"},
			{Path: "issuers[0].issuer", Line: 3, Column: 5, Message: "an issuer needs issuer (its exact iss URL)"}}},
		{"bad name", "version: 1\nissuers:\n  - name: Auth0\n    issuer: https://i.example\n", []apierr.Problem{{Path: "issuers[0].name", Line: 3, Column: 11,
			Message: `invalid issuer name "Auth0": use 1-63 characters, lowercase letters, digits and '-', starting with a letter`}}},
		{"duplicate name", head + "    issuer: https://a.example\n  - name: a\n    issuer: https://b.example\n", []apierr.Problem{{Path: "issuers[1].name", Line: 5, Column: 5,
			Message: `issuer name "a" is used twice (also at line 3)`}}},
		{"duplicate name, other problems", head + "    issuer: https://a.example\n  - name: a\n    issuer: http://b.example\n", []apierr.Problem{
			{Path: "issuers[1].name", Line: 5, Column: 5, Message: `issuer name "a" is used twice (also at line 3)`},
			{Path: "issuers[1].issuer", Line: 6, Column: 13,
				Message: `issuer must use https:// (http:// is allowed only for loopback hosts: 127.0.0.1, [::1], localhost; found host "b.example")`}}},
		{"duplicate key", head + "    issuer: https://a.example\n    issuer: https://b.example\n", []apierr.Problem{{Line: 5, Column: 5,
			Message: `invalid YAML: mapping key "issuer" already defined at [4:5]`}}},
		{"http issuer", head + "    issuer: http://idp.example.com\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: `issuer must use https:// (http:// is allowed only for loopback hosts: 127.0.0.1, [::1], localhost; found host "idp.example.com")`}}},
		{"http jwks", head + "    issuer: https://idp.example.com\n    jwksUrl: http://10.0.0.1/keys\n", []apierr.Problem{{Path: "issuers[0].jwksUrl", Line: 5, Column: 14,
			Message: `jwksUrl must use https:// (http:// is allowed only for loopback hosts: 127.0.0.1, [::1], localhost; found host "10.0.0.1")`}}},
		{"localhost lookalike", head + "    issuer: http://localhost.evil.example\n", nil},
		{"128.0.0.1", head + "    issuer: http://128.0.0.1\n", nil},
		{"userinfo", head + "    issuer: https://user:pw@idp.example.com\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must not carry a user or password"}}},
		{"fragment", head + "    issuer: https://idp.example.com/#x\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must not have a fragment (#…)"}}},
		{"issuer query", head + "    issuer: https://idp.example.com/?a=b\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must not have a query (?…)"}}},
		{"ftp", head + "    issuer: ftp://idp.example.com\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: `issuer must be an https:// URL (found scheme "ftp")`}}},
		{"relative", head + "    issuer: idp.example.com\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must be an absolute https:// URL (https://host/…)"}}},
		{"credential without scheme", head + "    issuer: admin:hunter2@idp.example.com\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must be an absolute https:// URL (https://host/…)"}}},
		{"no host", head + "    issuer: https:///path\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must name a host"}}},
		{"audience number", head + "    issuer: https://i.example\n    audience: 5\n", []apierr.Problem{{Path: "issuers[0].audience", Line: 5, Column: 15,
			Message: "audience must be a string"}}},
		{"empty rolesClaim", head + "    issuer: https://i.example\n    rolesClaim: \"\"\n", []apierr.Problem{{Path: "issuers[0].rolesClaim", Line: 5, Column: 17,
			Message: "rolesClaim must not be empty"}}},
		{"null issuer", head + "    issuer:\n", []apierr.Problem{{Path: "issuers[0].issuer", Line: 4, Column: 13,
			Message: "issuer must be a string"}}},
		{"alias", "version: 1\nissuers:\n  - &x {name: a, issuer: https://i.example}\n  - *x\n", nil},
		{"tag", "version: !!int 1\nissuers: []\n", nil},
		{"two documents", "version: 1\nissuers: []\n---\nversion: 1\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, problems := Parse([]byte(tc.src))
			if d != nil || len(problems) == 0 {
				t.Fatalf("want problems, got doc %+v", d)
			}
			for _, p := range problems {
				if p.Line < 1 || p.Message == "" {
					t.Fatalf("problem without line or message: %+v", p)
				}
			}
			if tc.want != nil && !reflect.DeepEqual(problems, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", problems, tc.want)
			}
		})
	}
}

// TestParseReportsEveryProblem checks that one apply shows all problems,
// in file order.
func TestParseReportsEveryProblem(t *testing.T) {
	src := "version: 3\nissuers:\n  - name: A\n    issuer: http://idp.example.com\n    extra: 1\n"
	_, problems := Parse([]byte(src))
	var lines []int
	for _, p := range problems {
		lines = append(lines, p.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 3, 4, 5}) {
		t.Fatalf("lines %v, problems %+v", lines, problems)
	}
}

func TestTooManyIssuers(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nissuers:\n")
	for i := 0; i <= MaxIssuers; i++ {
		b.WriteString("  - {name: i" + strings.Repeat("x", i) + ", issuer: https://i.example}\n")
	}
	_, problems := Parse([]byte(b.String()))
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "too many issuers") {
		t.Fatalf("%+v", problems)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.255.0.9": true, "::1": true, "::ffff:127.0.0.1": true,
		"0.0.0.0": false, "::": false, "10.0.0.1": false, "localhost.": false, "example.com": false, "fe80::1%lo": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}

// A URL written with a credential is refused without echoing it: problems
// end up in responses and logs (SPEC §3 message rules).
func TestProblemsNeverEchoCredentials(t *testing.T) {
	for _, u := range []string{
		"https://ops:hunter2@idp.example.com", "ops:hunter2@idp.example.com", "http://ops:hunter2@idp.example.com",
		"ftp://ops:hunter2@idp.example.com", "//ops:hunter2@idp.example.com", "https://ops:hunter2@[::1",
	} {
		for _, key := range []string{"issuer", "jwksUrl"} {
			src := "version: 1\nissuers:\n  - name: a\n    issuer: https://i.example\n    " + key + ": '" + u + "'\n"
			if key == "issuer" {
				src = "version: 1\nissuers:\n  - name: a\n    issuer: '" + u + "'\n"
			}
			_, problems := Parse([]byte(src))
			if len(problems) == 0 {
				t.Errorf("%s %q accepted", key, u)
			}
			for _, p := range problems {
				if strings.Contains(p.Message, "hunter2") || strings.Contains(p.Path, "hunter2") {
					t.Errorf("%s %q: problem echoes the password: %+v", key, u, p)
				}
			}
		}
	}
}
