// Package edge is what every Bridge response goes through (SPEC §3, §12):
// the X-Request-Id header (an incoming printable id of at most 128
// characters is reused), panic recovery into a §3 envelope, §3 envelopes
// for unknown routes (404) and wrong methods (405 with Allow), and one JSON
// access-log line per request with the fields handlers record in the
// request's Fields (project, env, /call path, keyId — never a key), which
// they reach through the ResponseWriter (From). It also holds each
// request's server span (package tracing), whose attributes come from the
// same Fields, and puts the trace id in the access log.
package edge

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/core/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Fields are the access-log fields a handler learns while serving.
type Fields struct {
	RequestID string
	Project   string
	Env       string
	// CallPath is the /call body's path.
	CallPath string
	KeyID    string
	// Subject and Issuer (the auth config's issuer name) identify a
	// verified end user (SPEC §7.3, §12); they replace keyId in the log.
	Subject string
	Issuer  string
	// Error is the internal cause of a 5xx, for the log only.
	Error string
}

// writer is the ResponseWriter Wrap hands to the handlers: it records the
// status for the access log and carries the request's Fields. Carrying
// them on the writer rather than in the request's context spares every
// request a context value and a copy of the *http.Request
// (Request.WithContext), and it is one allocation for both.
type writer struct {
	httpserve.StatusWriter
	fields Fields
}

// From returns the Fields of the request being answered through w (a
// throwaway value when w does not come from Wrap).
func From(w http.ResponseWriter) *Fields {
	for {
		switch ww := w.(type) {
		case *writer:
			return &ww.fields
		case interface{ Unwrap() http.ResponseWriter }:
			w = ww.Unwrap()
		default:
			return &Fields{}
		}
	}
}

// RequestID returns the id of the request being answered through w.
func RequestID(w http.ResponseWriter) string { return From(w).RequestID }

// AcceptRequestID returns incoming when it is a usable X-Request-Id, else a
// new id (the Hub's rule: package requestid).
func AcceptRequestID(incoming string) string { return requestid.Accept(incoming) }

// Wrap serves next with request ids, recovery, the server span (tracer nil:
// tracing off) and the access log. Query strings are not logged.
func Wrap(log *slog.Logger, tracer *tracing.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, span := tracer.StartServer(r, spanName)
		rw := &writer{StatusWriter: httpserve.StatusWriter{ResponseWriter: w}}
		f, sw := &rw.fields, &rw.StatusWriter
		f.RequestID = AcceptRequestID(r.Header.Get("X-Request-Id"))
		// Assigned, not Set: the key is canonical already.
		w.Header()["X-Request-Id"] = []string{f.RequestID}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "requestId", f.RequestID, "panic", v)
				if sw.Status == 0 {
					httperr.Write(sw, f.RequestID, apierr.New(apierr.Internal, "internal error"))
				}
			}
			if span.IsRecording() {
				endSpan(span, r, f, sw.Status)
			}
			level := slog.LevelInfo
			if sw.Status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			// Sized for every field at once: one allocation, not a growth.
			attrs := make([]slog.Attr, 0, 12)
			attrs = append(attrs,
				slog.String("requestId", f.RequestID), slog.String("method", r.Method),
				slog.String("route", r.URL.Path), slog.Int("status", sw.Status),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000))
			if f.CallPath != "" || r.URL.Path == "/call" {
				attrs = append(attrs, slog.String("project", f.Project), slog.String("env", f.Env),
					slog.String("path", f.CallPath))
				if f.Subject != "" {
					attrs = append(attrs, slog.String("sub", f.Subject), slog.String("issuer", f.Issuer))
				} else {
					attrs = append(attrs, slog.String("keyId", f.KeyID))
				}
			}
			if f.Error != "" {
				attrs = append(attrs, slog.String("error", f.Error))
			}
			if id := tracing.TraceID(r.Context()); id != "" {
				attrs = append(attrs, slog.String("traceId", id))
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rw, r)
	})
}

// route is r's route for span names: one of the Bridge's few paths, or
// "unmatched" (a client's path is no span name: unbounded, and its own).
func route(r *http.Request) string {
	switch p := r.URL.Path; p {
	case "/call", "/healthz", "/readyz", "/metrics":
		return p
	}
	return "unmatched"
}

func spanName(r *http.Request) string { return r.Method + " " + route(r) }

// endSpan names the request's server span after what it served and ends
// it: for /call, the op, connection and table or logic, project and env
// (SPEC §12) — names from the request's path and the key's binding, never
// a value, key or token. The request id joins the span to the log line.
func endSpan(span trace.Span, r *http.Request, f *Fields, status int) {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, attribute.String("http.request.method", r.Method), attribute.String("http.route", route(r)),
		attribute.String("santokit.request_id", f.RequestID))
	if f.Project != "" {
		attrs = append(attrs, attribute.String("santokit.project", f.Project), attribute.String("santokit.env", f.Env))
	}
	if logic, ok := strings.CutPrefix(f.CallPath, "logics/"); ok {
		attrs = append(attrs, attribute.String("santokit.op", "logic"), attribute.String("santokit.logic", logic))
	} else if parts := strings.Split(f.CallPath, "/"); len(parts) == 4 && parts[0] == "db" {
		attrs = append(attrs, attribute.String("santokit.op", parts[3]), attribute.String("santokit.connection", parts[1]),
			attribute.String("santokit.table", parts[2]))
	}
	tracing.EndServer(span, status, attrs...)
}

// Fail answers err as a §3 envelope. The internal cause of a 5xx goes to
// the access log, never to the client.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.As(err)
	if e.Status() >= 500 {
		if c := e.Unwrap(); c != nil {
			From(w).Error = c.Error()
		}
	}
	httperr.Write(w, RequestID(w), e)
}

// Mux serves mux, turning its plain-text 404 and 405 answers into §3
// envelopes (with the Allow header kept).
func Mux(mux *http.ServeMux) http.Handler { return httpserve.EnvelopeMux(mux, Fail) }
