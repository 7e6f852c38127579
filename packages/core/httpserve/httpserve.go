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
	"runtime/debug"
	"syscall"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
)

// Command is the main of a server program: `name version` prints the
// version; otherwise load reads the configuration from the environment
// (exit 2 when it is malformed), and run serves until SIGINT or SIGTERM
// (exit 1 when it fails). Logs are JSON lines on stderr at load's level.
func Command[C any](name string, load func(getenv func(string) string, version string) (C, slog.Level, error),
	run func(ctx context.Context, cfg C, log *slog.Logger) error) {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Println(name, Version())
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

// Version is the module version, or dev-<commit> for a source build.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
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
// fail as §3 errors (the Allow header kept on 405).
func EnvelopeMux(mux *http.ServeMux, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		d := &discardWriter{header: http.Header{}}
		h.ServeHTTP(d, r)
		switch d.status {
		case http.StatusMethodNotAllowed:
			allow := d.header.Get("Allow")
			fail(w, r, apierr.New(apierr.MethodNotAllowed, "method %s is not allowed on %s (allowed: %s)", r.Method, clip(r.URL.Path), allow).
				WithHeader("Allow", allow))
		case 0, http.StatusNotFound:
			fail(w, r, apierr.New(apierr.NotFound, "no route %s %s", r.Method, clip(r.URL.Path)))
		default:
			// Redirects (path cleaning) and anything else ServeMux decides.
			for k, v := range d.header {
				w.Header()[k] = v
			}
			w.WriteHeader(d.status)
		}
	})
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
