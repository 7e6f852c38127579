// Package call is the HTTP edge of POST /call (SPEC §4): it runs the checks
// of §4.2 in their contractual order — syntax, credential form, context and
// verification, release, then the planner's authorization and params, then
// execution — and answers each failure with its status. Everything about
// permissions and SQL lives in packages/core/plan; running the plan lives
// in internal/execute. The handler itself holds no request state.
package call

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/bundles"
	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/bridge/internal/edge"
	"github.com/santokit/santokit/packages/bridge/internal/enduser"
	"github.com/santokit/santokit/packages/bridge/internal/execute"
	"github.com/santokit/santokit/packages/bridge/internal/ratelimit"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/plan"
)

// Header names of SPEC §4.1.
const (
	HeaderAPIKey  = "X-Santokit-Api-Key"
	HeaderProject = "X-Santokit-Project"
	HeaderEnv     = "X-Santokit-Env"
)

// Config wires the handler to the Bridge's parts.
type Config struct {
	Cache *bundles.Cache
	Pools *dbpool.Pools
	Exec  *execute.Executor
	// Users verifies end-user tokens (a default Verifier when nil).
	Users *enduser.Verifier
	// MaxBodyBytes bounds the request body (STK_MAX_BODY_BYTES → 413).
	MaxBodyBytes int64
	// AuthDisabled is STK_DISABLE_AUTH: the hint headers select the env,
	// and every op is allowed (plan.Caller.Superuser).
	AuthDisabled bool
	// Observe records one call for metrics (op, status, duration).
	Observe func(op string, status int, d time.Duration)
	Log     *slog.Logger
	// Now is the clock for key expiry and rate limits (time.Now when nil).
	Now func() time.Time
	// KeyUsed is told each API key that authenticated a call, and when
	// (the usage reporter; nothing when nil). It must not block.
	KeyUsed func(keyID string, at time.Time)
	// Limits is STK_RATE_LIMIT's bucket table (nil: no limit). It is
	// consulted after step 3, so only a verified caller spends from a
	// bucket: a forged key is 401 and cannot drain a real key's budget
	// (decision 0032).
	Limits *ratelimit.Limiter
}

// Handler serves POST /call.
type Handler struct {
	cfg  Config
	bufs sync.Pool
}

