package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	relID1   = "rel_01JD3W7V4T9Q8X2M5N6P7R8S9T"
	relID2   = "rel_01JD3W8A4T9Q8X2M5N6P7R8S9V"
	keyID1   = "key_01JD3W7V4T9Q8X2M5N6P7R8S9T"
	evtID1   = "evt_01JD3W7V4T9Q8X2M5N6P7R8S9T"
	permJSON = `{"id":"perm_01","project":"demo","env":"dev","hash":"sha256:cd","warnings":[{"connection":"main","table":"users","column":"owner_id","message":"condition on a column without an index"}],"createdAt":"2026-01-02T03:04:05Z","createdBy":"dev"}`
	relJSON  = `{"id":"` + relID1 + `","ref":"3f2c1ab","project":"demo","env":"dev","reused":false,"current":true,"hash":"sha256:ef","permissionsId":"perm_01","snapshots":{"main":"snap_01"},"createdAt":"2026-01-02T03:04:05Z","createdBy":"dev"}`
	keyJSON  = `{"keyId":"` + keyID1 + `","name":"server","roles":["writer","reader"],"status":"active","project":"demo","env":"dev","createdAt":"2026-01-02T03:04:05Z","expiresAt":null,"lastUsedAt":null}`
	// secretKey is the one-time key of createdKeyJSON.
	secretKey      = "stk_" + keyID1 + "_4fTqZ9s0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
	createdKeyJSON = `{"keyId":"` + keyID1 + `","name":"server","roles":["writer","reader"],"status":"active","project":"demo","env":"dev","createdAt":"2026-01-02T03:04:05Z","expiresAt":null,"lastUsedAt":null,"apiKey":"` + secretKey + `"}`
	evtJSON        = `{"id":"` + evtID1 + `","time":"2026-01-02T03:04:05Z","actor":"dev","action":"release.create","target":"demo/dev/` + relID1 + `","outcome":"success","requestId":"req_9","project":"demo"}`
	permYAML       = "version: 1\ntables:\n  users:\n    select: [reader]\n"
)

