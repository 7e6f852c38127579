package commands

import (
	"strings"
	"testing"
)

// The deletes send ?confirm=NAME (and force=true with --force) and refuse,
// before any request, a --confirm that is missing or is not the name.
func TestDeleteCommands(t *testing.T) {
	h := newFakeHub(t)
	h.on("DELETE /v1/projects/demo/envs/dev/connections/old", 200, connJSON)
	h.on("DELETE /v1/projects/demo/envs/stg", 200, `{"project":"demo","name":"stg","createdAt":"2026-01-02T03:04:05Z"}`)
	h.on("DELETE /v1/projects/demo", 200, `{"name":"demo","org":"default","createdAt":"2026-01-02T03:04:05Z","envs":[`+envJSON+`]}`)
	h.on("DELETE /v1/projects/busy", 409, `{"error":{"code":"CONFLICT","message":"project busy is in use: env prod serves release rel_1","requestId":"req_9"}}`)

	cases := []struct {
		args       []string
		wantQuery  string
		wantStdout string
	}{
		{[]string{"connections", "delete", "--project", "demo", "--env", "dev", "--name", "old", "--confirm", "old"},
			"confirm=old", "deleted connection main (postgres://app:***@db:5432/app) of demo/dev"},
		{[]string{"env", "delete", "--project", "demo", "stg", "--confirm", "stg", "--force"},
			"confirm=stg&force=true", "deleted env stg of project demo"},
		{[]string{"project", "delete", "demo", "--confirm", "demo"}, "confirm=demo", "deleted project demo (envs: dev)"},
	}
	for _, tc := range cases {
		before := len(h.requests())
		r := stk(t, h.srv.URL, nil, "", tc.args...)
		if r.code != ExitOK || !strings.Contains(r.stdout, tc.wantStdout) {
			t.Errorf("stk %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantStdout)
			continue
		}
		reqs := h.requests()[before:]
		if len(reqs) != 1 || reqs[0].method != "DELETE" || reqs[0].query != tc.wantQuery {
			t.Errorf("stk %s sent %+v, want one DELETE with ?%s", strings.Join(tc.args, " "), reqs, tc.wantQuery)
		}
	}

	// --json prints the deleted object; a project's envs are a list.
	r := stk(t, h.srv.URL, nil, "", "project", "delete", "demo", "--confirm", "demo", "--json")
	assertJSONEqual(t, r.stdout, `{"name":"demo","org":"default","createdAt":"2026-01-02T03:04:05Z","envs":[`+envJSON+`]}`)

	// The Hub's refusal is exit 1 with its message.
	r = stk(t, h.srv.URL, nil, "", "project", "delete", "busy", "--confirm", "busy")
	if r.code != ExitError || !strings.Contains(r.stderr, "error: project busy is in use: env prod serves release rel_1 (code CONFLICT, request req_9)") {
		t.Errorf("refused delete: exit %d, stderr %q", r.code, r.stderr)
	}

	before := len(h.requests())
	for _, args := range [][]string{
		{"project", "delete", "demo"},
		{"project", "delete", "demo", "--confirm", "dem"},
		{"env", "delete", "--project", "demo", "stg", "--confirm", "prod"},
		{"connections", "delete", "--project", "demo", "--env", "dev", "--name", "old"},
		{"connections", "delete", "--project", "demo", "--env", "dev", "--name", "old", "--confirm", "OLD"},
	} {
		r := stk(t, h.srv.URL, nil, "", args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--confirm") {
			t.Errorf("stk %s: exit %d, stderr %q; want a usage error naming --confirm", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if n := len(h.requests()) - before; n != 0 {
		t.Errorf("unconfirmed deletes sent %d requests", n)
	}
}

// --field prints one field of the --json document: strings raw, a list's
// items one per line, nested fields by a dotted name; a wrong name is a
// usage error listing the fields, and errors leave stdout empty.
func TestFieldFlag(t *testing.T) {
	h := newFakeHub(t)
	h.on("GET /v1/projects/demo", 200, `{"name":"demo","org":"default","createdAt":"2026-01-02T03:04:05Z","envs":[`+envJSON+`,{"project":"demo","name":"prod","createdAt":"2026-01-02T03:04:05Z"}]}`)
	h.on("GET /v1/projects/demo/envs/dev/connections", 200, `{"items":[`+connJSON+`,`+strings.Replace(connJSON, `"main"`, `"spare"`, 1)+`]}`)
	h.on("GET /v1/projects/gone", 404, `{"error":{"code":"NOT_FOUND","message":"project \"gone\" not found","requestId":"req_1"}}`)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"project", "show", "demo", "--field", "name"}, "demo\n"},
		{[]string{"project", "show", "demo", "--field", "envs.name"}, "dev\nprod\n"},
		{[]string{"connections", "list", "--project", "demo", "--env", "dev", "--field", "name"}, "main\nspare\n"},
		{[]string{"connections", "list", "--project", "demo", "--env", "dev", "--field", "version", "--json"}, "1\n1\n"},
	} {
		r := stk(t, h.srv.URL, nil, "", tc.args...)
		if r.code != ExitOK || r.stdout != tc.want {
			t.Errorf("stk %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}

	r := stk(t, h.srv.URL, nil, "", "project", "show", "demo", "--field", "nope")
	if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, `no field "nope"`) || !strings.Contains(r.stderr, "createdAt, envs, name, org") {
		t.Errorf("unknown field: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, "", "project", "show", "gone", "--field", "name")
	if r.code != ExitError || r.stdout != "" || !strings.Contains(r.stderr, "(code NOT_FOUND") {
		t.Errorf("Hub error with --field: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