// New returns the handler.
func New(cfg Config) *Handler {
	if cfg.Observe == nil {
		cfg.Observe = func(string, int, time.Duration) {}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyUsed == nil {
		cfg.KeyUsed = func(string, time.Time) {}
	}
	if cfg.Users == nil {
		cfg.Users = enduser.New(enduser.Config{Now: cfg.Now, Log: cfg.Log})
	}
	h := &Handler{cfg: cfg}
	h.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return h
}

// maxPooledBuffer keeps huge responses from pinning memory in the pool.
const maxPooledBuffer = 1 << 20

// autoContentLength is net/http's bufferBeforeChunkingSize: a body up to
// this size written in one go gets its Content-Length from net/http.
const autoContentLength = 2048

var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// ServeHTTP runs one call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op := "none"
	bp := h.bufs.Get().(*[]byte)
	body, err := h.serve(w, r, &op, (*bp)[:0])
	status := http.StatusOK
	if err != nil {
		e := apierr.As(err)
		status = e.Status()
		edge.Fail(w, r, e)
	} else {
		hdr := w.Header()
		// Shared, never-modified values assigned under their canonical
		// keys: Set would allocate a slice for each, per response.
		hdr["Content-Type"] = jsonContentType
		hdr["Cache-Control"] = noStore
		if len(body) > autoContentLength {
			// net/http would answer chunked: it sets Content-Length by
			// itself only when the whole body fits its buffer.
			hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
	if cap(body) <= maxPooledBuffer {
		*bp = body[:0]
		h.bufs.Put(bp)
	}
	h.cfg.Observe(op, status, time.Since(start))
}

// serve runs the pipeline of SPEC §4.2 and returns the response body.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, op *string, buf []byte) ([]byte, error) {
	ctx := r.Context()
	fields := edge.From(w)

	// 1. Syntax.
	target, params, err := h.parse(w, r)
	if err != nil {
		return nil, err
	}
	*op = string(target.Op)
	if target.Logic != "" {
		*op = "logic"
	}
	fields.CallPath = clip(pathOf(target))

	// 2. Credential form, and 3. context and verification.
	entry, caller, err := h.authenticate(ctx, r, fields)
	if err != nil {
		return nil, err
	}
	if h.cfg.Limits != nil {
		if err := h.limit(fields, caller); err != nil {
			return nil, err
		}
	}

	// 4. Release.
	if !entry.Env.HasRelease() {
		return nil, apierr.New(apierr.NotFound, "env %s/%s has no release yet (stk release create)", entry.Bundle.Project, entry.Bundle.Env)
	}

	// 5–6. Authorization and params: the planner.
	p, err := entry.Env.Plan(caller, target, params)
	if err != nil {
		return nil, asAPIError(err)
	}

	// 7. Execution.
	conn, ok := entry.Bundle.Connection(p.Connection)
	if !ok {
		return nil, apierr.New(apierr.ServiceUnavailable, "database unavailable: connection %s is not configured in env %s/%s", p.Connection, entry.Bundle.Project, entry.Bundle.Env)
	}
	pool, release, err := h.cfg.Pools.Acquire(entry.Bundle.Project, entry.Bundle.Env, *conn)
	if err != nil {
		if errors.Is(err, dbpool.ErrClosed) {
			return nil, apierr.Wrap(apierr.ServiceUnavailable, err, "the Bridge is shutting down")
		}
		var refusal *dbtarget.Refusal
		if errors.As(err, &refusal) {
			// The operator's configuration, not the caller's request, is
			// wrong: 503 like any database the Bridge cannot use
			// (docs/decisions/0011).
			return nil, apierr.Wrap(apierr.ServiceUnavailable, err, "database unavailable: connection %s is refused by this Bridge's connection policy: %s", p.Connection, refusal.Reason)
		}
		return nil, apierr.Wrap(apierr.ServiceUnavailable, err, "database unavailable: connection %s cannot be opened", p.Connection)
	}
	defer release()
	out, _, err := h.cfg.Exec.Run(ctx, pool, p, buf)
	return out, err
}

// limit spends one request of the verified caller's budget
// (STK_RATE_LIMIT, SPEC §4.6): an API key's by its keyId, an end user's by
// env, issuer and sub. Anonymous callers have no credential to count by.
func (h *Handler) limit(f *edge.Fields, caller plan.Caller) error {
	var key string
	switch {
	case caller.EndUser:
		key = "u:" + f.Project + "/" + f.Env + "\x00" + f.Issuer + "\x00" + caller.Subject
	case f.KeyID != "":
		key = "k:" + f.KeyID
	default:
		return nil
	}
	ok, wait := h.cfg.Limits.Allow(key, h.cfg.Now())
	if ok {
		return nil
	}
	who := "API key " + f.KeyID
	if caller.EndUser {
		who = "end user " + clip(caller.Subject)
	}
	retry := ratelimit.RetryAfter(wait)
	return apierr.New(apierr.TooManyRequests, "rate limit exceeded for %s (STK_RATE_LIMIT); retry after %s s", who, retry).
		WithHeader("Retry-After", retry)
}

// pathOf is the /call path of t, for the access log.
func pathOf(t plan.Target) string {
	if t.Logic != "" {
		return "logics/" + t.Logic
	}
	return "db/" + t.Connection + "/" + t.Table + "/" + string(t.Op)
}

// parse is step 1: the body is one JSON object with a path of the §4.1
// grammar and optional object params.
func (h *Handler) parse(w http.ResponseWriter, r *http.Request) (plan.Target, []byte, error) {
	var t plan.Target
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return t, nil, apierr.New(apierr.PayloadTooLarge, "request body is larger than %d bytes", maxErr.Limit)
		}
		return t, nil, apierr.Wrap(apierr.BadRequest, err, "request body cannot be read")
	}
	return decodeRequest(data)
}