// writeFile writes content to name in a new temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Flags map to one request each: path, query, body and content type.
func TestReleaseFlagsToRequests(t *testing.T) {
	permFile := writeFile(t, "permissions.yaml", permYAML)
	cases := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		route      string
		status     int
		body       string
		wantQuery  string
		wantCT     string // content type sent; "" for no body
		wantBody   string // raw YAML, or JSON compared as JSON
		wantStdout []string
		wantStderr []string
	}{
		{name: "permissions apply", args: []string{"permissions", "apply", "--project", "demo", "--env", "dev", "--file", permFile},
			route: "PUT /v1/projects/demo/envs/dev/permissions", status: 201, body: permJSON,
			wantCT: "application/yaml", wantBody: permYAML,
			wantStdout: []string{"staged permissions perm_01 in demo/dev (new, 1 warning)\n"},
			wantStderr: []string{"warning: main.users.owner_id: condition on a column without an index\n"}},
		{name: "permissions apply stdin reused", args: []string{"permissions", "apply", "-f", "-"}, stdin: permYAML,
			env:   map[string]string{EnvProject: "demo", EnvEnv: "dev"},
			route: "PUT /v1/projects/demo/envs/dev/permissions", status: 200, body: `{"id":"perm_01","reused":true,"warnings":[]}`,
			wantCT: "application/yaml", wantBody: permYAML,
			wantStdout: []string{"staged permissions perm_01 in demo/dev (unchanged, latest version reused, 0 warnings)"}},
		{name: "permissions show", args: []string{"permissions", "show", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/permissions", status: 200, body: `{"id":"perm_01","source":"version: 1\ntables: {}\n"}`,
			wantStdout: []string{"version: 1\ntables: {}\n"}},
		{name: "release create", args: []string{"release", "create", "--project", "demo", "--env", "dev", "--ref", "3f2c1ab"},
			route: "POST /v1/projects/demo/envs/dev/releases", status: 201, body: relJSON,
			wantCT: "application/json", wantBody: `{"ref":"3f2c1ab"}`,
			wantStdout: []string{"created release " + relID1 + " of demo/dev (ref 3f2c1ab), now current\n"}},
		{name: "release create reused", args: []string{"release", "create", "--project", "demo", "--env", "dev", "--ref", "3f2c1ab"},
			route: "POST /v1/projects/demo/envs/dev/releases", status: 200, body: strings.Replace(relJSON, `"reused":false`, `"reused":true`, 1),
			wantCT: "application/json", wantBody: `{"ref":"3f2c1ab"}`,
			wantStdout: []string{"release " + relID1 + " of demo/dev reused: content and ref equal the current release (ref 3f2c1ab)"}},
		{name: "release list", args: []string{"release", "list", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/releases", status: 200, body: `{"items":[` + relJSON + `]}`,
			wantStdout: []string{"ID  ", "REF", "CURRENT", relID1 + "  3f2c1ab  yes      2026-01-02T03:04:05Z  dev  -"}},
		{name: "release current", args: []string{"release", "current", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/releases/current", status: 200, body: relJSON,
			wantStdout: []string{"release        " + relID1, "env            demo/dev", "snapshots      main=snap_01", "permissions    perm_01"}},
		{name: "release show", args: []string{"release", "show", "--project", "demo", "--env", "dev", relID1},
			route: "GET /v1/projects/demo/envs/dev/releases/" + relID1, status: 200,
			body:       strings.Replace(relJSON, `"createdBy"`, `"exposes":[{"connection":"main","table":"users","columns":["id","email"],"ops":{"delete":["admin"],"select":["reader","writer"]}}],"createdBy"`, 1),
			wantStdout: []string{"ref            3f2c1ab", "CONNECTION  TABLE  COLUMNS    OPS (ROLES)\nmain        users  id, email  select: reader, writer; delete: admin\n"}},
		{name: "release rollback", args: []string{"release", "rollback", "--project", "demo", "--env", "prod", "--to", relID1},
			route: "POST /v1/projects/demo/envs/prod/releases/rollback", status: 200, body: relJSON,
			wantCT: "application/json", wantBody: `{"to":"` + relID1 + `"}`,
			wantStdout: []string{"rolled back demo/prod to release " + relID1 + " (ref 3f2c1ab), now current"}},
		{name: "release promote", args: []string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod"},
			route: "POST /v1/projects/demo/releases/promote", status: 201, body: strings.Replace(relJSON, `"createdBy"`, `"promotedFrom":"`+relID2+`","createdBy"`, 1),
			wantCT: "application/json", wantBody: `{"from":"dev","to":"prod"}`,
			wantStdout: []string{"promoted release " + relID2 + " of demo/dev to demo/prod as " + relID1 + " (ref 3f2c1ab), now current"}},
		{name: "release promote ref force", args: []string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--ref", "3f2c1ab", "--force"},
			route: "POST /v1/projects/demo/releases/promote", status: 201, body: relJSON,
			wantCT: "application/json", wantBody: `{"from":"dev","to":"prod","ref":"3f2c1ab","force":true}`,
			wantStdout: []string{"the drift check was skipped (--force)"}},
		{name: "release promote reused", args: []string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod"},
			route: "POST /v1/projects/demo/releases/promote", status: 200,
			body:   strings.Replace(strings.Replace(relJSON, `"reused":false`, `"reused":true`, 1), `"createdBy"`, `"promotedFrom":"`+relID2+`","createdBy"`, 1),
			wantCT: "application/json", wantBody: `{"from":"dev","to":"prod"}`,
			wantStdout: []string{"release " + relID1 + " of demo/prod reused: it already has the content and ref of release " + relID2 + " of dev (ref 3f2c1ab)\n"}},
		{name: "release promote release", args: []string{"release", "promote", "--project", "demo", "--from", "stg", "--to", "prod", "--release", relID2},
			route: "POST /v1/projects/demo/releases/promote", status: 201, body: relJSON,
			wantCT: "application/json", wantBody: `{"from":"stg","to":"prod","releaseId":"` + relID2 + `"}`},
		{name: "apikey create", args: []string{"apikey", "create", "--project", "demo", "--env", "dev", "--name", "server", "--roles", "writer,reader"},
			route: "POST /v1/projects/demo/envs/dev/apikeys", status: 201, body: createdKeyJSON,
			wantCT: "application/json", wantBody: `{"name":"server","roles":["writer","reader"]}`,
			wantStdout: []string{"created API key server in demo/dev\n", "keyId    " + keyID1 + "\n", "apiKey   " + secretKey + "\n", "expires  never", "shown only this once"}},
		{name: "apikey create repeated roles flag", args: []string{"apikey", "create", "--project", "demo", "--env", "dev", "--name", "ci", "--roles", "deployer", "--roles", "reader"},
			route: "POST /v1/projects/demo/envs/dev/apikeys", status: 201, body: createdKeyJSON,
			wantCT: "application/json", wantBody: `{"name":"ci","roles":["deployer","reader"]}`},
		{name: "apikey list", args: []string{"apikey", "list", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/apikeys", status: 200, body: `{"items":[` + keyJSON + `]}`,
			wantStdout: []string{"KEY ID", "LAST USED", keyID1 + "  server  writer,reader  active  2026-01-02T03:04:05Z  -          never"}},
		{name: "apikey revoke", args: []string{"apikey", "revoke", "--project", "demo", "--env", "dev", "--key-id", keyID1},
			route: "DELETE /v1/projects/demo/envs/dev/apikeys/" + keyID1, status: 200, body: strings.Replace(keyJSON, `"active"`, `"revoked"`, 1),
			wantStdout: []string{"revoked API key " + keyID1 + " (server) in demo/dev"}},
		{name: "audit list project", args: []string{"audit", "list", "--project", "demo", "--limit", "5", "--before", evtID1},
			route: "GET /v1/projects/demo/audit", status: 200, body: `{"items":[` + evtJSON + `],"nextCursor":"` + evtID1 + `"}`,
			wantQuery:  "before=" + evtID1 + "&limit=5",
			wantStdout: []string{"TIME  ", "release.create", "success", "more events: add --before " + evtID1}},
		{name: "audit list org", args: []string{"audit", "list"},
			route: "GET /v1/audit", status: 200, body: `{"items":[` + evtJSON + `]}`,
			wantStdout: []string{"PROJECT  TIME"}},
		{name: "audit list project from env", args: []string{"audit", "list"}, env: map[string]string{EnvProject: "demo"},
			route: "GET /v1/projects/demo/audit", status: 200, body: `{"items":[]}`,
			wantStdout: []string{"no audit events for project demo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.on(tc.route, tc.status, tc.body)
			r := stk(t, h.srv.URL, tc.env, tc.stdin, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
			}
			reqs := h.requests()
			if len(reqs) != 1 {
				t.Fatalf("want 1 request, got %+v", reqs)
			}
			got := reqs[0]
			if got.method+" "+got.path != tc.route {
				t.Errorf("request %s %s, want %s", got.method, got.path, tc.route)
			}
			if got.query != tc.wantQuery {
				t.Errorf("query %q, want %q", got.query, tc.wantQuery)
			}
			if ct := got.header.Get("Content-Type"); ct != tc.wantCT {
				t.Errorf("content type %q, want %q", ct, tc.wantCT)
			}
			switch tc.wantCT {
			case "":
				if got.body != "" {
					t.Errorf("unexpected body %s", got.body)
				}
			case "application/json":
				assertJSONEqual(t, got.body, tc.wantBody)
			default:
				if got.body != tc.wantBody {
					t.Errorf("body %q, want %q", got.body, tc.wantBody)
				}
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if len(tc.wantStderr) == 0 && r.stderr != "" {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}

// permissions show prints the source byte for byte.
func TestPermissionsShowVerbatim(t *testing.T) {
	h := newFakeHub(t)
	src := "# comment\nversion: 1\ntables:\n  users: {select: [reader]}  # trailing\n"
	b, _ := json.Marshal(map[string]any{"id": "perm_01", "source": src})
	h.on("GET /v1/projects/demo/envs/dev/permissions", 200, string(b))
	r := stk(t, h.srv.URL, nil, "", "permissions", "show", "--project", "demo", "--env", "dev")
	if r.code != 0 || r.stdout != src {
		t.Errorf("exit %d, stdout %q, want %q", r.code, r.stdout, src)
	}
}

// --expires 90d sends expiresAt = now + 90 days.
func TestAPIKeyExpires(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects/demo/envs/dev/apikeys", 201, strings.Replace(createdKeyJSON, `"expiresAt":null`, `"expiresAt":"2026-04-02T03:04:05Z"`, 1))
	before := time.Now()
	r := stk(t, h.srv.URL, nil, "", "apikey", "create", "--project", "demo", "--env", "dev", "--name", "server", "--roles", "reader", "--expires", "90d", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var body struct {
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal([]byte(h.requests()[0].body), &body); err != nil {
		t.Fatal(err)
	}
	want := before.Add(90 * 24 * time.Hour)
	if d := body.ExpiresAt.Sub(want); d < -2*time.Second || d > 5*time.Second {
		t.Errorf("expiresAt %s, want about %s", body.ExpiresAt, want)
	}
	if body.ExpiresAt.Location() != time.UTC {
		t.Errorf("expiresAt not UTC: %s", h.requests()[0].body)
	}
	if !strings.Contains(r.stdout, `"expiresAt": "2026-04-02T03:04:05Z"`) {
		t.Errorf("stdout lacks expiresAt: %s", r.stdout)
	}
}

// decodeOne decodes stdout as exactly one JSON document.
func decodeOne(t *testing.T, stdout string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document:\n%s", stdout)
	}
	return v
}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestReleaseJSONShapes(t *testing.T) {
	h := newFakeHub(t)
	h.on("PUT /v1/projects/demo/envs/dev/permissions", 201, permJSON)
	h.on("GET /v1/projects/demo/envs/dev/permissions", 200, `{"id":"perm_01","source":"version: 1\n","warnings":null}`)
	h.on("POST /v1/projects/demo/envs/dev/releases", 201, `{"id":"`+relID1+`","ref":"a","project":"demo","env":"dev","reused":false}`)
	h.on("GET /v1/projects/demo/envs/dev/releases", 200, `{"items":[`+relJSON+`],"nextCursor":"x"}`)
	h.on("GET /v1/projects/demo/envs/dev/releases/current", 200, relJSON)
	h.on("GET /v1/projects/demo/envs/dev/releases/"+relID1, 200, relJSON)
	h.on("POST /v1/projects/demo/envs/dev/releases/rollback", 200, relJSON)
	h.on("POST /v1/projects/demo/releases/promote", 201, relJSON)
	h.on("POST /v1/projects/demo/envs/dev/apikeys", 201, createdKeyJSON)
	h.on("GET /v1/projects/demo/envs/dev/apikeys", 200, `{"items":[`+keyJSON+`]}`)
	h.on("DELETE /v1/projects/demo/envs/dev/apikeys/"+keyID1, 200, keyJSON)
	h.on("GET /v1/projects/demo/audit", 200, `{"items":[`+evtJSON+`]}`)
	h.on("GET /v1/audit", 200, `{"items":null}`)
	permFile := writeFile(t, "p.yaml", permYAML)
	schemaFile := writeFile(t, "schema.json", "["+snapJSON+"]")
	dd := []string{"--project", "demo", "--env", "dev"}
	release := []string{"id", "ref", "project", "env", "reused"}
	cases := []struct {
		args  []string
		want  string // object or array
		keys  []string
		exact bool
	}{
		{append([]string{"permissions", "apply", "--file", permFile}, dd...), "object", []string{"id", "hash", "warnings", "createdAt"}, false},
		{append([]string{"permissions", "show"}, dd...), "object", []string{"id", "source", "warnings"}, false},
		{append([]string{"release", "create", "--ref", "a"}, dd...), "object", append(release, "snapshots"), false},
		{append([]string{"release", "list"}, dd...), "array", release, false},
		{append([]string{"release", "current"}, dd...), "object", release, false},
		{append([]string{"release", "show", relID1}, dd...), "object", append(release, "exposes"), false},
		{append([]string{"release", "rollback", "--to", relID1}, dd...), "object", release, false},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod"}, "object", release, false},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "writer,reader"}, dd...), "object",
			[]string{"apiKey", "env", "keyId", "name", "project", "roles"}, true},
		{append([]string{"apikey", "list"}, dd...), "array", []string{"keyId", "name", "roles", "status", "createdAt", "lastUsedAt", "expiresAt"}, false},
		{append([]string{"apikey", "revoke", "--key-id", keyID1}, dd...), "object", []string{"keyId", "status"}, false},
		{[]string{"audit", "list", "--project", "demo"}, "array", []string{"id", "time", "actor", "action", "target", "outcome", "requestId"}, false},
		{[]string{"audit", "list"}, "array", nil, false},
		{[]string{"permissions", "validate", "--file", permFile, "--schema", schemaFile}, "object", []string{"ok"}, false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := stk(t, h.srv.URL, nil, "", append(tc.args, "--json")...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var obj map[string]any
			switch x := decodeOne(t, r.stdout).(type) {
			case map[string]any:
				if tc.want != "object" {
					t.Fatalf("got object, want %s", tc.want)
				}
				obj = x
			case []any:
				if tc.want != "array" {
					t.Fatalf("got array, want %s", tc.want)
				}
				if len(x) > 0 {
					obj = x[0].(map[string]any)
				}
			default:
				t.Fatalf("got %s", r.stdout)
			}
			for _, k := range tc.keys {
				if _, ok := obj[k]; !ok {
					t.Errorf("key %q missing in %s", k, r.stdout)
				}
			}
			if tc.exact && strings.Join(keysOf(obj), ",") != strings.Join(tc.keys, ",") {
				t.Errorf("keys %v, want exactly %v", keysOf(obj), tc.keys)
			}
			for _, null := range []string{`"warnings": null`, `"snapshots": null`, `"roles": null`, `"exposes": null`} {
				if strings.Contains(r.stdout, null) {
					t.Errorf("stdout has %s", null)
				}
			}
		})
	}
}

// A permissions file that does not validate: every problem as
// file:line:column: path: message on stderr, then the error line.
func TestPermissionsApplyProblems(t *testing.T) {
	h := newFakeHub(t)
	h.on("PUT /v1/projects/demo/envs/dev/permissions", 400, `{"error":{"code":"SCHEMA_VALIDATION_FAILED","message":"permissions do not validate: 3 problems","requestId":"req_7","details":{"problems":[
		{"path":"tables.nope","line":3,"column":3,"message":"unknown table nope on connection main"},
		{"path":"tables.users.select[0].columns[1]","line":7,"message":"unknown column bogus"},
		{"path":"version","message":"required"}]}}}`)
	file := writeFile(t, "permissions.yaml", permYAML)
	r := stk(t, h.srv.URL, nil, "", "permissions", "apply", "--project", "demo", "--env", "dev", "--file", file)
	want := file + ":3:3: tables.nope: unknown table nope on connection main\n" +
		file + ":7: tables.users.select[0].columns[1]: unknown column bogus\n" +
		file + ": version: required\n" +
		"error: permissions do not validate: 3 problems (code SCHEMA_VALIDATION_FAILED, request req_7)\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d\nstderr %q\nwant   %q\nstdout %q", r.code, r.stderr, want, r.stdout)
	}
	r = stk(t, h.srv.URL, nil, "", "permissions", "apply", "--project", "demo", "--env", "dev", "--file", file, "--json")
	env, _ := decodeOne(t, r.stdout).(map[string]any)
	if r.code != 1 || env == nil || !strings.Contains(r.stdout, `"problems": [`) || !strings.HasPrefix(r.stderr, file+":3:3: ") {
		t.Errorf("--json: exit %d stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}

	// Staged permissions that no longer validate at release time: no local
	// file, the location follows the message.
	h.on("POST /v1/projects/demo/envs/dev/releases", 400, `{"error":{"code":"SCHEMA_VALIDATION_FAILED","message":"staged permissions do not validate","details":{"problems":[{"path":"tables.users.select[0].columns[0]","line":5,"column":19,"message":"unknown column email"}]}}}`)
	r = stk(t, h.srv.URL, nil, "", "release", "create", "--project", "demo", "--env", "dev", "--ref", "x")
	want = "problem: tables.users.select[0].columns[0]: unknown column email (line 5, column 19)\n" +
		"error: staged permissions do not validate (code SCHEMA_VALIDATION_FAILED, request req_hdr)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("release create: exit %d stderr %q", r.code, r.stderr)
	}
}

// A refused promotion lists each drift item before the error line.
func TestPromoteDrift(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects/demo/releases/promote", 409, `{"error":{"code":"SCHEMA_DRIFT","message":"prod's databases drifted from the release: 3 items","requestId":"req_8","details":{"missing":[
		{"connection":"main","table":"users","column":"email","reason":"missing"},
		{"connection":"main","table":"posts","reason":"missing"},
		{"connection":"analytics","table":"events","reason":"connection missing"}]}}}`)
	r := stk(t, h.srv.URL, nil, "", "release", "promote", "--project", "demo", "--from", "dev", "--to", "prod")
	want := "drift: main.users.email: missing\n" +
		"drift: main.posts: missing\n" +
		"drift: analytics.events: connection missing\n" +
		"error: prod's databases drifted from the release: 3 items (code SCHEMA_DRIFT, request req_8)\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
	r = stk(t, h.srv.URL, nil, "", "release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, `"code": "SCHEMA_DRIFT"`) || !strings.Contains(r.stdout, `"missing": [`) {
		t.Errorf("--json: exit %d stdout %s", r.code, r.stdout)
	}
}

// Other Hub errors of these commands: the usual line and exit code.
func TestReleaseHubErrors(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects/demo/envs/prod/releases/rollback", 409, `{"error":{"code":"CONFLICT","message":"release `+relID1+` belongs to env dev","requestId":"req_1"}}`)
	r := stk(t, h.srv.URL, nil, "", "release", "rollback", "--project", "demo", "--env", "prod", "--to", relID1)
	if r.code != 1 || r.stderr != "error: release "+relID1+" belongs to env dev (code CONFLICT, request req_1)\n" {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, "", "release", "current", "--project", "demo", "--env", "dev")
	if r.code != 1 || !strings.Contains(r.stderr, "(code NOT_FOUND, request req_404)") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

// Usage errors of the new commands never reach the Hub and exit 2.
func TestReleaseUsageErrors(t *testing.T) {
	permFile := writeFile(t, "p.yaml", permYAML)
	badSchema := writeFile(t, "schema.json", `{"items":[]}`)
	dd := []string{"--project", "demo", "--env", "dev"}
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{append([]string{"permissions", "apply", "--file", "/nonexistent/p.yaml"}, dd...), nil, "--file /nonexistent/p.yaml: no such file or directory"},
		{append([]string{"permissions", "apply", "--file", filepath.Dir(permFile)}, dd...), nil, "is a directory"},
		{[]string{"permissions", "apply", "--file", permFile, "--project", "demo"}, nil, "required flag --env not set"},
		{[]string{"permissions", "show", "--env", "dev"}, nil, "required flag --project not set"},
		{[]string{"permissions", "validate", "--file", permFile}, nil, "give --schema FILE (offline), or --project and --env"},
		{[]string{"permissions", "validate", "--file", permFile, "--project", "demo"}, nil, "required flag --env not set"},
		{[]string{"permissions", "validate", "--file", permFile, "--schema", badSchema}, nil, "no snapshots in it"},
		{[]string{"permissions", "validate", "--file", permFile, "--schema", permFile}, nil, "not JSON"},
		{[]string{"permissions", "validate", "--file", permFile, "--schema", "/nonexistent.json"}, nil, "--schema /nonexistent.json: no such file"},
		{[]string{"permissions", "validate", "extra"}, nil, "takes no arguments"},
		{append([]string{"release", "create", "--ref", "has space"}, dd...), nil, `--ref "has space" is not a valid ref`},
		{[]string{"release", "create", "--project", "demo"}, nil, "required flag --env not set"},
		{append([]string{"release", "show"}, dd...), nil, "missing release id"},
		{append([]string{"release", "show", "3f2c1ab"}, dd...), nil, `release id "3f2c1ab" is not a release id`},
		{append([]string{"release", "rollback"}, dd...), nil, `required flag(s) "to" not set`},
		{append([]string{"release", "rollback", "--to", "prod"}, dd...), nil, `--to "prod" is not a release id`},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev"}, nil, `required flag(s) "to" not set`},
		{[]string{"release", "promote", "--from", "dev", "--to", "prod"}, nil, "required flag --project not set"},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "dev"}, nil, `--from and --to are both "dev"`},
		{[]string{"release", "promote", "--project", "demo", "--from", "Dev", "--to", "prod"}, nil, `--from "Dev" is not a valid name`},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--ref", "a", "--release", relID1}, nil, "give either --ref or --release, not both"},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--release", "a"}, nil, `--release "a" is not a release id`},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--ref", ""}, nil, "--ref is empty"},
		{[]string{"release", "promote", "--project", "demo", "--from", "dev", "--to", "prod", "--force=maybe"}, nil, "invalid argument"},
		{append([]string{"apikey", "create", "--roles", "reader"}, dd...), nil, `required flag(s) "name" not set`},
		{append([]string{"apikey", "create", "--name", "server"}, dd...), nil, `required flag(s) "roles" not set`},
		{append([]string{"apikey", "create", "--name", "Server", "--roles", "reader"}, dd...), nil, `--name "Server" is not a valid name`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "Writer"}, dd...), nil, `--roles "Writer" is not a valid role name`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "reader,public"}, dd...), nil, `--roles "public" is a reserved keyword`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "authenticated"}, dd...), nil, `--roles "authenticated" is a reserved keyword`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "reader,reader"}, dd...), nil, `role "reader" given twice`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", ""}, dd...), nil, "give at least one role"},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "reader", "--expires", "soon"}, dd...), nil, `--expires: duration "soon"`},
		{append([]string{"apikey", "create", "--name", "server", "--roles", "reader", "--expires", "-5d"}, dd...), nil, "--expires: duration"},
		{append([]string{"apikey", "revoke"}, dd...), nil, `required flag(s) "key-id" not set`},
		{append([]string{"apikey", "revoke", "--key-id", "server"}, dd...), nil, `--key-id "server" is not a key id`},
		{[]string{"apikey", "list", "--project", "demo"}, nil, "required flag --env not set"},
		{[]string{"audit", "list", "--limit", "0"}, nil, "--limit 0: want 1 to 1000"},
		{[]string{"audit", "list", "--limit", "x"}, nil, "invalid argument"},
		{[]string{"audit", "list", "--before", "rel_1"}, nil, `--before "rel_1" is not an event id`},
		{[]string{"audit", "list"}, map[string]string{EnvProject: "Demo"}, `--project "Demo" is not a valid name`},
		{[]string{"audit", "lst"}, nil, `unknown command "lst" for "stk audit"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			h := newFakeHub(t)
			r := stk(t, h.srv.URL, tc.env, "", tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "error: ") || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "(code BAD_REQUEST)") {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.want)
			}
			if !strings.Contains(r.stderr, "--help' for usage.") {
				t.Errorf("no usage hint: %q", r.stderr)
			}
			if n := len(h.requests()); n != 0 {
				t.Errorf("%d requests sent to the Hub", n)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			r = stk(t, h.srv.URL, tc.env, "", append(tc.args, "--json")...)
			var env struct{ Error struct{ Code string } }
			if err := json.Unmarshal([]byte(r.stdout), &env); err != nil || env.Error.Code != "BAD_REQUEST" || r.code != ExitUsage {
				t.Errorf("--json: exit %d, stdout %q", r.code, r.stdout)
			}
		})
	}
}

