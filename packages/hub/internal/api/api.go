// Package api is the Hub's HTTP edge (SPEC §15): routes, request decoding,
// response encoding and the §3 error envelope. Handlers are thin: decode,
// call the service with the acting principal, encode. Every route — unknown
// ones and wrong methods included — answers errors as envelopes and carries
// X-Request-Id.
package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/buildinfo"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/tracing"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/metrics"
	"github.com/santokit/santokit/packages/hub/internal/service"
)

// Config configures the HTTP edge.
type Config struct {
	Version string
	// AuthDisabled makes every request act as auth.Dev() (STK_DISABLE_AUTH).
	AuthDisabled bool
	// BridgeTokens are the tokens Bridges present on /internal (SPEC §8.1).
	BridgeTokens []string
	// Authenticator resolves bearer credentials (nil when AuthDisabled).
	Authenticator *auth.Authenticator
	// Metrics counts requests, long polls and failed logins, and serves
	// GET /metrics.
	Metrics *metrics.Metrics
	// Tracer makes each request's server span (nil: tracing off).
	Tracer *tracing.Tracer
}

type handlers struct {
	svc *service.Service
	log *slog.Logger
	cfg Config
	// bridgeTokens are digests of cfg.BridgeTokens.
	bridgeTokens [][sha256.Size]byte
	// crossOrigin refuses cross-site posts of the device page's form.
	crossOrigin *http.CrossOriginProtection
}

// New returns the Hub's HTTP handler.
func New(svc *service.Service, log *slog.Logger, cfg Config) http.Handler {
	h := &handlers{svc: svc, log: log, cfg: cfg, crossOrigin: http.NewCrossOriginProtection()}
	for _, t := range cfg.BridgeTokens {
		h.bridgeTokens = append(h.bridgeTokens, sha256.Sum256([]byte(t)))
	}
	mux := http.NewServeMux()
	register(h, mux.HandleFunc)
	route := func(r *http.Request) string { return routeOf(mux, r) }
	return cfg.Metrics.Observe(mux, edge(log, cfg.Tracer, route, h.principal, h.requireOperator(httpserve.EnvelopeMux(mux, fail))))
}

// openRoutes are the /v1 paths that answer callers without a credential:
// they carry their own (login, refresh, logout by refresh token) or none.
var openRoutes = map[string]bool{"/v1/auth/login": true, "/v1/auth/refresh": true, "/v1/auth/logout": true, "/v1/version": true,
	"/v1/auth/providers": true, "/v1/auth/device": true, "/v1/auth/device/code": true, "/v1/auth/device/token": true}

// isOpen reports whether path needs no operator credential: the routes
// above and the OAuth login's under /v1/auth/oauth/ (start, callback,
// done, token), which a browser or a CLI not yet logged in calls.
func isOpen(path string) bool { return openRoutes[path] || strings.HasPrefix(path, "/v1/auth/oauth/") }

