package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/hub/internal/auth"
)

// RequestID returns the request id set by the middleware.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// edge wraps the router with what every response needs: the request id
// header, panic recovery into a §3 envelope, the acting principal, and one
// JSON access-log line per request. Query strings are not logged: later
// routes may carry tokens there.
func edge(log *slog.Logger, principal func(*http.Request) (auth.Principal, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
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
			level := slog.LevelInfo
			if sw.Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("requestId", id), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", sw.Status),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
				slog.String("actor", p.Name))
		}()
		if err != nil {
			log.Error("resolving the caller failed", "requestId", id, "error", err.Error())
			httperr.Write(sw, id, apierr.New(apierr.ServiceUnavailable, "the Hub store is unreachable"))
			return
		}
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}
