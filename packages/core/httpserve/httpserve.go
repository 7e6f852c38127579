// Package httpserve holds what the Hub's and the Bridge's HTTP servers share:
// the process entry point (version, configuration, JSON logs, signals), the
// serve loop with graceful shutdown and connection bounds (STK_READ_TIMEOUT,
// STK_MAX_CONNECTIONS: a stalled client neither holds a connection for
// long nor, by holding many, starves the others), and the wrapper that turns ServeMux's
// own plain-text 404 and 405 answers into §3 envelopes (SPEC §3: every
// route, unknown ones included, answers errors as envelopes).
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/buildinfo"
)

// Command is the main of a server program: `name version` prints the
// version; otherwise load reads the configuration from the environment
// (exit 2 when it is malformed), and run serves until SIGINT or SIGTERM
// (exit 1 when it fails). Logs are JSON lines on stderr at load's level.
func Command[C any](name string, load func(getenv func(string) string, version string) (C, slog.Level, error),
	run func(ctx context.Context, cfg C, log *slog.Logger) error) {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Println(name, buildinfo.Read())
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		if err := Healthcheck(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s healthcheck: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	cfg, level, err := load(os.Getenv, Version())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error(name+" stopped", "error", err.Error())
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Version is the release version stamped by tools/release, the module
// version, or dev-<commit> for a source build (package buildinfo).
func Version() string {
	return buildinfo.Read().Version
}

// Healthcheck is `stk-hub healthcheck URL` / `stk-bridge healthcheck URL`:
// it GETs URL (the server's /healthz) and fails unless the answer is 200
// within five seconds. Container images have no shell or curl (decision
// 0036), so their health check runs the server's own binary.
func Healthcheck(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: healthcheck URL (for example http://127.0.0.1:4000/healthz)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", args[0], err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}

// Options shape Serve.
type Options struct {
	Log             *slog.Logger
	TLSCert, TLSKey string
	// Grace bounds the graceful shutdown.
	Grace time.Duration
	// IdleTimeout bounds an idle keep-alive connection
	// (DefaultIdleTimeout when zero).
	IdleTimeout time.Duration
	// Limits bound reading requests and open connections; at the cap the
	// connection waiting longest for its client makes room (decision 0012).
	Limits
	// CancelOnShutdown cancels every request's context when shutdown
	// starts: for servers whose requests may wait for minutes (the Hub's
	// bundle long polls), which would otherwise hold shutdown until Grace.
	CancelOnShutdown bool
}

// withDefaults fills the zero bounds.
func (o Options) withDefaults() Options {
	o.Limits = o.Limits.Effective()
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return o
}

// Serve answers h on l until ctx ends, then shuts down gracefully: stop
// accepting, let in-flight requests finish (bounded by Grace). A request
// must arrive within o.ReadTimeout, an idle keep-alive connection lasts
// o.IdleTimeout, and at most o.MaxConnections connections are open at once.
func Serve(ctx context.Context, l net.Listener, h http.Handler, o Options) error {
	o = o.withDefaults()
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	l = limitConns(l, o.MaxConnections, o.Log)
	// ReadTimeout bounds headers and body together, from the request's
	// start. It does not cut long polls: net/http lifts the deadline once
	// the body has been read (for a request without one, before the
	// handler starts).
	srv := &http.Server{Handler: tracked(h), ReadTimeout: o.ReadTimeout, IdleTimeout: o.IdleTimeout,
		ErrorLog:    slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base },
		ConnContext: withConn, ConnState: connState}
	// "OPTIONS *" goes to h too, which answers it as a §3 envelope:
	// net/http's own answer has neither a body nor an X-Request-Id.
	srv.DisableGeneralOptionsHandler = true
	errc := make(chan error, 1)
	go func() {
		o.Log.Info("listening", "addr", l.Addr().String(), "tls", o.TLSCert != "")
		if o.TLSCert != "" {
			errc <- srv.ServeTLS(l, o.TLSCert, o.TLSKey)
		} else {
			errc <- srv.Serve(l)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	o.Log.Info("shutting down")
	if o.CancelOnShutdown {
		cancelBase()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// discardWriter captures what ServeMux's own 404/405 handlers write.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

// EnvelopeMux serves mux, handing ServeMux's own 404 and 405 answers to
// fail as §3 errors (the Allow header kept on 405). It answers no redirect
// and serves no route by another path than its own: a request path that is
// not canonical (CanonicalPath) is 400 before any route sees it. ServeMux
// would otherwise answer //call or /x/../call with a 307 to the cleaned
// path (no envelope) and route /%63all as /call, so that a proxy filtering
// paths would see another path than the one served (SPEC §3; issue #11).
func EnvelopeMux(mux *http.ServeMux, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := CanonicalPath(r); err != nil {
			fail(w, r, err)
			return
		}
		h, pattern := mux.Handler(r)
		redirect := slashRedirect(r.URL.Path, pattern)
		if pattern != "" && !redirect {
			mux.ServeHTTP(w, r) // which sets the request's path values
			return
		}
		d := &discardWriter{header: http.Header{}}
		if !redirect {
			h.ServeHTTP(d, r) // ServeMux's own answer: learn its status
		}
		if d.status == http.StatusMethodNotAllowed {
			allow := d.header.Get("Allow")
			fail(w, r, apierr.New(apierr.MethodNotAllowed, "method %s is not allowed on %s (allowed: %s)", clip(r.Method), clip(r.URL.Path), allow).
				WithHeader("Allow", allow))
			return
		}
		fail(w, r, apierr.New(apierr.NotFound, "no route %s %s", clip(r.Method), clip(r.URL.Path)))
	})
}

// slashRedirect reports whether ServeMux answers path, matched to pattern,
// with its redirect from /tree to /tree/ (given a canonical path, the only
// redirect left): the pattern's path ends in '/', and path is it without
// that slash (the same segments, wildcards included), not a path below it.
func slashRedirect(path, pattern string) bool {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		pattern = pattern[i:]
	}
	return pattern != "" && strings.HasSuffix(pattern, "/") && !strings.HasSuffix(path, "/") &&
		strings.Count(path, "/")+1 == strings.Count(pattern, "/")
}

// CanonicalPath returns a §3 400 when r's path is not in the one form a
// route is served by: an absolute path ("*" and CONNECT's host:port are
// not), without empty, "." or ".." segments, and without a percent-escape
// of a byte that needs none (an unreserved character, which ServeMux
// would match unescaped) or of '/' (which would split a segment for a
// proxy that decodes it). The message shows the form to send when there
// is one.
func CanonicalPath(r *http.Request) *apierr.Error {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return apierr.New(apierr.BadRequest, "the request target %q is not a path: send an absolute path such as /healthz", clip(r.RequestURI))
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		hi, lo := -1, -1
		if i+2 < len(p) {
			hi, lo = unhex(p[i+1]), unhex(p[i+2])
		}
		if c := byte(hi<<4 | lo); hi < 0 || lo < 0 || c == '/' || unreserved(c) {
			return apierr.New(apierr.BadRequest, "the request path %q escapes %q, which paths are not served with: write unreserved characters as they are, and never escape /", clip(p), p[i:min(i+3, len(p))])
		}
	}
	if c := cleanPath(p); c != p {
		return apierr.New(apierr.BadRequest, "the request path %q is not canonical (no empty, . or .. segments): send %q", clip(p), clip(c))
	}
	return nil
}

// cleanPath is ServeMux's canonical form of p: path.Clean, keeping a
// trailing slash.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func clip(p string) string {
	if len(p) > 200 {
		return p[:200] + "…"
	}
	return p
}

// StatusWriter records the status written through it, for access logs.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first status.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