// requireOperator answers 401 to an anonymous caller of any other /v1
// path before its body is read, so that what a request lacks first is a
// credential, not a well-formed body. A path that is not canonical goes on
// to EnvelopeMux's 400 whoever calls: which route it means is unsure.
func (h *handlers) requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := actor(r.Context()); !p.Authenticated() && strings.HasPrefix(r.URL.Path, "/v1/") && !isOpen(r.URL.Path) &&
			httpserve.CanonicalPath(r) == nil {
			fail(w, r, auth.Unauthenticated(p).WithHeader("WWW-Authenticate", `Bearer realm="santokit-hub"`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Routes lists the patterns ("METHOD /path") of every route the Hub
// serves, so that tests can check they cover each one.
func Routes() []string {
	var out []string
	register(&handlers{}, func(pattern string, _ func(http.ResponseWriter, *http.Request)) { out = append(out, pattern) })
	return out
}

// register declares every route of the Hub API (SPEC §15).
func register(h *handlers, handle func(string, func(http.ResponseWriter, *http.Request))) {
	handle("GET /healthz", h.healthz)
	handle("GET /readyz", h.readyz)
	handle("GET /metrics", h.metrics)
	handle("GET /v1/version", h.version)
	handle("GET /openapi.json", h.openapiDocument)

	handle("POST /v1/projects", h.createProject)
	handle("GET /v1/projects", h.listProjects)
	handle("GET /v1/projects/{p}", h.getProject)
	handle("DELETE /v1/projects/{p}", h.deleteProject)
	handle("POST /v1/projects/{p}/envs", h.createEnv)
	handle("GET /v1/projects/{p}/envs", h.listEnvs)
	handle("DELETE /v1/projects/{p}/envs/{e}", h.deleteEnv)

	const env = "/v1/projects/{p}/envs/{e}"
	handle("GET "+env+"/connections", h.listConnections)
	handle("PUT "+env+"/connections/{name}", h.putConnection)
	handle("GET "+env+"/connections/{name}", h.getConnection)
	handle("DELETE "+env+"/connections/{name}", h.deleteConnection)
	handle("POST "+env+"/connections/{name}/test", h.testConnection)
	handle("POST "+env+"/connections/{name}/rotate", h.rotateConnection)
	handle("POST "+env+"/connections/{name}/snapshots", h.snapshot)
	handle("GET "+env+"/schema", h.schema)

	handle("PUT "+env+"/permissions", h.putPermissions)
	handle("GET "+env+"/permissions", h.getPermissions)
	handle("PUT "+env+"/auth", h.putAuthConfig)
	handle("GET "+env+"/auth", h.getAuthConfig)
	handle("PUT "+env+"/logics", h.putLogics)
	handle("GET "+env+"/logics", h.getLogics)
	handle("POST "+env+"/logics/run", h.runLogic)
	handle("POST "+env+"/releases", h.createRelease)
	handle("GET "+env+"/releases", h.listReleases)
	handle("GET "+env+"/releases/current", h.currentRelease)
	handle("GET "+env+"/releases/current/surface", h.currentSurface)
	handle("GET "+env+"/releases/{id}", h.getRelease)
	handle("POST "+env+"/releases/rollback", h.rollback)
	handle("POST /v1/projects/{p}/releases/promote", h.promote)
	handle("GET /v1/projects/{p}/releases/diff", h.releaseDiff)
	handle("POST "+env+"/apikeys", h.createAPIKey)
	handle("GET "+env+"/apikeys", h.listAPIKeys)
	handle("DELETE "+env+"/apikeys/{keyId}", h.revokeAPIKey)
	handle("GET /v1/projects/{p}/audit", h.projectAudit)
	handle("GET /v1/audit", h.orgAudit)

	handle("GET /.well-known/jwks.json", h.jwks)
	handle("POST /v1/auth/login", h.login)
	handle("POST /v1/auth/refresh", h.refresh)
	handle("POST /v1/auth/logout", h.logout)
	handle("GET /v1/auth/whoami", h.whoami)
	handle("GET /v1/auth/providers", h.providers)
	handle("GET /v1/auth/oauth/{provider}/start", h.oauthStart)
	handle("GET /v1/auth/oauth/{provider}/callback", h.oauthCallback)
	handle("GET /v1/auth/oauth/done", h.oauthDone)
	handle("POST /v1/auth/oauth/token", h.oauthToken)
	handle("POST /v1/auth/device/code", h.deviceCode)
	handle("POST /v1/auth/device/token", h.deviceToken)
	handle("GET /v1/auth/device", h.devicePage)
	handle("POST /v1/auth/device", h.deviceVerify)
	handle("POST /v1/tokens", h.createToken)
	handle("GET /v1/tokens", h.listTokens)
	handle("DELETE /v1/tokens/{id}", h.revokeToken)
	handle("POST /v1/users", h.createUser)
	handle("GET /v1/users", h.listUsers)
	handle("POST /v1/users/{email}/disable", h.disableUser)
	handle("POST /v1/orgs", h.createOrg)
	handle("GET /v1/orgs", h.listOrgs)
	for _, scope := range []string{"/v1/orgs/{org}/members", "/v1/projects/{p}/members"} {
		handle("GET "+scope, h.listMembers)
		handle("POST "+scope, h.addMember)
		handle("PUT "+scope+"/{email}", h.setMemberRole)
		handle("DELETE "+scope+"/{email}", h.removeMember)
	}

	handle("GET /internal/v1/envs/{p}/{e}/bundle", h.bridgeOnly(h.bundle))
	handle("GET /internal/v1/apikeys/{keyId}", h.bridgeOnly(h.locateAPIKey))
	handle("POST /internal/v1/apikeys/usage", h.bridgeOnly(h.apiKeyUsage))
}

// principal resolves the acting operator of a /v1 route from the
// Authorization header. An anonymous caller gets through here; the
// Authorizer answers 401 for anything that needs an operator. Other routes
// need no operator: ops routes answer anyone (and must not depend on the
// store for /healthz), and /internal carries a bridge token in the same
// header, checked by bridgeOnly.
func (h *handlers) principal(r *http.Request) (auth.Principal, error) {
	if h.cfg.AuthDisabled {
		return auth.Dev(), nil
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		return auth.Principal{}, nil
	}
	return h.cfg.Authenticator.Authenticate(r.Context(), r.Header.Get("Authorization"))
}

func actor(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}

// fail answers err as a §3 envelope; unexpected failures are logged with
// their cause and request id (the client sees only "internal error").
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.As(err)
	if e.Code == apierr.Internal {
		h.log.Error("internal error", "requestId", RequestID(r.Context()), "message", e.Message, "cause", causeText(e))
	}
	fail(w, r, e)
}

func causeText(e *apierr.Error) string {
	if c := e.Unwrap(); c != nil {
		return c.Error()
	}
	return ""
}

func (h *handlers) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, hubapi.Health{Status: "ok", Mode: h.mode()})
}

