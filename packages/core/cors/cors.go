// Package cors is Santokit's answer to browsers (SPEC §4.6,
// STK_CORS_ORIGINS; decision 0029): which origins may call a route from a
// page, the preflight answered before any other work (for the Bridge's
// POST /call: before bundles and credentials), and the headers every
// response of that route to an allowed origin carries, errors included.
// The Bridge applies it to /call; `stk dev` to its dev token endpoint.
//
// CORS is a browser rule, not authorization: a request from an origin that
// is not allowed is still served, only without CORS headers, so the browser
// withholds the answer from the page. Santokit credentials are request
// headers, never cookies, so Access-Control-Allow-Credentials is never sent
// and `*` is a safe setting.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
)

// The fixed parts of the answers. AllowHeaders are exactly the request
// headers of SPEC §4.1 and §3 a browser app sends; ExposeHeaders the
// response headers it reads that are not CORS-safelisted: the request id,
// and Retry-After of a 429 or 503, which the SDK honours.
const (
	AllowMethods  = "POST"
	AllowHeaders  = "Authorization, Content-Type, X-Request-Id, X-Santokit-Api-Key, X-Santokit-Env, X-Santokit-Project"
	ExposeHeaders = "X-Request-Id, Retry-After"
	MaxAge        = "600"
)

// Policy is a parsed STK_CORS_ORIGINS. The nil *Policy allows no origin
// and adds no header anywhere.
type Policy struct {
	any     bool // `*`
	origins map[string]bool
	list    []string
}

// Parse reads STK_CORS_ORIGINS: empty (CORS off: nil), `*`, or a comma list
// of exact origins `http(s)://host[:port]`. An entry that a browser could
// never send as its Origin is refused, naming the entry, so a typo stops
// the Bridge at start instead of failing silently in the browser.
func Parse(s string) (*Policy, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := &Policy{origins: map[string]bool{}}
	for _, raw := range strings.Split(s, ",") {
		e := strings.TrimSpace(raw)
		if e == "*" {
			p.any = true
			continue
		}
		o, err := origin(e)
		if err != nil {
			return nil, fmt.Errorf("STK_CORS_ORIGINS entry %q: %w", redact(e), err)
		}
		if !p.origins[o] {
			p.origins[o] = true
			p.list = append(p.list, o)
		}
	}
	if p.any && len(p.list) > 0 {
		return nil, errors.New("STK_CORS_ORIGINS: `*` allows every origin; list origins or give `*` alone")
	}
	return p, nil
}

// origin checks one configured entry and returns it as a browser
// serializes an origin (lower-case scheme and host, no default port).
func origin(e string) (string, error) {
	if e == "" {
		return "", errors.New("empty entry (a stray comma?)")
	}
	u, err := url.Parse(e)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", errors.New("want http(s)://host[:port]")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("want an http:// or https:// origin")
	}
	if u.User != nil {
		return "", errors.New("an origin has no user info")
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(e[len(u.Scheme)+3:], "/?#") {
		return "", errors.New("an origin has no path, query or fragment (not even a trailing /)")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || strings.Contains(host, "*") {
		return "", errors.New("want one exact host (wildcards are not supported; use `*` alone to allow every origin)")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", errors.New("port must be 1-65535")
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			return "", fmt.Errorf("drop the default port :%d: browsers never send it in Origin", n)
		}
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

// redact hides the password of an entry that carries user info: the error
// goes to logs.
func redact(e string) string {
	if u, err := url.Parse(e); err == nil && u.User != nil {
		return u.Redacted()
	}
	return e
}

// Origins lists the configured origins (`*` alone when every origin is
// allowed; nothing when CORS is off), for the start-up log.
func (p *Policy) Origins() []string {
	switch {
	case p == nil:
		return nil
	case p.any:
		return []string{"*"}
	}
	return append([]string(nil), p.list...)
}

// allowOrigin is the Access-Control-Allow-Origin value for a request's
// Origin, or "" when that origin is not allowed.
func (p *Policy) allowOrigin(o string) string {
	switch {
	case p.any:
		return "*"
	case p.origins[strings.ToLower(o)]:
		return o
	}
	return ""
}

// Wrap serves next with CORS on the one route path (other paths pass
// through untouched: the Bridge's ops routes are not for browsers). fail
// writes a §3 envelope (the Bridge's edge.Fail). With a nil Policy next is
// returned as is, so that OPTIONS keeps its 405 and no response gains a
// header.
func (p *Policy) Wrap(path string, next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	if p == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if o == "" || r.URL.Path != path {
			next.ServeHTTP(w, r)
			return
		}
		allow := p.allowOrigin(o)
		// A preflight is an OPTIONS request naming the method to come; it
		// carries no credentials, so it is answered here, before any bundle
		// is loaded. Its answer depends on the Origin alone: the browser
		// checks the requested method and headers against the lists.
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allow == "" {
				fail(w, r, apierr.New(apierr.Forbidden, "origin %s is not allowed to call %s from a browser (STK_CORS_ORIGINS)", quote(o), path))
				return
			}
			h := w.Header()
			h["Access-Control-Allow-Origin"] = []string{allow}
			h["Access-Control-Allow-Methods"] = []string{AllowMethods}
			h["Access-Control-Allow-Headers"] = []string{AllowHeaders}
			h["Access-Control-Max-Age"] = []string{MaxAge}
			h["Vary"] = []string{"Origin"}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allow != "" {
			h := w.Header()
			h["Access-Control-Allow-Origin"] = []string{allow}
			h["Access-Control-Expose-Headers"] = []string{ExposeHeaders}
			h["Vary"] = []string{"Origin"}
		}
		next.ServeHTTP(w, r)
	})
}

// quote bounds and quotes an Origin header for an error message: it is
// the caller's own text, echoed so that they can see which value was
// refused, never longer than a real origin.
func quote(o string) string {
	if len(o) > 200 {
		o = o[:200] + "…"
	}
	return strconv.Quote(o)
}
