package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/duration"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// maxWait bounds ?wait= of the bundle long poll.
const maxWait = 5 * time.Minute

// bridgeOnly guards the /internal routes: they always require one of the
// configured bridge tokens, whatever STK_DISABLE_AUTH says (SPEC §8.1).
func (h *handlers) bridgeOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !h.validBridgeToken(token) {
			h.fail(w, r, apierr.New(apierr.Unauthorized, "the internal API requires a bridge token (Authorization: Bearer <STK_BRIDGE_TOKEN>)").
				WithHeader("WWW-Authenticate", `Bearer realm="santokit-internal"`))
			return
		}
		next(w, r)
	}
}

// validBridgeToken compares digests in constant time, so neither the
// token's content nor its length leaks through timing.
func (h *handlers) validBridgeToken(token string) bool {
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	match := 0
	for _, want := range h.bridgeTokens {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

// bundle serves GET /internal/v1/envs/{p}/{e}/bundle: the ETag is the env's
// revision; with If-None-Match and ?wait= it long-polls (SPEC §8.1).
func (h *handlers) bundle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	project, env := r.PathValue("p"), r.PathValue("e")
	var wait time.Duration
	if s := r.URL.Query().Get("wait"); s != "" {
		d, err := duration.Parse(s)
		if err != nil || d > maxWait {
			h.fail(w, r, apierr.New(apierr.BadRequest, "wait must be a duration up to %s, such as 30s", maxWait).
				WithDetail("problems", []apierr.Problem{{Path: "wait", Message: "duration up to 5m"}}))
			return
		}
		wait = d
	}
	have, conditional := parseETag(r.Header.Get("If-None-Match"))
	if !conditional {
		b, err := h.svc.Bundle(ctx, project, env)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("ETag", etag(b.Revision))
		writeJSON(w, http.StatusOK, b)
		return
	}
	if wait > 0 {
		defer h.cfg.Metrics.Waiting()()
	}
	b, err := h.svc.WaitBundle(ctx, project, env, have, wait)
	switch {
	case err != nil && ctx.Err() != nil:
		// The Bridge went away, or the Hub is shutting down: "no change as
		// far as this Hub knows"; the Bridge polls again.
		w.Header().Set("ETag", etag(have))
		w.WriteHeader(http.StatusNotModified)
	case err != nil:
		h.fail(w, r, err)
	case b == nil:
		w.Header().Set("ETag", etag(have))
		w.WriteHeader(http.StatusNotModified)
	default:
		w.Header().Set("ETag", etag(b.Revision))
		writeJSON(w, http.StatusOK, b)
	}
}

func (h *handlers) locateAPIKey(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.LocateAPIKey(r.Context(), r.PathValue("keyId"))
	h.reply(w, r, http.StatusOK, out, err)
}

// apiKeyUsage serves POST /internal/v1/apikeys/usage: a Bridge's batch of
// lastUsedAt times (SPEC §7.2, §15).
func (h *handlers) apiKeyUsage(w http.ResponseWriter, r *http.Request) {
	var in hubapi.APIKeyUsage
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.RecordAPIKeyUsage(r.Context(), in)
	h.reply(w, r, http.StatusOK, out, err)
}

func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// parseETag reads If-None-Match: "<revision>" (weak or strong). Anything
// else is treated as no condition, which answers the full bundle.
func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	return n, err == nil
}
