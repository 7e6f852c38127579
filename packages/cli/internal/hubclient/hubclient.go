// Package hubclient is the CLI's typed client of the Hub HTTP API (SPEC §15).
// It encodes and decodes the shared hubapi types, turns every §3 error
// envelope into an *Error that keeps the envelope for --json output, and
// reports an unreachable or non-conforming Hub with an error that names the
// Hub's URL (never a credential). Requests carry a static bearer token
// (STK_TOKEN) or the tokens of a login stored by the credentials package,
// which a Session refreshes before they expire and once after a 401.
package hubclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// DefaultURL is the Hub URL used when neither --hub nor STK_HUB_URL is set.
const DefaultURL = "http://127.0.0.1:4000"

// maxBody bounds how much of a response the client reads.
const maxBody = 64 << 20

// Client talks to one Hub. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	token     string
	auth      Auth
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (60s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sends Authorization: Bearer token with every request (a CI
// token from STK_TOKEN): it is never refreshed.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithAuth takes the bearer token of each request from a (a stored login,
// see Session), which is asked once to renew it when the Hub answers 401.
func WithAuth(a Auth) Option { return func(c *Client) { c.auth = a } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the Hub at baseURL (http or https, optionally with
// a path prefix). Paths given to Do are escaped and start with "/".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		// The parse error would echo the URL; a Hub URL is not secret, but
		// keep the message predictable.
		return nil, fmt.Errorf("invalid Hub URL %q: want http://host:port or https://host", redactedString(baseURL))
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, http: &http.Client{Timeout: 60 * time.Second}, userAgent: "stk"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL is the Hub's base URL as shown to users (user info redacted).
func (c *Client) URL() string { return c.base.Redacted() }

// Error is a §3 error answered by the Hub.
type Error struct {
	// Status is the HTTP status of the response.
	Status    int
	Code      apierr.Code
	Message   string
	RequestID string
	Details   map[string]any
	// RetryAfter is the Retry-After header of a 429 or 503 (zero when
	// absent).
	RetryAfter time.Duration
	// Envelope is the body as the Hub sent it (requestId filled from the
	// X-Request-Id header when the body had none).
	Envelope apierr.Body
}

func (e *Error) Error() string {
	s := e.Message + " (code " + string(e.Code)
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	return s + ")"
}

// UnreachableError means no HTTP answer came back from the Hub.
type UnreachableError struct {
	HubURL string
	// Reason is a short cause: "connection refused", "timeout", …
	Reason string
	Err    error
}

func (e *UnreachableError) Error() string {
	return "cannot reach the Hub at " + e.HubURL + ": " + e.Reason
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ResponseError means the Hub (or something in front of it) answered, but
// not with the JSON the API promises.
type ResponseError struct {
	HubURL    string
	Status    int
	RequestID string
	Reason    string
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("unexpected answer from the Hub at %s: HTTP %d, %s", e.HubURL, e.Status, e.Reason)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Response is the raw answer of Do.
type Response struct {
	Status    int
	RequestID string
	Header    http.Header
	Body      []byte
}

// Do sends one request. in (if not nil) is sent as JSON; a 2xx answer is
// decoded into out (if not nil). Any non-2xx answer is returned as *Error
// (§3 envelope) or *ResponseError; a transport failure as *UnreachableError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) (*Response, error) {
	if in == nil {
		return c.DoRaw(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return c.DoRaw(ctx, method, path, "application/json", b, out)
}

// DoRaw is Do with a body sent as is, with the given content type (no body
// when contentType is empty). Answers are handled as by Do.
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, in []byte, out any) (*Response, error) {
	return c.send(ctx, method, path, contentType, in, out, true)
}

// Bearer is the token the next request would carry ("" for none),
// refreshed first when a stored login's access token is about to expire.
func (c *Client) Bearer(ctx context.Context) (string, error) {
	if c.auth != nil {
		return c.auth.Token(ctx)
	}
	return c.token, nil
}

// send sends one request, with the bearer token when withAuth is set. A
// 401 answered to a stored login's token makes it renew the token once and
// send the request once more.
func (c *Client) send(ctx context.Context, method, path, contentType string, in []byte, out any, withAuth bool) (*Response, error) {
	token := ""
	if withAuth {
		t, err := c.Bearer(ctx)
		if err != nil {
			return nil, err
		}
		token = t
	}
	r, err := c.once(ctx, method, path, contentType, in, out, token)
	if withAuth && c.auth != nil && token != "" && r != nil && r.Status == http.StatusUnauthorized {
		renewed, rerr := c.auth.Renew(ctx, token)
		if rerr != nil {
			return nil, rerr
		}
		if renewed != "" && renewed != token {
			return c.once(ctx, method, path, contentType, in, out, renewed)
		}
	}
	return r, err
}

func (c *Client) once(ctx context.Context, method, path, contentType string, in []byte, out any, token string) (*Response, error) {
	var body io.Reader
	if contentType != "" {
		body = bytes.NewReader(in)
	}
	// path is already escaped (see seg); the base has no query.
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &UnreachableError{HubURL: c.URL(), Reason: reason(err), Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, &UnreachableError{HubURL: c.URL(), Reason: "reading the answer: " + reason(err), Err: err}
	}
	r := &Response{Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id"), Header: res.Header, Body: raw}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return r, c.decodeError(r)
	}
	if out != nil {
		if !isJSON(res.Header.Get("Content-Type")) {
			return r, &ResponseError{HubURL: c.URL(), Status: r.Status, RequestID: r.RequestID, Reason: describeContentType(res.Header.Get("Content-Type"))}
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return r, &ResponseError{HubURL: c.URL(), Status: r.Status, RequestID: r.RequestID, Reason: "malformed JSON body"}
		}
	}
	return r, nil
}

func (c *Client) decodeError(r *Response) error {
	var env apierr.Body
	if isJSON(r.Header.Get("Content-Type")) && json.Unmarshal(r.Body, &env) == nil && env.Error.Code != "" {
		if env.Error.RequestID == "" {
			env.Error.RequestID = r.RequestID
		}
		return &Error{
			Status: r.Status, Code: env.Error.Code, Message: env.Error.Message,
			RequestID: env.Error.RequestID, Details: env.Error.Details, Envelope: env,
			RetryAfter: retryAfter(r.Header.Get("Retry-After")),
		}
	}
	return &ResponseError{HubURL: c.URL(), Status: r.Status, RequestID: r.RequestID, Reason: "no error envelope in the body (" + describeContentType(r.Header.Get("Content-Type")) + ")"}
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func describeContentType(ct string) string {
	if ct == "" {
		return "no content type"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "malformed content type"
	}
	return "content type " + mt
}

// reason reduces a transport error to its cause, without the request URL
// that net/http puts in front of it.
func reason(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "unknown host " + dnsErr.Name
		}
		return "DNS lookup of " + dnsErr.Name + " failed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

func redactedString(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

func seg(s string) string { return url.PathEscape(s) }

func envPath(project, env string) string {
	return "/v1/projects/" + seg(project) + "/envs/" + seg(env)
}

// Version calls GET /v1/version.
func (c *Client) Version(ctx context.Context) (hubapi.Version, error) {
	var out hubapi.Version
	_, err := c.Do(ctx, http.MethodGet, "/v1/version", nil, &out)
	return out, err
}

// Ready calls GET /readyz.
func (c *Client) Ready(ctx context.Context) (hubapi.Health, error) {
	var out hubapi.Health
	_, err := c.Do(ctx, http.MethodGet, "/readyz", nil, &out)
	return out, err
}

// CreateProject calls POST /v1/projects.
func (c *Client) CreateProject(ctx context.Context, in hubapi.CreateProject) (hubapi.Project, error) {
	var out hubapi.Project
	_, err := c.Do(ctx, http.MethodPost, "/v1/projects", in, &out)
	return out, err
}

// ListProjects calls GET /v1/projects.
func (c *Client) ListProjects(ctx context.Context) (hubapi.List[hubapi.Project], error) {
	var out hubapi.List[hubapi.Project]
	_, err := c.Do(ctx, http.MethodGet, "/v1/projects", nil, &out)
	return out, err
}

// GetProject calls GET /v1/projects/{p}.
func (c *Client) GetProject(ctx context.Context, project string) (hubapi.Project, error) {
	var out hubapi.Project
	_, err := c.Do(ctx, http.MethodGet, "/v1/projects/"+seg(project), nil, &out)
	return out, err
}

// CreateEnv calls POST /v1/projects/{p}/envs.
func (c *Client) CreateEnv(ctx context.Context, project string, in hubapi.CreateEnv) (hubapi.Env, error) {
	var out hubapi.Env
	_, err := c.Do(ctx, http.MethodPost, "/v1/projects/"+seg(project)+"/envs", in, &out)
	return out, err
}

// ListEnvs calls GET /v1/projects/{p}/envs.
func (c *Client) ListEnvs(ctx context.Context, project string) (hubapi.List[hubapi.Env], error) {
	var out hubapi.List[hubapi.Env]
	_, err := c.Do(ctx, http.MethodGet, "/v1/projects/"+seg(project)+"/envs", nil, &out)
	return out, err
}

// PutConnection calls PUT …/connections/{name}; created is true on 201.
func (c *Client) PutConnection(ctx context.Context, project, env, name string, in hubapi.PutConnection) (out hubapi.Connection, created bool, err error) {
	r, err := c.Do(ctx, http.MethodPut, envPath(project, env)+"/connections/"+seg(name), in, &out)
	if err != nil {
		return out, false, err
	}
	return out, r.Status == http.StatusCreated, nil
}

// ListConnections calls GET …/connections.
func (c *Client) ListConnections(ctx context.Context, project, env string) (hubapi.List[hubapi.Connection], error) {
	var out hubapi.List[hubapi.Connection]
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/connections", nil, &out)
	return out, err
}

// GetConnection calls GET …/connections/{name}.
func (c *Client) GetConnection(ctx context.Context, project, env, name string) (hubapi.Connection, error) {
	var out hubapi.Connection
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/connections/"+seg(name), nil, &out)
	return out, err
}

// TestConnection calls POST …/connections/{name}/test.
func (c *Client) TestConnection(ctx context.Context, project, env, name string) (hubapi.ConnectionTest, error) {
	var out hubapi.ConnectionTest
	_, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/connections/"+seg(name)+"/test", nil, &out)
	return out, err
}

// Snapshot calls POST …/connections/{name}/snapshots; created is true on 201
// (a new snapshot), false on 200 (the latest one reused).
func (c *Client) Snapshot(ctx context.Context, project, env, connection string) (out hubapi.Snapshot, created bool, err error) {
	r, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/connections/"+seg(connection)+"/snapshots", nil, &out)
	if err != nil {
		return out, false, err
	}
	return out, r.Status == http.StatusCreated, nil
}

// Schema calls GET …/schema: the latest snapshot per connection, or of the
// named connection only.
func (c *Client) Schema(ctx context.Context, project, env, connection string) (hubapi.List[hubapi.Snapshot], error) {
	var out hubapi.List[hubapi.Snapshot]
	p := envPath(project, env) + "/schema"
	if connection != "" {
		p += "?connection=" + url.QueryEscape(connection)
	}
	_, err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}