func (h *handlers) readyz(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Ready(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hubapi.Health{Status: "ok", Mode: h.mode()})
}

// metrics serves GET /metrics (Prometheus, SPEC §12) to anyone, as
// /healthz: it names routes and counts, nothing of any org.
func (h *handlers) metrics(w http.ResponseWriter, r *http.Request) {
	h.cfg.Metrics.Handler().ServeHTTP(w, r)
}

func (h *handlers) mode() string {
	if h.cfg.AuthDisabled {
		return "auth-disabled"
	}
	return ""
}

func (h *handlers) version(w http.ResponseWriter, r *http.Request) {
	bi := buildinfo.Read()
	writeJSON(w, http.StatusOK, hubapi.Version{Version: h.cfg.Version, Commit: bi.Commit, Date: bi.Date})
}

func (h *handlers) createProject(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateProject
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateProject(r.Context(), actor(r.Context()), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listProjects(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListProjects(r.Context(), actor(r.Context()))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Project]{Items: out}, err)
}

func (h *handlers) getProject(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetProject(r.Context(), actor(r.Context()), r.PathValue("p"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) createEnv(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateEnv
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateEnv(r.Context(), actor(r.Context()), r.PathValue("p"), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listEnvs(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListEnvs(r.Context(), actor(r.Context()), r.PathValue("p"))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Env]{Items: out}, err)
}

func (h *handlers) putConnection(w http.ResponseWriter, r *http.Request) {
	var in hubapi.PutConnection
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, created, err := h.svc.PutConnection(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"), in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) listConnections(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListConnections(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Connection]{Items: out}, err)
}

func (h *handlers) getConnection(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetConnection(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) testConnection(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.TestConnection(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) snapshot(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.Snapshot(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"))
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) schema(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.Schema(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.URL.Query().Get("connection"))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Snapshot]{Items: out}, err)
}

// reply sends v with status, or err as an envelope.
func (h *handlers) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}
