package commands

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	authYAML = "version: 1\nissuers:\n  - name: dev-idp\n    issuer: http://127.0.0.1:8788\n    audience: demo\n"
	authJSON = `{"id":"authcfg_01","project":"demo","env":"dev","hash":"sha256:ab","issuers":[{"name":"dev-idp","issuer":"http://127.0.0.1:8788","audience":"demo","line":3}],"createdAt":"2026-01-02T03:04:05Z","createdBy":"dev"}`
)

// stk auth apply sends the file as YAML to PUT …/auth and reports the
// staged version; show prints the source byte for byte.
func TestAuthApplyAndShow(t *testing.T) {
	h := newFakeHub(t)
	h.on("PUT /v1/projects/demo/envs/dev/auth", 201, authJSON)
	file := writeFile(t, "auth.yaml", authYAML)
	r := stk(t, h.srv.URL, nil, "", "auth", "apply", "--project", "demo", "--env", "dev", "--file", file)
	want := "staged auth config authcfg_01 in demo/dev (new, 1 issuer)\n  dev-idp: http://127.0.0.1:8788 (audience demo)\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	req := h.requests()[0]
	if req.body != authYAML || req.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("request %+v", req)
	}

	// Standard input, STK_PROJECT/STK_ENV, reused.
	h.on("PUT /v1/projects/demo/envs/dev/auth", 200, strings.Replace(authJSON, `"createdBy"`, `"reused":true,"createdBy"`, 1))
	r = stk(t, h.srv.URL, map[string]string{EnvProject: "demo", EnvEnv: "dev"}, authYAML, "auth", "apply", "-f", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "(unchanged, staged version reused, 1 issuer)") {
		t.Fatalf("stdin apply: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, "", "auth", "apply", "--project", "demo", "--env", "dev", "--file", file, "--json")
	if m, ok := decodeOne(t, r.stdout).(map[string]any); !ok || r.code != 0 || m["id"] != "authcfg_01" || m["issuers"] == nil {
		t.Fatalf("--json: exit %d, %s", r.code, r.stdout)
	}

	src := "# dev tenant\nversion: 1\nissuers: []  # none yet\n"
	b, _ := json.Marshal(map[string]any{"id": "authcfg_02", "source": src, "issuers": []any{}})
	h.on("GET /v1/projects/demo/envs/dev/auth", 200, string(b))
	r = stk(t, h.srv.URL, nil, "", "auth", "show", "--project", "demo", "--env", "dev")
	if r.code != 0 || r.stdout != src {
		t.Fatalf("show: exit %d, stdout %q, want %q", r.code, r.stdout, src)
	}
	r = stk(t, h.srv.URL, nil, "", "auth", "show", "--project", "demo", "--env", "dev", "--json")
	if m, ok := decodeOne(t, r.stdout).(map[string]any); !ok || r.code != 0 || m["source"] != src {
		t.Fatalf("show --json: exit %d, %s", r.code, r.stdout)
	}
}

// A refused file prints each problem as file:line:column: path: message and
// exits 1; a missing file is a usage error (exit 2) that sends nothing.
func TestAuthApplyProblems(t *testing.T) {
	h := newFakeHub(t)
	h.on("PUT /v1/projects/demo/envs/dev/auth", 400, `{"error":{"code":"SCHEMA_VALIDATION_FAILED","message":"auth config: line 4, column 13: issuers[0].issuer: issuer must use https://","requestId":"req_7","details":{"problems":[{"path":"issuers[0].issuer","line":4,"column":13,"message":"issuer must use https://"},{"path":"issuers[0].scopes","line":5,"column":5,"message":"unknown key \"scopes\""}]}}}`)
	file := writeFile(t, "auth.yaml", authYAML)
	r := stk(t, h.srv.URL, nil, "", "auth", "apply", "--project", "demo", "--env", "dev", "--file", file)
	for _, want := range []string{
		file + ":4:13: issuers[0].issuer: issuer must use https://\n",
		file + ":5:5: issuers[0].scopes: unknown key \"scopes\"\n",
		"(code SCHEMA_VALIDATION_FAILED, request req_7)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	n := len(h.requests())
	r = stk(t, h.srv.URL, nil, "", "auth", "apply", "--project", "demo", "--env", "dev", "--file", file+".missing")
	if r.code != 2 || len(h.requests()) != n || !strings.Contains(r.stderr, "--file") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, "", "auth", "show", "--project", "demo")
	if r.code != 2 || len(h.requests()) != n {
		t.Errorf("show without --env: exit %d, stderr %q", r.code, r.stderr)
	}
}