// The API key's secret is printed by create only: never by list or revoke,
// and never in an error.
func TestAPIKeySecretShownOnce(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects/demo/envs/dev/apikeys", 201, createdKeyJSON)
	h.on("GET /v1/projects/demo/envs/dev/apikeys", 200, `{"items":[`+keyJSON+`]}`)
	h.on("DELETE /v1/projects/demo/envs/dev/apikeys/"+keyID1, 200, keyJSON)
	dd := []string{"--project", "demo", "--env", "dev"}
	r := stk(t, h.srv.URL, nil, "", append([]string{"apikey", "create", "--name", "server", "--roles", "reader", "--json"}, dd...)...)
	var out apiKeyCreated
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.APIKey != secretKey || out.ExpiresAt != nil {
		t.Fatalf("create: %v %s", err, r.stdout)
	}
	if strings.Contains(r.stdout, "expiresAt") || strings.Contains(r.stdout, "status") {
		t.Errorf("create --json has extra keys: %s", r.stdout)
	}
	for _, args := range [][]string{{"apikey", "list"}, {"apikey", "list", "--json"}, {"apikey", "revoke", "--key-id", keyID1}, {"apikey", "revoke", "--key-id", keyID1, "--json"}} {
		r := stk(t, h.srv.URL, nil, "", append(args, dd...)...)
		if r.code != 0 || strings.Contains(r.stdout+r.stderr, "4fTqZ9s0") {
			t.Errorf("%v: exit %d, output %s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// validate runs the Hub's parser and validator locally: offline against a
// snapshot file (array, single object or list envelope), or against the
// snapshots fetched from the Hub.
func TestPermissionsValidate(t *testing.T) {
	const snap = `{"id":"snap_01","connection":"main","engine":"postgres","tables":[{"name":"users","columns":[{"name":"id","type":"bigint"},{"name":"email","type":"text"},{"name":"owner_id","type":"bigint"}],"primaryKey":["id"],"indexes":[]}]}`
	good := writeFile(t, "good.yaml", "version: 1\ntables:\n  users:\n    select: [reader]\n")
	owner := writeFile(t, "owner.yaml", "version: 1\ntables:\n  users:\n    owner: owner_id\n    select: [reader]\n")
	bad := writeFile(t, "bad.yaml", `version: 1
tables:
  users:
    select:
      - roles: [reader]
        columns: [id, bogus]
  nope:
    select: [reader]
`)
	parseErrs := writeFile(t, "parse.yaml", `version: 1
tables:
  users:
    select: [Reader]
    delete:
      - roles: [admin]
        condition: 42
`)
	array := writeFile(t, "schema.json", "["+snap+"]")
	object := writeFile(t, "snap.json", snap)
	envelope := writeFile(t, "list.json", `{"items":[`+snap+`]}`)

	h := newFakeHub(t)
	for _, schemaFile := range []string{array, object, envelope} {
		r := stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", good, "--schema", schemaFile)
		if r.code != 0 || r.stdout != "ok\n" || r.stderr != "" {
			t.Errorf("%s: exit %d stdout %q stderr %q", filepath.Base(schemaFile), r.code, r.stdout, r.stderr)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("offline validate sent %d requests", n)
	}

	r := stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", bad, "--schema", array)
	want := bad + `:6:23: tables.users.select[0].columns[1]: unknown column "bogus" in table "users"` + "\n" +
		bad + `:7: tables.nope: unknown table "nope" on connection "main"` + "\n" +
		"error: " + bad + " does not validate: 2 problems (code SCHEMA_VALIDATION_FAILED)\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("bad: exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", bad, "--schema", array, "--json")
	var env struct {
		Error struct {
			Code    string
			Details struct{ Problems []struct{ Path string } }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &env); err != nil || r.code != 1 || env.Error.Code != "SCHEMA_VALIDATION_FAILED" || len(env.Error.Details.Problems) != 2 {
		t.Errorf("bad --json: exit %d stdout %s", r.code, r.stdout)
	}

	// Format problems are reported before any schema check, with columns.
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "-f", "-", "--schema", array)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "<stdin>:1:1: the file is empty") {
		t.Errorf("empty stdin: exit %d stderr %q", r.code, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, readFile(t, parseErrs), "permissions", "validate", "-f", "-", "--schema", array)
	if r.code != 1 || !strings.Contains(r.stderr, "<stdin>:4:14: tables.users.select[0]: invalid role name \"Reader\"") ||
		!strings.Contains(r.stderr, "<stdin>:7:20: tables.users.delete[0].condition: condition must be a non-empty string holding an expression (SPEC §5.2)\n") {
		t.Errorf("parse problems: exit %d stderr %s", r.code, r.stderr)
	}

	// Warnings (an owner column without an index) do not fail validation.
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", owner, "--schema", object, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) || !strings.Contains(r.stdout, `"column": "owner_id"`) ||
		!strings.HasPrefix(r.stderr, owner+":4: warning: main.users.owner_id: owner column") {
		t.Errorf("owner: exit %d stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}

	// Without --schema: the env's latest snapshots come from the Hub.
	h.on("GET /v1/projects/demo/envs/dev/schema", 200, `{"items":[`+snap+`]}`)
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", bad, "--project", "demo", "--env", "dev")
	if r.code != 1 || !strings.Contains(r.stderr, bad+`:7: tables.nope: unknown table "nope"`) {
		t.Errorf("hub snapshots: exit %d stderr %s", r.code, r.stderr)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].method != "GET" || reqs[0].query != "" {
		t.Errorf("requests %+v", reqs)
	}
	// An env with no snapshot: every table is unknown.
	h.on("GET /v1/projects/demo/envs/prod/schema", 200, `{"items":[]}`)
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", good, "--project", "demo", "--env", "prod")
	if r.code != 1 || !strings.Contains(r.stderr, "SCHEMA_VALIDATION_FAILED") {
		t.Errorf("no snapshots: exit %d stderr %s", r.code, r.stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
