package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/santokit/santokit/packages/core/accessdiff"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/openapi"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/core/surface"
	"github.com/santokit/santokit/packages/hub/internal/auth"
)

// OpenAPIDocument is the Hub API's OpenAPI 3.1 document (SPEC §15), built
// by OpenAPI from the operations below and kept in the repository as
// openapi.json, which GET /openapi.json serves; a test keeps the file
// current (`make openapi` rewrites it).
//
//go:embed openapi.json
var OpenAPIDocument []byte

// OpenAPI builds the Hub's document from its operations.
func OpenAPI() ([]byte, error) {
	return openapi.Build(openapi.Info{
		Title:   "Santokit Hub API",
		Version: "1",
		Description: "The control plane of Santokit (SPEC §15): operators' projects, envs, connections, schema snapshots, " +
			"permissions, logic, releases, API keys, auth; and the Bridge-only /internal routes. JSON over HTTP; " +
			"every error is the §3 envelope (components.schemas.ErrorEnvelope) and every response carries X-Request-Id.",
	}, map[string]openapi.SecurityScheme{
		"operator": {"type": "http", "scheme": "bearer",
			"description": "An operator's access token (JWT from /v1/auth/login) or a CI token (stkpat_…)."},
		"bridge": {"type": "http", "scheme": "bearer", "description": "A Bridge's service token (STK_BRIDGE_TOKENS, SPEC §8.1)."},
	}, operations())
}

func (h *handlers) openapiDocument(w http.ResponseWriter, r *http.Request) {
	openapi.Serve(w, r, OpenAPIDocument)
}

// Example values: each body's type gives its schema, the value its example.
var (
	exTime    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	exProject = hubapi.Project{Name: "demo", Org: "default", CreatedAt: exTime}
	exEnv     = hubapi.Env{Project: "demo", Name: "dev", CreatedAt: exTime}
	exConn    = hubapi.Connection{Project: "demo", Env: "dev", Name: "main", Engine: "postgres",
		URL: "postgres://app:***@db:5432/app", Version: 1, CreatedAt: exTime, UpdatedAt: exTime}
	exTokens = hubapi.Tokens{AccessToken: "eyJhbGciOiJFZERTQSJ9.e30.c2ln", RefreshToken: "rt_6nq2…", ExpiresIn: 900, TokenType: "Bearer"}
	exSnap   = hubapi.Snapshot{Snapshot: schema.Snapshot{ID: "snap_01JD3W6ZQ8", Connection: "main", Engine: "postgres",
		Hash: "5e1d…",
		Tables: []schema.Table{{Name: "users", PrimaryKey: []string{"id"}, ForeignKeys: []schema.ForeignKey{},
			Indexes: []schema.Index{{Name: "users_pkey", Columns: []string{"id"}, Unique: true}},
			Columns: []schema.Column{{Name: "id", Type: "bigint", DBType: "int8"}, {Name: "name", Type: "text", DBType: "text", Nullable: true}}}},
		CreatedAt: exTime}}
	exPerms = hubapi.Permissions{ID: "perm_01JD3W6ZQ8", Project: "demo", Env: "dev", Hash: "3f2c…", Warnings: []hubapi.Warning{},
		CreatedAt: exTime, CreatedBy: "ada@example.com"}
	exAuth = hubapi.AuthConfig{ID: "auth_01JD3W6ZQ8", Project: "demo", Env: "dev", Hash: "9a1b…",
		Issuers:   []authconfig.Issuer{{Name: "dev", Issuer: "http://127.0.0.1:4100"}},
		CreatedAt: exTime, CreatedBy: "ada@example.com"}
	exLogics = hubapi.LogicSet{ID: "logic_01JD3W6ZQ8", Project: "demo", Env: "dev", Hash: "77aa…", CreatedAt: exTime, CreatedBy: "ada@example.com",
		Logics: []hubapi.Logic{{Name: "posts/mine", Auth: "authenticated", Connection: "main", Readonly: true,
			Params:  []logic.Param{{Name: "status", Type: "string", Required: true}},
			Columns: []logic.Column{{Name: "id", Type: "bigint"}, {Name: "title", Type: "text"}}}}}
	exRelease = hubapi.Release{ID: "rel_01JD3W6ZQ8", Ref: "3f2c1ab", Project: "demo", Env: "dev", Current: true, Hash: "c0ff…",
		PermissionsID: "perm_01JD3W6ZQ8", Snapshots: map[string]string{"main": "snap_01JD3W6ZQ8"}, CreatedAt: exTime, CreatedBy: "ada@example.com"}
	exKey = hubapi.APIKey{KeyID: "key_01JD3W6ZQ8", Name: "server", Roles: []string{"writer", "reader"}, Status: "active",
		Project: "demo", Env: "dev", CreatedAt: exTime}
	exToken  = hubapi.Token{ID: "tok_01JD3W6ZQ8", Name: "ci", Project: "demo", Role: "deployer", Status: "active", CreatedBy: "ada@example.com", CreatedAt: exTime}
	exUser   = hubapi.User{ID: "usr_01JD3W6ZQ8", Email: "ada@example.com", Status: "active", CreatedAt: exTime}
	exOrg    = hubapi.Org{Name: "default", CreatedAt: exTime, Role: "owner"}
	exMember = hubapi.Membership{Project: "demo", Role: "deployer", Email: "bob@example.com", UserID: "usr_01JD3W7A2B", CreatedAt: exTime}
	exEvent  = hubapi.AuditEvent{ID: "evt_01JD3W6ZQ8", Time: exTime, Actor: "ada@example.com", Action: "release.create",
		Target: "demo/dev/rel_01JD3W6ZQ8", Outcome: "success", RequestID: "req_01JD3W6ZQ8", Project: "demo"}
	exDiff = hubapi.ReleaseDiff{From: "rel_01JD3W6ZQ8", To: "rel_01JD3W9K4C",
		Changes: []accessdiff.Change{{Table: "posts", Op: "select", Role: "public", Change: accessdiff.Gained}}}
)

