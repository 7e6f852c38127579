package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/core/tracing"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"go.opentelemetry.io/otel/attribute"
)

// routeOf is the ServeMux pattern serving r ("GET /v1/projects/{p}"),
// or "unmatched": a client's path is no span name.
func routeOf(mux *http.ServeMux, r *http.Request) string {
	if _, p := mux.Handler(r); strings.Contains(p, " /") {
		return p
	}
	return "unmatched"
}

// RequestID returns the request id set by the middleware.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// edge wraps the router with what every response needs: the request id
// header, panic recovery into a §3 envelope, the acting principal, the
// server span (SPEC §12: named by route, with project and env, never a
// token), and one JSON access-log line per request, with the trace id.
// Query strings are not logged: later routes may carry tokens there.
func edge(log *slog.Logger, tracer *tracing.Tracer, route func(*http.Request) string,
	principal func(*http.Request) (auth.Principal, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, span := tracer.StartServer(r, route)
		id := requestid.Accept(r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Request-Id", id)
		sw := &httpserve.StatusWriter{ResponseWriter: w}
		r = r.WithContext(requestid.With(r.Context(), id))
		p, err := principal(r)
		ctx := auth.WithPrincipal(r.Context(), p)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "requestId", id, "panic", v)
				if sw.Status == 0 {
					httperr.Write(sw, id, apierr.New(apierr.Internal, "internal error"))
				}
			}
			if span.IsRecording() {
				rt := route(r)
				attrs := []attribute.KeyValue{attribute.String("http.request.method", r.Method),
					attribute.String("http.route", rt), attribute.String("santokit.request_id", id)}
				if project := tracing.PathValue(rt, r.URL.Path, "p"); project != "" {
					attrs = append(attrs, attribute.String("santokit.project", project))
				}
				if env := tracing.PathValue(rt, r.URL.Path, "e"); env != "" {
					attrs = append(attrs, attribute.String("santokit.env", env))
				}
				tracing.EndServer(span, sw.Status, attrs...)
			}
			level := slog.LevelInfo
			if sw.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.String("requestId", id), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", sw.Status),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
				slog.String("actor", p.Name)}
			if tid := tracing.TraceID(r.Context()); tid != "" {
				attrs = append(attrs, slog.String("traceId", tid))
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		if err != nil {
			log.Error("resolving the caller failed", "requestId", id, "error", err.Error())
			httperr.Write(sw, id, apierr.New(apierr.ServiceUnavailable, "the Hub store is unreachable"))
			return
		}
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}