// decodeRequest is step 1, plan.DecodeRequest: the Workers runtime runs the
// same function inside its wasm planner (SPEC §16).
func decodeRequest(data []byte) (plan.Target, []byte, error) { return plan.DecodeRequest(data) }

// authenticate is steps 2 and 3: the credential's form, then the env it
// selects and its verification against that env's bundle.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, f *edge.Fields) (*bundles.Entry, plan.Caller, error) {
	key := strings.TrimSpace(r.Header.Get(HeaderAPIKey))
	authz := strings.TrimSpace(r.Header.Get("Authorization"))
	project, env := strings.TrimSpace(r.Header.Get(HeaderProject)), strings.TrimSpace(r.Header.Get(HeaderEnv))
	if h.cfg.AuthDisabled {
		return h.devContext(ctx, key, project, env, f)
	}

	// 2. Credential form.
	var keyID, secret, token string
	switch {
	case key != "" && authz != "":
		return nil, plan.Caller{}, apierr.New(apierr.BadRequest, "send one credential: %s or Authorization: Bearer, not both", HeaderAPIKey)
	case key != "":
		var ok bool
		if keyID, secret, ok = apikey.Parse(key); !ok {
			return nil, plan.Caller{}, unauthorized("malformed API key: %s must be stk_<keyId>_<secret>", HeaderAPIKey)
		}
	case authz != "":
		var ok bool
		if token, ok = cutBearer(authz); !ok || token == "" {
			return nil, plan.Caller{}, unauthorized("the Authorization header must be Bearer <end-user token>")
		}
		if project == "" || env == "" {
			return nil, plan.Caller{}, apierr.New(apierr.BadRequest, "a Bearer token needs both %s and %s", HeaderProject, HeaderEnv)
		}
	default:
		if project == "" && env == "" {
			return nil, plan.Caller{}, unauthorized("this call needs a credential: %s: stk_<keyId>_<secret>, or Authorization: Bearer <end-user token> with %s and %s",
				HeaderAPIKey, HeaderProject, HeaderEnv)
		}
		if project == "" || env == "" {
			return nil, plan.Caller{}, apierr.New(apierr.BadRequest, "%s and %s go together: send both, or neither", HeaderProject, HeaderEnv)
		}
	}

	// 3. Context and verification.
	switch {
	case keyID != "":
		f.KeyID = keyID
		loc, err := h.cfg.Cache.Locate(ctx, keyID)
		if err != nil {
			if errors.Is(err, bundles.ErrUnknownKey) {
				return nil, plan.Caller{}, unauthorized("invalid API key")
			}
			return nil, plan.Caller{}, cacheError(err)
		}
		f.Project, f.Env = loc.Project, loc.Env
		entry, err := h.cfg.Cache.GetForKey(ctx, loc.Project, loc.Env, keyID)
		if err != nil {
			if errors.Is(err, bundles.ErrEnvNotFound) {
				return nil, plan.Caller{}, unauthorized("invalid API key")
			}
			return nil, plan.Caller{}, cacheError(err)
		}
		now := h.cfg.Now()
		caller, err := entry.Env.Authenticate(keyID, secret, now)
		if err != nil {
			return nil, plan.Caller{}, asAPIError(err)
		}
		h.cfg.KeyUsed(keyID, now)
		if (project != "" && project != loc.Project) || (env != "" && env != loc.Env) {
			return nil, plan.Caller{}, apierr.New(apierr.Forbidden, "the API key is bound to project %s, env %s; %s/%s name another",
				loc.Project, loc.Env, HeaderProject, HeaderEnv)
		}
		return entry, caller, nil
	case authz != "":
		entry, err := h.envFromHeaders(ctx, project, env, f)
		if err != nil {
			return nil, plan.Caller{}, err
		}
		// The token verifies against the env's released auth config
		// (SPEC §7.3); an env without a release trusts no issuer yet.
		var auth *authconfig.Document
		if entry.Bundle.Release != nil {
			auth = entry.Bundle.Release.Auth
		}
		id, err := h.cfg.Users.Verify(ctx, auth, token)
		if err != nil {
			return nil, plan.Caller{}, tokenError(err)
		}
		f.Subject, f.Issuer = clip(id.Subject), id.IssuerName
		return entry, plan.Caller{EndUser: true, Subject: id.Subject, Roles: id.Roles, Claims: id.Claims}, nil
	default:
		entry, err := h.envFromHeaders(ctx, project, env, f)
		if err != nil {
			return nil, plan.Caller{}, err
		}
		return entry, plan.Caller{Anonymous: true}, nil
	}
}

