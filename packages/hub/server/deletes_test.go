package server

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// auditActions lists the action and target of each event at path.
func (h *hub) auditActions(path string) string {
	h.t.Helper()
	var page hubapi.List[hubapi.AuditEvent]
	h.expect(h.do("GET", path, nil), 200, "", &page)
	var out []string
	for _, e := range page.Items {
		out = append(out, e.Action+" "+e.Target+" "+e.Outcome)
	}
	return strings.Join(out, "\n")
}

// TestDeletes deletes a connection, an env and a project through the API
// (SPEC §9, §15): each needs ?confirm=NAME, refuses (409) what a current
// release needs unless ?force=true, answers 200 with the deleted object,
// is audited, and a deleted env's bundle long poll answers 404 at once.
func TestDeletes(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		db := dataDB(t)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		for _, env := range []string{"dev", "prod"} {
			h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: env}), 201, "", nil)
			h.expect(h.do("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: db}), 201, "", nil)
			h.expect(h.do("POST", "/v1/projects/demo/envs/"+env+"/connections/main/snapshots", nil), 201, "", nil)
			h.expect(h.apply(env, permsV1), 201, "", nil)
		}
		h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/spare", hubapi.PutConnection{URL: db}), 201, "", nil)
		devRel := h.release("dev", "r1", 201)
		prodRel := h.release("prod", "r1", 201)
		const conns = "/v1/projects/demo/envs/dev/connections/"

		// Confirmation: missing, wrong, then a malformed force.
		for _, q := range []string{"", "?confirm=", "?confirm=main", "?confirm=SPARE"} {
			r := h.do("DELETE", conns+"spare"+q, nil)
			h.expect(r, 400, apierr.BadRequest, nil)
			if e := r.envelope(t); !strings.Contains(e.Message, "confirm=spare") || !strings.Contains(string(r.body), `"path":"confirm"`) {
				t.Errorf("DELETE spare%s: %s", q, r.body)
			}
		}
		h.expect(h.do("DELETE", conns+"spare?confirm=spare&force=maybe", nil), 400, apierr.BadRequest, nil)
		h.expect(h.do("DELETE", conns+"nope?confirm=nope", nil), 404, apierr.NotFound, nil)

		// A connection no release uses: 200 with the deleted object, redacted.
		var gone hubapi.Connection
		h.expect(h.do("DELETE", conns+"spare?confirm=spare", nil), 200, "", &gone)
		if gone.Name != "spare" || gone.Env != "dev" || !strings.Contains(gone.URL, ":***@") {
			t.Errorf("deleted connection = %+v", gone)
		}
		h.expect(h.do("GET", conns+"spare", nil), 404, apierr.NotFound, nil)

		// The current release needs main: 409 naming the release.
		r := h.do("DELETE", conns+"main?confirm=main", nil)
		h.expect(r, 409, apierr.Conflict, nil)
		if e := r.envelope(t); !strings.Contains(e.Message, devRel.ID) || !strings.Contains(e.Message, "force") {
			t.Errorf("in-use refusal does not name the release and --force: %s", r.body)
		}
		h.expect(h.do("GET", conns+"main", nil), 200, "", nil)

		// An env with a current release: 409, then forced. A long poll
		// waiting on it answers 404 at once.
		h.expect(h.do("DELETE", "/v1/projects/demo/envs/dev?confirm=dev", nil), 409, apierr.Conflict, nil)
		bridge := map[string]string{"Authorization": "Bearer " + bridgeToken}
		first := h.doH("GET", "/internal/v1/envs/demo/dev/bundle", nil, bridge)
		h.expect(first, 200, "", nil)
		polled := make(chan reply, 1)
		go func() {
			polled <- h.doH("GET", "/internal/v1/envs/demo/dev/bundle?wait=30s", nil,
				map[string]string{"Authorization": "Bearer " + bridgeToken, "If-None-Match": first.header.Get("ETag")})
		}()
		time.Sleep(100 * time.Millisecond) // the poll is waiting by now
		start := time.Now()
		var env hubapi.Env
		h.expect(h.do("DELETE", "/v1/projects/demo/envs/dev?confirm=dev&force=true", nil), 200, "", &env)
		if env.Name != "dev" || env.Project != "demo" {
			t.Errorf("deleted env = %+v", env)
		}
		select {
		case res := <-polled:
			if res.status != 404 || time.Since(start) > 2*time.Second {
				t.Errorf("long poll of the deleted env: %d after %s: %s", res.status, time.Since(start), res.body)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the long poll of the deleted env did not answer")
		}
		h.expect(h.doH("GET", "/internal/v1/envs/demo/dev/bundle", nil, bridge), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/releases/"+devRel.ID, nil), 404, apierr.NotFound, nil)
		var envs hubapi.List[hubapi.Env]
		h.expect(h.do("GET", "/v1/projects/demo/envs", nil), 200, "", &envs)
		if len(envs.Items) != 1 || envs.Items[0].Name != "prod" {
			t.Errorf("envs after delete: %+v", envs.Items)
		}
		// The name is free again, with nothing of the old env.
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/releases/current", nil), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", conns+"main", nil), 404, apierr.NotFound, nil)

		audit := h.auditActions("/v1/projects/demo/audit?limit=100")
		for _, want := range []string{"connection.delete demo/dev/spare success", "env.delete demo/dev (forced) success"} {
			if !strings.Contains(audit, want) {
				t.Errorf("project audit lacks %q:\n%s", want, audit)
			}
		}

		// The project: prod still serves a release.
		r = h.do("DELETE", "/v1/projects/demo?confirm=demo", nil)
		h.expect(r, 409, apierr.Conflict, nil)
		if e := r.envelope(t); !strings.Contains(e.Message, "prod") || !strings.Contains(e.Message, prodRel.ID) {
			t.Errorf("project in-use refusal: %s", r.body)
		}
		var prj hubapi.Project
		h.expect(h.do("DELETE", "/v1/projects/demo?confirm=demo&force=true", nil), 200, "", &prj)
		if prj.Name != "demo" || len(prj.Envs) != 2 {
			t.Errorf("deleted project = %+v", prj)
		}
		h.expect(h.do("GET", "/v1/projects/demo", nil), 404, apierr.NotFound, nil)
		h.expect(h.doH("GET", "/internal/v1/envs/demo/prod/bundle", nil, bridge), 404, apierr.NotFound, nil)
		// The trail outlives the project, in the org-level log.
		orgAudit := h.auditActions("/v1/audit?limit=100")
		for _, want := range []string{"project.delete project demo (forced) success", "env.delete demo/dev (forced) success", "release.create demo/prod"} {
			if !strings.Contains(orgAudit, want) {
				t.Errorf("org audit lacks %q:\n%s", want, orgAudit)
			}
		}
		// A new project of that name starts clean.
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		if a := h.auditActions("/v1/projects/demo/audit"); strings.Contains(a, "env.delete") {
			t.Errorf("the new project shows the old one's events:\n%s", a)
		}
	})
}

