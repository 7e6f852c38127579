package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// maxBundleBytes bounds what the Bridge reads of one bundle answer.
const maxBundleBytes = 256 << 20

// errHubNotFound is the Hub's 404: the env (or key id) does not exist.
var errHubNotFound = errors.New("not found on the Hub")

// hubError is an unexpected answer of the Hub (its status only: the body may
// be an envelope, but nothing of it is needed).
type hubError struct{ status int }

func (e *hubError) Error() string { return fmt.Sprintf("the Hub answered %d", e.status) }

// hubClient speaks the Hub's /internal API (SPEC §8.1). It knows one Hub
// or several (STK_HUB_URL as a comma list, SPEC §12): it sticks to the one
// that last answered and, when a request cannot reach it (a transport
// error, not an HTTP status), tries the next ones in turn; when it does not
// answer before the request's deadline, the next request starts at the
// following Hub. Any Hub of a
// deployment serves the same store, so they are interchangeable.
type hubClient struct {
	bases  []string // without trailing slashes; at least one
	cur    atomic.Int32
	token  string
	http   *http.Client
	tracer *tracing.Tracer // nil: tracing off
}

func newHubClient(hubURLs, token string, client *http.Client, tracer *tracing.Tracer) *hubClient {
	h := &hubClient{token: token, http: client, tracer: tracer}
	for _, b := range strings.Split(hubURLs, ",") {
		if b = strings.TrimRight(strings.TrimSpace(b), "/"); b != "" {
			h.bases = append(h.bases, b)
		}
	}
	if len(h.bases) == 0 {
		h.bases = []string{""}
	}
	return h
}

// do sends the request that newReq builds for a Hub base URL, starting
// with the current Hub and failing over to the others on transport errors.
// With internal, the bridge token is added.
func (h *hubClient) do(ctx context.Context, internal bool, newReq func(base string) (*http.Request, error)) (*http.Response, error) {
	start := int(h.cur.Load())
	var lastErr error
	for i := range h.bases {
		n := (start + i) % len(h.bases)
		req, err := newReq(h.bases[n])
		if err != nil {
			return nil, err
		}
		if internal {
			req.Header.Set("Authorization", "Bearer "+h.token)
		}
		h.tracer.Inject(ctx, req.Header)
		res, err := h.http.Do(req)
		if err == nil {
			h.cur.Store(int32(n))
			return res, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			// No answer before the deadline: this Hub may be hung rather
			// than refusing connections, so the next request starts at
			// the following one instead of waiting on it again.
			h.cur.CompareAndSwap(int32(n), int32((n+1)%len(h.bases)))
			break
		}
	}
	return nil, lastErr
}

// fetch gets the bundle of project/env. With have ≥ 0 it is a conditional
// long poll (If-None-Match, ?wait=): nil, true means 304 Not Modified.
func (h *hubClient) fetch(ctx context.Context, project, env string, have int64, wait time.Duration) (b *bundle.Bundle, notModified bool, err error) {
	ctx, span := h.tracer.Start(ctx, "bundle fetch", trace.SpanKindClient)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("santokit.project", project), attribute.String("santokit.env", env),
			attribute.Bool("santokit.long_poll", have >= 0 && wait > 0))
		defer func() { endFetch(span, b != nil, notModified, err) }()
	}
	path := "/internal/v1/envs/" + url.PathEscape(project) + "/" + url.PathEscape(env) + "/bundle"
	if have >= 0 && wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	res, err := h.do(ctx, true, func(base string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if have >= 0 {
			req.Header.Set("If-None-Match", `"`+strconv.FormatInt(have, 10)+`"`)
		}
		return req, nil
	})
	if err != nil {
		return nil, false, err
	}
	defer drain(res.Body)
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, true, nil
	case http.StatusNotFound:
		return nil, false, errHubNotFound
	default:
		return nil, false, &hubError{status: res.StatusCode}
	}
	b = &bundle.Bundle{}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxBundleBytes)).Decode(b); err != nil {
		// The decoder's text never quotes the body.
		return nil, false, fmt.Errorf("decode the bundle: %w", err)
	}
	if rev, ok := parseETag(res.Header.Get("ETag")); ok {
		b.Revision = rev
	}
	if b.Project == "" {
		b.Project = project
	}
	if b.Env == "" {
		b.Env = env
	}
	return b, false, nil
}

// endFetch records a bundle fetch's result on its span ("ok",
// "not_modified" or "error", the names of the bundle-load metric) and
// ends it. Neither the bundle nor an error's text goes into the span.
func endFetch(span trace.Span, got, notModified bool, err error) {
	result := "error"
	switch {
	case err != nil:
		tracing.Fail(span, "bundle fetch failed")
	case notModified:
		result = "not_modified"
	case got:
		result = "ok"
	}
	span.SetAttributes(attribute.String("santokit.result", result))
	span.End()
}

// locate asks the Hub which env an API key id belongs to.
func (h *hubClient) locate(ctx context.Context, keyID string) (loc hubapi.APIKeyLocation, err error) {
	ctx, span := h.tracer.Start(ctx, "apikey lookup", trace.SpanKindClient)
	if span.IsRecording() {
		defer func() {
			if err != nil && !errors.Is(err, errHubNotFound) {
				tracing.Fail(span, "apikey lookup failed")
			}
			span.End()
		}()
	}
	res, err := h.do(ctx, true, func(base string) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, base+"/internal/v1/apikeys/"+url.PathEscape(keyID), nil)
	})
	if err != nil {
		return loc, err
	}
	defer drain(res.Body)
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return loc, errHubNotFound
	default:
		return loc, &hubError{status: res.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&loc); err != nil {
		return loc, fmt.Errorf("decode the key location: %w", err)
	}
	if loc.Project == "" || loc.Env == "" {
		return loc, errors.New("the Hub's key location names no env")
	}
	return loc, nil
}

// reportUsage posts a batch of API key uses (POST /internal/v1/apikeys/usage).
func (h *hubClient) reportUsage(ctx context.Context, batch []hubapi.APIKeyUse) error {
	body, err := json.Marshal(hubapi.APIKeyUsage{Keys: batch})
	if err != nil {
		return err
	}
	res, err := h.do(ctx, true, func(base string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/internal/v1/apikeys/usage", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	drain(res.Body)
	if res.StatusCode != http.StatusOK {
		return &hubError{status: res.StatusCode}
	}
	return nil
}

// ping checks that a Hub answers at all (GET /healthz, no token needed).
func (h *hubClient) ping(ctx context.Context) error {
	res, err := h.do(ctx, false, func(base string) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	})
	if err != nil {
		return err
	}
	drain(res.Body)
	if res.StatusCode != http.StatusOK {
		return &hubError{status: res.StatusCode}
	}
	return nil
}

func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<16))
	_ = r.Close()
}

func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	return n, err == nil
}
