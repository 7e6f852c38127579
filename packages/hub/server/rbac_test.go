package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/api"
)

// The roles of the route × role table (SPEC §7.1).
var rbacRoles = []string{"owner", "admin", "member", "padmin", "deployer", "viewer", "none"}

// Who may call a route: the least role it needs.
const (
	anyUser    = "any"      // every authenticated operator
	orgMember  = "member"   // org member or above
	orgAdmin   = "admin"    // org admin or owner
	projViewer = "viewer"   // project viewer or above (org admins count as project admins)
	projDeploy = "deployer" // project deployer or above
	projAdmin  = "padmin"   // project admin (or org admin/owner)
	public     = "public"   // no credential needed
)

// allowed reports whether role passes need.
func allowed(role, need string) bool {
	switch need {
	case public, anyUser:
		return true
	case orgMember:
		return role == "owner" || role == "admin" || role == "member"
	case orgAdmin:
		return role == "owner" || role == "admin"
	}
	rank := map[string]int{"viewer": 1, "deployer": 2, "padmin": 3, "owner": 3, "admin": 3}
	return rank[role] >= rank[need]
}

type rbacRoute struct {
	pattern string // as api.Routes() lists it
	path    string // a concrete path
	need    string
	body    func(role string) any
}

// TestRBACRouteByRole calls every Hub route as every role and checks the
// outcome: allowed roles are never answered 401/403 (nor 5xx), the others
// get 403, and a caller without a credential gets 401. Roles are read from
// the store on each request, so the table also runs after the memberships
// change (see TestMembers for removal).
func TestRBACRouteByRole(t *testing.T) {
	h := startHub(t, "sqlite")
	devDB := dataDB(t)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "prod"}), 201, "", nil)
	for _, env := range []string{"dev", "prod"} {
		h.expect(h.do("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: devDB}), 201, "", nil)
	}
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil), 201, "", nil)
	h.expect(h.apply("dev", permsV1), 201, "", nil)
	rel := h.release("dev", "r1", 201)
	// What the delete routes delete: nothing a current release needs.
	h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/spare", hubapi.PutConnection{URL: devDB}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "doomed"}), 201, "", nil)
	var key hubapi.CreatedAPIKey
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "k", Roles: []string{"reader"}}), 201, "", &key)

	tokens := map[string]string{"owner": h.token}
	member := func(role, scope, r string) {
		email := role + "@example.com"
		tokens[role] = h.newOperator(email).AccessToken
		if scope != "" {
			h.expect(h.do("POST", scope+"/members", hubapi.PutMember{Email: email, Role: r}), 201, "", nil)
		}
	}
	member("admin", "/v1/orgs/default", "admin")
	member("member", "/v1/orgs/default", "member")
	member("padmin", "/v1/projects/demo", "admin")
	member("deployer", "/v1/projects/demo", "deployer")
	member("viewer", "/v1/projects/demo", "viewer")
	member("none", "", "")
	h.newOperator("target@example.com")

	const env = "/v1/projects/demo/envs/dev"
	n := 0
	uniq := func(prefix string) string { n++; return fmt.Sprintf("%s%d", prefix, n) }
	routes := []rbacRoute{
		{"GET /healthz", "/healthz", public, nil},
		{"GET /readyz", "/readyz", public, nil},
		{"GET /metrics", "/metrics", public, nil},
		{"GET /v1/version", "/v1/version", public, nil},
		{"GET /openapi.json", "/openapi.json", public, nil},
		{"GET /.well-known/jwks.json", "/.well-known/jwks.json", public, nil},
		{"POST /v1/auth/login", "/v1/auth/login", public, func(string) any { return hubapi.Login{Email: "x@example.com"} /* 400: no failed-login count */ }},
		{"POST /v1/auth/refresh", "/v1/auth/refresh", public, func(string) any { return hubapi.Refresh{RefreshToken: "stkrt_nope"} }},
		{"GET /v1/auth/whoami", "/v1/auth/whoami", anyUser, nil},
		// The OAuth login's routes are public; this Hub has no provider.
		{"GET /v1/auth/providers", "/v1/auth/providers", public, nil},
		{"GET /v1/auth/oauth/{provider}/start", "/v1/auth/oauth/corp/start", public, nil},
		{"GET /v1/auth/oauth/{provider}/callback", "/v1/auth/oauth/corp/callback", public, nil},
		{"GET /v1/auth/oauth/done", "/v1/auth/oauth/done?result=success", public, nil},
		{"POST /v1/auth/oauth/token", "/v1/auth/oauth/token", public, func(string) any { return hubapi.OAuthToken{Code: "stkoc_x", CodeVerifier: "v"} }},
		{"POST /v1/auth/device/code", "/v1/auth/device/code", public, func(string) any { return hubapi.DeviceCodeRequest{} }},
		{"POST /v1/auth/device/token", "/v1/auth/device/token", public, func(string) any { return hubapi.DeviceToken{DeviceCode: "stkdc_x"} }},
		{"GET /v1/auth/device", "/v1/auth/device", public, nil},
		{"POST /v1/auth/device", "/v1/auth/device", public, nil},
		{"POST /v1/tokens", "/v1/tokens", anyUser, func(string) any { return hubapi.CreateToken{Name: uniq("t")} }},
		{"GET /v1/tokens", "/v1/tokens", anyUser, nil},
		{"DELETE /v1/tokens/{id}", "/v1/tokens/tok_01ARZ3NDEKTSV4RRFFQ69G5FAV", anyUser, nil},
		{"POST /v1/users", "/v1/users", orgAdmin, func(string) any {
			return hubapi.CreateUser{Email: uniq("u") + "@example.com", Password: "long-enough-password"}
		}},
		{"GET /v1/users", "/v1/users", orgAdmin, nil},
		{"POST /v1/users/{email}/disable", "/v1/users/target@example.com/disable", orgAdmin, nil},
		{"POST /v1/orgs", "/v1/orgs", orgAdmin, func(string) any { return hubapi.CreateOrg{Name: uniq("org")} }},
		{"GET /v1/orgs", "/v1/orgs", anyUser, nil},
		{"GET /v1/orgs/{org}/members", "/v1/orgs/default/members", orgMember, nil},
		{"POST /v1/orgs/{org}/members", "/v1/orgs/default/members", orgAdmin, func(string) any {
			return hubapi.PutMember{Email: "target@example.com", Role: "member"}
		}},
		{"PUT /v1/orgs/{org}/members/{email}", "/v1/orgs/default/members/target@example.com", orgAdmin, func(string) any { return hubapi.PutMember{Role: "member"} }},
		{"DELETE /v1/orgs/{org}/members/{email}", "/v1/orgs/default/members/target@example.com", orgAdmin, nil},
		{"GET /v1/audit", "/v1/audit", orgAdmin, nil},

		{"POST /v1/projects", "/v1/projects", orgAdmin, func(string) any { return hubapi.CreateProject{Name: uniq("p")} }},
		{"GET /v1/projects", "/v1/projects", anyUser, nil},
		{"GET /v1/projects/{p}", "/v1/projects/demo", projViewer, nil},
		{"POST /v1/projects/{p}/envs", "/v1/projects/demo/envs", projAdmin, func(string) any { return hubapi.CreateEnv{Name: uniq("e")} }},
		{"GET /v1/projects/{p}/envs", "/v1/projects/demo/envs", projViewer, nil},
		{"GET /v1/projects/{p}/members", "/v1/projects/demo/members", projViewer, nil},
		{"POST /v1/projects/{p}/members", "/v1/projects/demo/members", projAdmin, func(string) any {
			return hubapi.PutMember{Email: "target@example.com", Role: "viewer"}
		}},
		{"PUT /v1/projects/{p}/members/{email}", "/v1/projects/demo/members/target@example.com", projAdmin, func(string) any { return hubapi.PutMember{Role: "viewer"} }},
		{"DELETE /v1/projects/{p}/members/{email}", "/v1/projects/demo/members/target@example.com", projAdmin, nil},
		{"GET /v1/projects/{p}/envs/{e}/connections", env + "/connections", projViewer, nil},
		{"PUT /v1/projects/{p}/envs/{e}/connections/{name}", env + "/connections/other", projAdmin, func(string) any { return hubapi.PutConnection{URL: devDB} }},
		{"GET /v1/projects/{p}/envs/{e}/connections/{name}", env + "/connections/main", projViewer, nil},
		{"POST /v1/projects/{p}/envs/{e}/connections/{name}/test", env + "/connections/main/test", projDeploy, nil},
		{"POST /v1/projects/{p}/envs/{e}/connections/{name}/rotate", env + "/connections/main/rotate", projAdmin, func(string) any { return hubapi.PutConnection{URL: devDB} }},
		{"POST /v1/projects/{p}/envs/{e}/connections/{name}/snapshots", env + "/connections/main/snapshots", projDeploy, nil},
		{"GET /v1/projects/{p}/envs/{e}/schema", env + "/schema", projViewer, nil},
		{"PUT /v1/projects/{p}/envs/{e}/permissions", env + "/permissions", projDeploy, nil},
		{"GET /v1/projects/{p}/envs/{e}/permissions", env + "/permissions", projViewer, nil},
		{"PUT /v1/projects/{p}/envs/{e}/auth", env + "/auth", projDeploy, nil},
		{"GET /v1/projects/{p}/envs/{e}/auth", env + "/auth", projViewer, nil},
		{"PUT /v1/projects/{p}/envs/{e}/logics", env + "/logics", projDeploy, func(string) any {
			return hubapi.ApplyLogics{Files: map[string]string{}}
		}},
		{"GET /v1/projects/{p}/envs/{e}/logics", env + "/logics", projViewer, nil},
		{"POST /v1/projects/{p}/envs/{e}/logics/run", env + "/logics/run", projDeploy, func(string) any {
			return hubapi.RunLogic{Name: "nope"}
		}},
		{"POST /v1/projects/{p}/envs/{e}/releases", env + "/releases", projDeploy, func(string) any { return hubapi.CreateRelease{Ref: "r1"} }},
		{"GET /v1/projects/{p}/envs/{e}/releases", env + "/releases", projViewer, nil},
		{"GET /v1/projects/{p}/envs/{e}/releases/current", env + "/releases/current", projViewer, nil},
		{"GET /v1/projects/{p}/envs/{e}/releases/current/surface", env + "/releases/current/surface", projViewer, nil},
		{"GET /v1/projects/{p}/envs/{e}/releases/{id}", env + "/releases/" + rel.ID, projViewer, nil},
		{"POST /v1/projects/{p}/envs/{e}/releases/rollback", env + "/releases/rollback", projDeploy, func(string) any { return hubapi.Rollback{To: rel.ID} }},
		{"POST /v1/projects/{p}/releases/promote", "/v1/projects/demo/releases/promote", projDeploy, func(string) any {
			return hubapi.Promote{From: "dev", To: "prod"}
		}},
		{"GET /v1/projects/{p}/releases/diff", "/v1/projects/demo/releases/diff?from=" + rel.ID + "&to=" + rel.ID, projViewer, nil},
		{"POST /v1/projects/{p}/envs/{e}/apikeys", env + "/apikeys", projAdmin, func(string) any { return hubapi.CreateAPIKey{Name: uniq("k"), Roles: []string{"reader"}} }},
		{"GET /v1/projects/{p}/envs/{e}/apikeys", env + "/apikeys", projViewer, nil},
		{"DELETE /v1/projects/{p}/envs/{e}/apikeys/{keyId}", env + "/apikeys/" + key.KeyID, projAdmin, nil},
		{"GET /v1/projects/{p}/audit", "/v1/projects/demo/audit", projViewer, nil},
		{"DELETE /v1/projects/{p}/envs/{e}/connections/{name}", env + "/connections/spare?confirm=spare", projAdmin, nil},
		{"DELETE /v1/projects/{p}/envs/{e}", "/v1/projects/demo/envs/doomed?confirm=doomed", projAdmin, nil},
		// Deleting a project needs an org admin of its org; once deleted it
		// is 404 for everyone: checked in TestDeleteProjectRBAC.
		{"DELETE /v1/projects/{p}", "", orgAdmin, nil},
		// Logout ends the caller's session: checked in TestLoginRefreshLogout.
		{"POST /v1/auth/logout", "", anyUser, nil},
	}

	// What a caller the table lets through gets: 2xx, except these, whose
	// bodies are refused by design (no failed-login count, a refresh token
	// that never existed, a token id that never existed), or that the
	// roles before have made a conflict or done already.
	answers := map[string][]int{
		"POST /v1/auth/login":                     {400},
		"POST /v1/auth/refresh":                   {401},
		"GET /v1/auth/oauth/{provider}/start":     {404},
		"GET /v1/auth/oauth/{provider}/callback":  {404},
		"POST /v1/auth/oauth/token":               {401},
		"POST /v1/auth/device/code":               {404},
		"POST /v1/auth/device/token":              {401},
		"POST /v1/auth/device":                    {400},
		"DELETE /v1/tokens/{id}":                  {404},
		"POST /v1/orgs/{org}/members":             {201, 409},
		"DELETE /v1/orgs/{org}/members/{email}":   {200, 404},
		"POST /v1/projects/{p}/members":           {201, 409},
		"DELETE /v1/projects/{p}/members/{email}": {200, 404},
		// The first allowed role deletes; the next find nothing.
		"DELETE /v1/projects/{p}/envs/{e}/connections/{name}": {200, 404},
		"DELETE /v1/projects/{p}/envs/{e}":                    {200, 404},
		// The current release has no logic of that name.
		"POST /v1/projects/{p}/envs/{e}/logics/run": {404},
	}
	// Routes whose body is a YAML document rather than JSON.
	yamlBodies := map[string]string{
		"PUT /v1/projects/{p}/envs/{e}/permissions": permsV1,
		"PUT /v1/projects/{p}/envs/{e}/auth":        devAuth,
	}
	covered := map[string]bool{}
	for _, r := range routes {
		covered[r.pattern] = true
	}
	for _, p := range api.Routes() {
		if !covered[p] && !strings.Contains(p, " /internal/") {
			t.Errorf("route %s is missing from the RBAC table", p)
		}
	}

	for _, r := range routes {
		if r.path == "" {
			continue
		}
		method, _, _ := strings.Cut(r.pattern, " ")
		for _, role := range append(rbacRoles, "anonymous") {
			var body any
			if r.body != nil {
				body = r.body(role)
			}
			c := h.as(tokens[role])
			var res reply
			if doc, ok := yamlBodies[r.pattern]; ok {
				res = c.doH(method, r.path, doc, map[string]string{"Content-Type": "application/yaml"})
			} else {
				res = c.do(method, r.path, body)
			}
			switch {
			case role == "anonymous" && r.need != public:
				if res.status != 401 {
					t.Errorf("%s as anonymous: status %d, want 401: %s", r.pattern, res.status, res.body)
				}
			case r.need == public || allowed(role, r.need):
				want, ok := answers[r.pattern]
				if !ok && (res.status < 200 || res.status > 299) || ok && !slices.Contains(want, res.status) {
					t.Errorf("%s as %s: status %d, want allowed (%v, or 2xx): %s", r.pattern, role, res.status, want, res.body)
				}
			default:
				if res.status != 403 {
					t.Errorf("%s as %s: status %d, want 403: %s", r.pattern, role, res.status, res.body)
				}
			}
		}
	}
}