// TestDeleteProjectRBAC: deleting a project needs an owner or admin of its
// org (decision 0016); the project's own admins, lesser roles and CI tokens
// scoped to it are refused, and the refusals are audited.
func TestDeleteProjectRBAC(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	tokens := map[string]string{}
	for _, m := range []struct{ role, scope, r string }{
		{"member", "/v1/orgs/default", "member"}, {"padmin", "/v1/projects/demo", "admin"},
		{"deployer", "/v1/projects/demo", "deployer"}, {"none", "", ""}, {"admin", "/v1/orgs/default", "admin"},
	} {
		email := m.role + "@example.com"
		tokens[m.role] = h.newOperator(email).AccessToken
		if m.scope != "" {
			h.expect(h.do("POST", m.scope+"/members", hubapi.PutMember{Email: email, Role: m.r}), 201, "", nil)
		}
	}
	var ci hubapi.Token
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci", Project: "demo", Role: "admin"}), 201, "", &ci)
	tokens["ci token"] = ci.Token

	for _, role := range []string{"member", "padmin", "deployer", "none", "ci token"} {
		r := h.as(tokens[role]).do("DELETE", "/v1/projects/demo?confirm=demo", nil)
		if r.status != 403 {
			t.Errorf("project delete as %s: %d, want 403: %s", role, r.status, r.body)
		}
	}
	h.expect(h.as("").do("DELETE", "/v1/projects/demo?confirm=demo", nil), 401, apierr.Unauthorized, nil)
	if a := h.auditActions("/v1/projects/demo/audit"); strings.Count(a, "project.delete demo denied") != 5 {
		t.Errorf("denied deletes not audited:\n%s", a)
	}
	h.expect(h.as(tokens["admin"]).do("DELETE", "/v1/projects/demo?confirm=demo", nil), 200, "", nil)
	// The scoped CI token went with its project.
	h.expect(h.as(ci.Token).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
}

// TestReleaseAfterConnectionDelete: a deleted connection's snapshots stay
// as history (decision 0016), but the next release does not freeze one: it
// would serve a connection the env no longer has, unrefusable by the
// in-use check (SPEC §9). Nor does a connection created again under the
// name revive the old connection's snapshot.
func TestReleaseAfterConnectionDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		db := dataDB(t)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		const conns = "/v1/projects/demo/envs/dev/connections/"
		for _, c := range []string{"main", "spare"} {
			h.expect(h.do("PUT", conns+c, hubapi.PutConnection{URL: db}), 201, "", nil)
			h.expect(h.do("POST", conns+c+"/snapshots", nil), 201, "", nil)
		}
		h.expect(h.apply("dev", permsV1), 201, "", nil)
		h.expect(h.do("DELETE", conns+"spare?confirm=spare", nil), 200, "", nil)
		h.release("dev", "r1", 201)
		if b := h.envBundle("dev"); b.Release == nil || len(b.Release.Snapshots) != 1 || b.Release.Snapshots["main"].Tables == nil {
			t.Fatalf("release after deleting spare froze %v", b.Release)
		}
		// spare again, not snapshotted yet: still not in a release.
		h.expect(h.do("PUT", conns+"spare", hubapi.PutConnection{URL: db}), 201, "", nil)
		h.release("dev", "r2", 201)
		if b := h.envBundle("dev"); len(b.Release.Snapshots) != 1 {
			t.Fatalf("a new spare revived the old one's snapshot: %v", b.Release.Snapshots)
		}
	})
}