// devContext is STK_DISABLE_AUTH: no credential checks; the hint headers
// (or, without them, an API key's binding) select the env.
func (h *Handler) devContext(ctx context.Context, key, project, env string, f *edge.Fields) (*bundles.Entry, plan.Caller, error) {
	caller := plan.Caller{Superuser: true}
	if project != "" && env != "" {
		entry, err := h.envFromHeaders(ctx, project, env, f)
		return entry, caller, err
	}
	if keyID, _, ok := apikey.Parse(key); ok {
		f.KeyID = keyID
		loc, err := h.cfg.Cache.Locate(ctx, keyID)
		if errors.Is(err, bundles.ErrUnknownKey) {
			return nil, caller, unauthorized("invalid API key")
		} else if err != nil {
			return nil, caller, cacheError(err)
		}
		entry, err := h.envFromHeaders(ctx, loc.Project, loc.Env, f)
		return entry, caller, err
	}
	return nil, caller, apierr.New(apierr.BadRequest, "authentication is disabled on this Bridge: %s and %s select the env, send both", HeaderProject, HeaderEnv)
}

// envFromHeaders loads the env the hint headers name (unknown → 404).
func (h *Handler) envFromHeaders(ctx context.Context, project, env string, f *edge.Fields) (*bundles.Entry, error) {
	notFound := apierr.New(apierr.NotFound, "env %q of project %q not found", clip(env), clip(project))
	if !names.IsResource(project) || !names.IsResource(env) {
		return nil, notFound // cannot exist: the Hub is not asked
	}
	f.Project, f.Env = project, env
	entry, err := h.cfg.Cache.Get(ctx, project, env)
	if errors.Is(err, bundles.ErrEnvNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, cacheError(err)
	}
	return entry, nil
}

func cacheError(err error) error {
	var ue *bundles.UnavailableError
	switch {
	case errors.As(err, &ue) && ue.RetryAfter > 0:
		return apierr.Wrap(apierr.ServiceUnavailable, err, "%s", ue.Reason).
			WithHeader("Retry-After", strconv.Itoa(int(ue.RetryAfter.Round(time.Second)/time.Second)))
	case errors.As(err, &ue):
		return apierr.Wrap(apierr.ServiceUnavailable, err, "%s", ue.Reason)
	case errors.Is(err, bundles.ErrClosed):
		return apierr.Wrap(apierr.ServiceUnavailable, err, "the Bridge is shutting down")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierr.Wrap(apierr.ServiceUnavailable, err, "request canceled")
	}
	return apierr.Wrap(apierr.Internal, err, "internal error")
}

// tokenError is 401 for a token that does not verify (its reason, never
// its value), 503 when the issuer's keys cannot be fetched at all.
func tokenError(err error) error {
	var e *enduser.Error
	if !errors.As(err, &e) {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	if e.Unavailable {
		return apierr.Wrap(apierr.ServiceUnavailable, err, "%s", e.Reason)
	}
	return unauthorized("invalid end-user token: %s", e.Reason).
		WithHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
}

func unauthorized(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.Unauthorized, format, args...)
}

// asAPIError keeps the planner's §3 errors; anything else it returns is a
// bug in this Bridge, shown as an internal error.
func asAPIError(err error) error {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e
	}
	return apierr.Wrap(apierr.Internal, err, "internal error")
}

func cutBearer(authz string) (string, bool) {
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