// docList is a list answer of items.
func docList[T any](items ...T) hubapi.List[T] { return hubapi.List[T]{Items: items} }

// operations documents every route of register, in its order.
func operations() []openapi.Operation {
	const env = "/v1/projects/{p}/envs/{e}"
	jsonBody := func(v any) *openapi.Body { return &openapi.Body{Value: v} }
	ok := func(v any) []openapi.Response { return []openapi.Response{{Status: http.StatusOK, Body: jsonBody(v)}} }
	created := func(v any) []openapi.Response {
		return []openapi.Response{{Status: http.StatusCreated, Body: jsonBody(v)}}
	}
	// upsert answers 201 when it stores a new version, 200 when it finds
	// the same one already stored (reused).
	upsert := func(v any) []openapi.Response {
		return []openapi.Response{{Status: http.StatusCreated, Description: "Stored a new version.", Body: jsonBody(v)},
			{Status: http.StatusOK, Description: "Unchanged: the version already stored.", Body: jsonBody(v)}}
	}
	html := func(desc string) []openapi.Response {
		return []openapi.Response{{Status: http.StatusOK, Description: desc, Body: &openapi.Body{Media: openapi.HTML, Schema: openapi.Schema{"type": "string"}}}}
	}
	operator := []string{"operator"}
	confirm := []openapi.Param{{Name: "confirm", In: "query", Required: true, Description: "the name of what is deleted, again"},
		{Name: "force", In: "query", Description: "true to delete what still has dependants"}}
	page := []openapi.Param{{Name: "limit", In: "query", Description: "at most this many events (newest first)"},
		{Name: "before", In: "query", Description: "the nextCursor of the previous page"}}
	found := []openapi.Response{{Status: http.StatusFound, Description: "Redirect to the next step of the login.", Headers: []string{"Location"}}}
	yaml := func(text string) *openapi.Body {
		return &openapi.Body{Media: openapi.YAML, Value: text, Schema: openapi.Schema{"type": "string"}}
	}
	return []openapi.Operation{
		{Pattern: "GET /healthz", ID: "healthz", Tag: "ops", Summary: "The process is up (SPEC §12).", Responses: ok(hubapi.Health{Status: "ok"})},
		{Pattern: "GET /readyz", ID: "readyz", Tag: "ops", Summary: "The store is reachable (503 otherwise).", Responses: ok(hubapi.Health{Status: "ok"})},
		{Pattern: "GET /metrics", ID: "metrics", Tag: "ops", Summary: "Prometheus metrics.",
			Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{Media: openapi.Text, Schema: openapi.Schema{"type": "string"}}}}},
		{Pattern: "GET /openapi.json", ID: "openapi", Tag: "ops", Summary: "This document.",
			Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{Schema: openapi.Schema{"type": "object"}}, Headers: []string{"ETag", "Cache-Control"}}}},
		{Pattern: "GET /v1/version", ID: "version", Tag: "ops", Summary: "The Hub's version.", Responses: ok(hubapi.Version{Version: "v1.2.3"})},

		{Pattern: "POST /v1/projects", ID: "createProject", Tag: "projects", Security: operator, Summary: "Create a project.",
			Request: jsonBody(hubapi.CreateProject{Name: "demo"}), Responses: created(exProject)},
		{Pattern: "GET /v1/projects", ID: "listProjects", Tag: "projects", Security: operator, Summary: "The projects the caller can see.",
			Responses: ok(docList(exProject))},
		{Pattern: "GET /v1/projects/{p}", ID: "getProject", Tag: "projects", Security: operator, Summary: "A project with its envs.",
			Responses: ok(hubapi.Project{Name: "demo", Org: "default", CreatedAt: exTime, Envs: []hubapi.Env{exEnv}})},
		{Pattern: "DELETE /v1/projects/{p}", ID: "deleteProject", Tag: "projects", Security: operator, Summary: "Delete a project.",
			Params: confirm, Responses: ok(exProject)},
		{Pattern: "POST /v1/projects/{p}/envs", ID: "createEnv", Tag: "projects", Security: operator, Summary: "Create an env.",
			Request: jsonBody(hubapi.CreateEnv{Name: "dev"}), Responses: created(exEnv)},
		{Pattern: "GET /v1/projects/{p}/envs", ID: "listEnvs", Tag: "projects", Security: operator, Summary: "A project's envs.", Responses: ok(docList(exEnv))},
		{Pattern: "DELETE " + env, ID: "deleteEnv", Tag: "projects", Security: operator, Summary: "Delete an env.", Params: confirm, Responses: ok(exEnv)},

		{Pattern: "GET " + env + "/connections", ID: "listConnections", Tag: "connections", Security: operator, Summary: "An env's connections (URLs redacted).",
			Responses: ok(docList(exConn))},
		{Pattern: "PUT " + env + "/connections/{name}", ID: "putConnection", Tag: "connections", Security: operator,
			Summary: "Set a connection (the URL is write-only; tested first unless noTest).",
			Request: jsonBody(hubapi.PutConnection{Engine: "postgres", URL: "postgres://app:secret@db:5432/app"}), Responses: upsert(exConn)},
		{Pattern: "GET " + env + "/connections/{name}", ID: "getConnection", Tag: "connections", Security: operator, Summary: "A connection (URL redacted).",
			Responses: ok(exConn)},
		{Pattern: "DELETE " + env + "/connections/{name}", ID: "deleteConnection", Tag: "connections", Security: operator, Summary: "Delete a connection.",
			Params: confirm, Responses: ok(exConn)},
		{Pattern: "POST " + env + "/connections/{name}/test", ID: "testConnection", Tag: "connections", Security: operator,
			Summary:   "Connect and report the server version (503 naming only a category on failure).",
			Responses: ok(hubapi.ConnectionTest{OK: true, ServerVersion: "16.4", LatencyMs: 3})},
		{Pattern: "POST " + env + "/connections/{name}/rotate", ID: "rotateConnection", Tag: "connections", Security: operator,
			Summary: "Replace a connection's URL (a new version).",
			Request: jsonBody(hubapi.PutConnection{Engine: "postgres", URL: "postgres://app:new-secret@db:5432/app"}),
			Responses: ok(hubapi.Connection{Project: "demo", Env: "dev", Name: "main", Engine: "postgres",
				URL: "postgres://app:***@db:5432/app", Version: 2, CreatedAt: exTime, UpdatedAt: exTime})},
		{Pattern: "POST " + env + "/connections/{name}/snapshots", ID: "snapshot", Tag: "schema", Security: operator,
			Summary: "Introspect the connection into a schema snapshot (200 and reused when unchanged).", Responses: upsert(exSnap)},
		{Pattern: "GET " + env + "/schema", ID: "schema", Tag: "schema", Security: operator, Summary: "The latest snapshot of each connection.",
			Params: []openapi.Param{{Name: "connection", In: "query", Description: "only this connection"}}, Responses: ok(docList(exSnap))},

		{Pattern: "PUT " + env + "/permissions", ID: "putPermissions", Tag: "staging", Security: operator,
			Summary: "Stage permissions.yaml (SPEC §5), validated against the snapshots; warnings per §5.4.",
			Request: yaml("version: 1\ntables:\n  users:\n    select: [reader]\n"), Responses: upsert(exPerms)},
		{Pattern: "GET " + env + "/permissions", ID: "getPermissions", Tag: "staging", Security: operator, Summary: "The staged permissions.",
			Responses: ok(exPerms)},
		{Pattern: "PUT " + env + "/auth", ID: "putAuthConfig", Tag: "staging", Security: operator, Summary: "Stage the end-user auth config (SPEC §7.3).",
			Request: yaml("version: 1\nissuers:\n  - name: dev\n    issuer: http://127.0.0.1:4100\n"), Responses: upsert(exAuth)},
		{Pattern: "GET " + env + "/auth", ID: "getAuthConfig", Tag: "staging", Security: operator, Summary: "The staged auth config.", Responses: ok(exAuth)},
		{Pattern: "PUT " + env + "/logics", ID: "putLogics", Tag: "staging", Security: operator, Summary: "Stage the logic directory (SPEC §6), all or nothing.",
			Request:   jsonBody(hubapi.ApplyLogics{Files: map[string]string{"posts/mine.sql": "---\nauth: authenticated\n---\nSELECT id, title FROM posts WHERE author_id = :auth.sub\n"}}),
			Responses: upsert(exLogics)},
		{Pattern: "GET " + env + "/logics", ID: "getLogics", Tag: "staging", Security: operator, Summary: "The staged logic set.", Responses: ok(exLogics)},
		{Pattern: "POST " + env + "/logics/run", ID: "runLogic", Tag: "staging", Security: operator,
			Summary:   "Run a logic as an operator (private ones too), answered like /call.",
			Request:   jsonBody(hubapi.RunLogic{Name: "posts/mine", Params: map[string]json.RawMessage{"status": json.RawMessage(`"draft"`)}}),
			Responses: ok(hubapi.LogicResult{Data: json.RawMessage(`[{"id":1,"title":"Hello"}]`)})},

		{Pattern: "POST " + env + "/releases", ID: "createRelease", Tag: "releases", Security: operator,
			Summary: "Freeze the staged versions into a release and make it current (200 with reused when unchanged).",
			Request: jsonBody(hubapi.CreateRelease{Ref: "3f2c1ab"}), Responses: upsert(exRelease)},
		{Pattern: "GET " + env + "/releases", ID: "listReleases", Tag: "releases", Security: operator, Summary: "An env's releases, newest first.",
			Responses: ok(docList(exRelease))},
		{Pattern: "GET " + env + "/releases/current", ID: "currentRelease", Tag: "releases", Security: operator, Summary: "The current release.",
			Responses: ok(exRelease)},
		{Pattern: "GET " + env + "/releases/current/surface", ID: "currentSurface", Tag: "releases", Security: operator,
			Summary: "What the current release lets callers do, for stk gen types (SPEC §13).",
			Responses: ok(surface.Surface{Release: "rel_01JD3W6ZQ8", Project: "demo", Env: "dev",
				Connections: []surface.Connection{{Name: "main", Tables: []surface.Table{{Name: "users",
					Row:    []surface.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "text", Nullable: true}},
					Insert: []surface.Column{{Name: "name", Type: "text", Nullable: true, Optional: true}}, Update: []surface.Column{}}}}},
				Logics: []surface.Logic{}})},
		{Pattern: "GET " + env + "/releases/{id}", ID: "getRelease", Tag: "releases", Security: operator, Summary: "A release with what it exposes.",
			Responses: ok(hubapi.Release{ID: "rel_01JD3W6ZQ8", Ref: "3f2c1ab", Project: "demo", Env: "dev", Current: true, Hash: "c0ff…",
				PermissionsID: "perm_01JD3W6ZQ8", Snapshots: map[string]string{"main": "snap_01JD3W6ZQ8"}, CreatedAt: exTime, CreatedBy: "ada@example.com",
				Exposes: []hubapi.Exposure{{Connection: "main", Table: "users", Columns: []string{"id", "name"}, Ops: map[string][]string{"select": {"reader"}}}}})},
		{Pattern: "POST " + env + "/releases/rollback", ID: "rollback", Tag: "releases", Security: operator,
			Summary: "Make an earlier release of the env current.", Request: jsonBody(hubapi.Rollback{To: "rel_01JD3W6ZQ8"}), Responses: ok(exRelease)},
		{Pattern: "POST /v1/projects/{p}/releases/promote", ID: "promote", Tag: "releases", Security: operator,
			Summary: "Promote a release to another env after the drift check (409 SCHEMA_DRIFT lists details.missing).",
			Request: jsonBody(hubapi.Promote{From: "dev", To: "prod", Ref: "3f2c1ab"}), Responses: upsert(hubapi.Release{ID: "rel_01JD3W9K4C", Ref: "3f2c1ab",
				Project: "demo", Env: "prod", Current: true, Hash: "c0ff…", PermissionsID: "perm_01JD3W6ZQ8", Snapshots: map[string]string{"main": "snap_01JD3W6ZQ8"},
				PromotedFrom: "rel_01JD3W6ZQ8", CreatedAt: exTime, CreatedBy: "ada@example.com"})},
		{Pattern: "GET /v1/projects/{p}/releases/diff", ID: "releaseDiff", Tag: "releases", Security: operator,
			Summary: "Access gained or lost between two releases (SPEC §9).",
			Params: []openapi.Param{{Name: "from", In: "query", Required: true, Description: "a release id"},
				{Name: "to", In: "query", Required: true, Description: "a release id"}}, Responses: ok(exDiff)},
		{Pattern: "POST " + env + "/apikeys", ID: "createAPIKey", Tag: "apikeys", Security: operator,
			Summary:   "Create an API key; the one answer that carries it.",
			Request:   jsonBody(hubapi.CreateAPIKey{Name: "server", Roles: []string{"writer", "reader"}}),
			Responses: created(hubapi.CreatedAPIKey{APIKey: exKey, Key: "stk_key_01JD3W6ZQ8_4fTq…"})},
		{Pattern: "GET " + env + "/apikeys", ID: "listAPIKeys", Tag: "apikeys", Security: operator, Summary: "An env's API keys (never a secret).",
			Responses: ok(docList(exKey))},
		{Pattern: "DELETE " + env + "/apikeys/{keyId}", ID: "revokeAPIKey", Tag: "apikeys", Security: operator, Summary: "Revoke an API key.",
			Responses: ok(hubapi.APIKey{KeyID: "key_01JD3W6ZQ8", Name: "server", Roles: []string{"reader"}, Status: "revoked",
				Project: "demo", Env: "dev", CreatedAt: exTime, RevokedAt: &exTime})},
		{Pattern: "GET /v1/projects/{p}/audit", ID: "projectAudit", Tag: "audit", Security: operator, Summary: "A project's audit events, newest first.",
			Params: page, Responses: ok(docList(exEvent))},
		{Pattern: "GET /v1/audit", ID: "orgAudit", Tag: "audit", Security: operator, Summary: "Org-level audit events (users, orgs, tokens).",
			Params: append([]openapi.Param{{Name: "org", In: "query", Description: "the org (default: default)"}}, page...),
			Responses: ok(docList(hubapi.AuditEvent{ID: "evt_01JD3W6ZQ8", Time: exTime, Actor: "ada@example.com", Action: "token.create",
				Target: "tok_01JD3W6ZQ8", Outcome: "success", RequestID: "req_01JD3W6ZQ8"}))},

		{Pattern: "GET /.well-known/jwks.json", ID: "jwks", Tag: "auth", Summary: "The public keys of the Hub's access tokens.",
			Responses: ok(auth.JWKS{Keys: []auth.JWK{{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
				Kid: "k1", Alg: "EdDSA", Use: "sig"}}})},
		{Pattern: "POST /v1/auth/login", ID: "login", Tag: "auth", Summary: "Log in with email and password (SPEC §7.1).",
			Request: jsonBody(hubapi.Login{Email: "ada@example.com", Password: "correct horse"}), Responses: ok(exTokens)},
		{Pattern: "POST /v1/auth/refresh", ID: "refresh", Tag: "auth", Summary: "Rotate a refresh token for new tokens.",
			Request: jsonBody(hubapi.Refresh{RefreshToken: "rt_6nq2…"}), Responses: ok(exTokens)},
		{Pattern: "POST /v1/auth/logout", ID: "logout", Tag: "auth", Security: []string{"operator", ""},
			Summary: "End the session of a refresh token (or of the bearer access token).",
			Request: jsonBody(hubapi.Refresh{RefreshToken: "rt_6nq2…"}), Responses: ok(hubapi.Status{Status: "ok"})},
		{Pattern: "GET /v1/auth/whoami", ID: "whoami", Tag: "auth", Security: operator, Summary: "The caller and its memberships.",
			Responses: ok(hubapi.Whoami{Kind: "user", ID: "usr_01JD3W6ZQ8", Email: "ada@example.com", Name: "ada@example.com",
				Orgs: []hubapi.Membership{{Org: "default", Role: "owner"}}, Projects: []hubapi.Membership{}})},
		{Pattern: "GET /v1/auth/providers", ID: "providers", Tag: "auth", Summary: "The OAuth providers operators can log in with.",
			Responses: ok(docList(hubapi.Provider{Name: "github", Type: hubapi.ProviderGitHub}))},
		{Pattern: "GET /v1/auth/oauth/{provider}/start", ID: "oauthStart", Tag: "auth", Summary: "Start a browser login (PKCE, loopback redirect).",
			Params: []openapi.Param{{Name: "redirect_uri", In: "query", Required: true, Description: "the CLI's loopback address"},
				{Name: "code_challenge", In: "query", Required: true}, {Name: "code_challenge_method", In: "query", Required: true, Description: "S256"},
				{Name: "state", In: "query", Required: true}},
			Responses: found},
		{Pattern: "GET /v1/auth/oauth/{provider}/callback", ID: "oauthCallback", Tag: "auth", Summary: "The provider's redirect back to the Hub.",
			Params: []openapi.Param{{Name: "code", In: "query"}, {Name: "state", In: "query"}}, Pages: true,
			Responses: append(append([]openapi.Response{}, found...), html("The login's result page (device flow).")...)},
		{Pattern: "GET /v1/auth/oauth/done", ID: "oauthDone", Tag: "auth", Summary: "The page that tells a browser how a login ended.",
			Params: []openapi.Param{{Name: "result", In: "query", Description: "success, unknown_email, unverified_email, disabled, denied, expired or error"}},
			Pages:  true, Responses: html("The result page.")},
		{Pattern: "POST /v1/auth/oauth/token", ID: "oauthToken", Tag: "auth", Summary: "Exchange the loopback's one-time code for tokens.",
			Request: jsonBody(hubapi.OAuthToken{Code: "oc_3kq…", CodeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}), Responses: ok(exTokens)},
		{Pattern: "POST /v1/auth/device/code", ID: "deviceCode", Tag: "auth", Summary: "Start a device login (RFC 8628).",
			Request: jsonBody(hubapi.DeviceCodeRequest{Provider: "github"}),
			Responses: ok(hubapi.DeviceCode{DeviceCode: "dc_…", UserCode: "WDJB-MJHT", VerificationURI: "https://hub.example.com/v1/auth/device",
				VerificationURIComplete: "https://hub.example.com/v1/auth/device?user_code=WDJB-MJHT", ExpiresIn: 600, Interval: 5})},
		{Pattern: "POST /v1/auth/device/token", ID: "deviceToken", Tag: "auth",
			Summary: "Poll a device login: tokens, or an envelope whose details.reason is authorization_pending, slow_down, expired_token or access_denied.",
			Request: jsonBody(hubapi.DeviceToken{DeviceCode: "dc_…"}), Responses: ok(exTokens)},
		{Pattern: "GET /v1/auth/device", ID: "devicePage", Tag: "auth", Summary: "The form where a user enters the device code.",
			Params: []openapi.Param{{Name: "user_code", In: "query"}}, Pages: true, Responses: html("The form.")},
		{Pattern: "POST /v1/auth/device", ID: "deviceVerify", Tag: "auth", Summary: "The form's post: on to the provider's login.",
			Request: &openapi.Body{Media: "application/x-www-form-urlencoded", Schema: openapi.Schema{"type": "object",
				"properties": map[string]any{"user_code": openapi.Schema{"type": "string"}}}}, Pages: true, Responses: found},
		{Pattern: "POST /v1/tokens", ID: "createToken", Tag: "tokens", Security: operator, Summary: "Create a CI token; the one answer that carries it.",
			Request:   jsonBody(hubapi.CreateToken{Name: "ci", Project: "demo", Role: "deployer", Expires: "90d"}),
			Responses: created(hubapi.Token{ID: "tok_01JD3W6ZQ8", Name: "ci", Token: "stkpat_…", Project: "demo", Role: "deployer", Status: "active", CreatedBy: "ada@example.com", CreatedAt: exTime, ExpiresAt: &exTime})},
		{Pattern: "GET /v1/tokens", ID: "listTokens", Tag: "tokens", Security: operator, Summary: "The caller's CI tokens.", Responses: ok(docList(exToken))},
		{Pattern: "DELETE /v1/tokens/{id}", ID: "revokeToken", Tag: "tokens", Security: operator, Summary: "Revoke a CI token.", Responses: ok(exToken)},
		{Pattern: "POST /v1/users", ID: "createUser", Tag: "users", Security: operator, Summary: "Create an operator (org owner/admin).",
			Request: jsonBody(hubapi.CreateUser{Email: "bob@example.com", Password: "another long one"}), Responses: created(exUser)},
		{Pattern: "GET /v1/users", ID: "listUsers", Tag: "users", Security: operator, Summary: "The operators.", Responses: ok(docList(exUser))},
		{Pattern: "POST /v1/users/{email}/disable", ID: "disableUser", Tag: "users", Security: operator, Summary: "Disable an operator.",
			Responses: ok(hubapi.User{ID: "usr_01JD3W6ZQ8", Email: "bob@example.com", Status: "disabled", CreatedAt: exTime})},
		{Pattern: "POST /v1/orgs", ID: "createOrg", Tag: "orgs", Security: operator, Summary: "Create an org.",
			Request: jsonBody(hubapi.CreateOrg{Name: "acme"}), Responses: created(exOrg)},
		{Pattern: "GET /v1/orgs", ID: "listOrgs", Tag: "orgs", Security: operator, Summary: "The caller's orgs.", Responses: ok(docList(exOrg))},
		{Pattern: "GET /v1/orgs/{org}/members", ID: "listOrgMembers", Tag: "orgs", Security: operator, Summary: "An org's members.",
			Responses: ok(docList(hubapi.Membership{Org: "default", Role: "admin", Email: "bob@example.com", UserID: "usr_01JD3W7A2B", CreatedAt: exTime}))},
		{Pattern: "POST /v1/orgs/{org}/members", ID: "addOrgMember", Tag: "orgs", Security: operator, Summary: "Add an operator to an org.",
			Request: jsonBody(hubapi.PutMember{Email: "bob@example.com", Role: "member"}), Responses: created(hubapi.Membership{Org: "default", Role: "member", Email: "bob@example.com"})},
		{Pattern: "PUT /v1/orgs/{org}/members/{email}", ID: "setOrgMemberRole", Tag: "orgs", Security: operator, Summary: "Change an org member's role.",
			Request: jsonBody(hubapi.PutMember{Role: "admin"}), Responses: ok(hubapi.Membership{Org: "default", Role: "admin", Email: "bob@example.com"})},
		{Pattern: "DELETE /v1/orgs/{org}/members/{email}", ID: "removeOrgMember", Tag: "orgs", Security: operator, Summary: "Remove an org member.",
			Responses: ok(hubapi.Membership{Org: "default", Role: "admin", Email: "bob@example.com"})},
		{Pattern: "GET /v1/projects/{p}/members", ID: "listProjectMembers", Tag: "projects", Security: operator,
			Summary: "A project's members (org owners/admins listed with via).", Responses: ok(docList(exMember))},
		{Pattern: "POST /v1/projects/{p}/members", ID: "addProjectMember", Tag: "projects", Security: operator, Summary: "Add an operator to a project.",
			Request: jsonBody(hubapi.PutMember{Email: "bob@example.com", Role: "deployer"}), Responses: created(exMember)},
		{Pattern: "PUT /v1/projects/{p}/members/{email}", ID: "setProjectMemberRole", Tag: "projects", Security: operator,
			Summary: "Change a project member's role.", Request: jsonBody(hubapi.PutMember{Role: "viewer"}), Responses: ok(exMember)},
		{Pattern: "DELETE /v1/projects/{p}/members/{email}", ID: "removeProjectMember", Tag: "projects", Security: operator,
			Summary: "Remove a project member.", Responses: ok(exMember)},

		{Pattern: "GET /internal/v1/envs/{p}/{e}/bundle", ID: "bundle", Tag: "internal", Security: []string{"bridge"},
			Summary: "An env's bundle for Bridges (SPEC §8.1): long poll with If-None-Match and ?wait=30s.",
			Params: []openapi.Param{{Name: "wait", In: "query", Description: "long poll up to this duration (e.g. 30s)"},
				{Name: "If-None-Match", In: "header", Description: "the ETag (revision) the Bridge has"}},
			Responses: []openapi.Response{{Status: http.StatusOK, Headers: []string{"ETag"},
				Body: &openapi.Body{Schema: openapi.Schema{"type": "object", "required": []string{"project", "env", "revision", "release", "connections", "apiKeys"},
					"description": "The bundle (packages/core/bundle): the current release, connections with decrypted URLs, API key hashes. Internal; its shape follows the Hub and Bridge versions."}}},
				{Status: http.StatusNotModified, Description: "The revision did not change within the wait."}}},
		{Pattern: "GET /internal/v1/apikeys/{keyId}", ID: "locateAPIKey", Tag: "internal", Security: []string{"bridge"},
			Summary: "The env of an API key.", Responses: ok(hubapi.APIKeyLocation{Project: "demo", Env: "dev"})},
		{Pattern: "POST /internal/v1/apikeys/usage", ID: "apiKeyUsage", Tag: "internal", Security: []string{"bridge"},
			Summary:   "A Bridge's report of when it last saw keys used.",
			Request:   jsonBody(hubapi.APIKeyUsage{Keys: []hubapi.APIKeyUse{{KeyID: "key_01JD3W6ZQ8", LastUsedAt: exTime}}}),
			Responses: ok(hubapi.APIKeyUsageRecorded{Recorded: 1})},
	}
}
