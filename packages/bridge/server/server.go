// Package server is the Bridge as a library (SPEC §1, §4, §8): its
// configuration, bundle cache, database pools, metrics and HTTP handler
// (POST /call, /healthz, /readyz, /metrics) with their lifecycle.
// cmd/stk-bridge wraps it with signals; `stk dev` and tests embed it.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/bundles"
	"github.com/santokit/santokit/packages/bridge/internal/call"
	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/bridge/internal/edge"
	"github.com/santokit/santokit/packages/bridge/internal/enduser"
	"github.com/santokit/santokit/packages/bridge/internal/execute"
	"github.com/santokit/santokit/packages/bridge/internal/metrics"
	"github.com/santokit/santokit/packages/bridge/internal/ratelimit"
	"github.com/santokit/santokit/packages/bridge/internal/usage"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/cors"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/tracing"
)

// Server is a configured Bridge.
type Server struct {
	cfg       Config
	log       *slog.Logger
	cache     *bundles.Cache
	pools     *dbpool.Pools
	metrics   *metrics.Metrics
	handler   http.Handler
	tracer    *tracing.Tracer // nil: tracing off
	closeOnce sync.Once
	// stopUsage ends the usage reporter, which then sends a last report;
	// usageDone is closed when it has.
	stopUsage context.CancelFunc
	usageDone chan struct{}
}

// Auth modes reported by /readyz.
const (
	ModeEnforced     = "enforced"
	ModeAuthDisabled = "auth-disabled"
)

// New checks cfg and builds the Bridge. It does not contact the Hub: envs
// are loaded on first use. Close releases the pools and stops the polls.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.AuthDisabled {
		log.Warn("data-plane authentication is DISABLED (STK_DISABLE_AUTH=true): /call skips credential checks and authorization, " +
			"the X-Santokit-Project/X-Santokit-Env headers select the env and every op is allowed; use this only for local development")
	}
	tc := cfg.DBTargets
	tc.Protected = append(append([]string(nil), tc.Protected...), cfg.TLSCert, cfg.TLSKey)
	targets, err := dbtarget.New(tc)
	if err != nil {
		return nil, err
	}
	corsPolicy, _ := cors.Parse(strings.Join(cfg.CORSOrigins, ",")) // checked by Check
	var hubURLs []string
	for _, raw := range strings.Split(cfg.HubURL, ",") {
		u, _ := url.Parse(strings.TrimSpace(raw))
		hubURLs = append(hubURLs, u.Redacted())
	}
	conns := cfg.Limits.Effective()
	log.Info("config", "addr", cfg.Addr, "hubUrl", strings.Join(hubURLs, ","), "bridgeToken", cfg.BridgeToken != "",
		"bundleMaxStale", cfg.BundleMaxStale.String(), "dbMaxConns", cfg.DBMaxConns, "statementTimeout", cfg.StatementTimeout.String(),
		"maxBodyBytes", cfg.MaxBodyBytes, "maxLimit", cfg.MaxLimit, "maxBatch", cfg.MaxBatch, "maxAffected", cfg.MaxAffected,
		"rateLimit", rateLimitText(cfg), "otlpEndpoint", tracing.Redact(cfg.OTLPEndpoint), "authDisabled", cfg.AuthDisabled,
		"corsOrigins", corsPolicy.Origins(), "allowInsecureHub", cfg.AllowInsecureHub, "tls", cfg.TLSCert != "",
		"readTimeout", conns.ReadTimeout.String(), "maxConnections", conns.MaxConnections,
		"logLevel", cfg.LogLevel.String(), "version", cfg.Version,
		"sqliteDir", targets.SQLiteDir(), "allowLocalSockets", tc.AllowLocalSockets, "dbAllowedHosts", tc.AllowedHosts)

	tracer, err := tracing.New(ctx, cfg.OTLPEndpoint, "stk-bridge", cfg.Version)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, tracer: tracer}
	s.pools = dbpool.New(dbpool.Config{MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.StatementTimeout, Targets: targets, Log: log})
	client := cfg.HubClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64 // one long poll per env in use
		client = &http.Client{Transport: tr}
	}
	limits := plan.Limits{DefaultLimit: min(100, cfg.MaxLimit), MaxLimit: cfg.MaxLimit, MaxBatch: cfg.MaxBatch}
	var m *metrics.Metrics
	s.cache = bundles.New(bundles.Config{
		HubURL: cfg.HubURL, Token: cfg.BridgeToken, Client: client,
		MaxStale: cfg.BundleMaxStale, PollWait: cfg.PollWait, IdleTimeout: cfg.IdleTimeout,
		LookupRate: cfg.LookupRate, LookupBurst: cfg.LookupBurst,
		Limits: limits, OnEvict: s.pools.CloseEnv, Log: log, Tracer: tracer,
		OnUpdate:     func(e *bundles.Entry) { s.pools.Sync(e.Bundle.Project, e.Bundle.Env, e.Bundle.Connections) },
		OnLoad:       func(result string) { m.BundleLoad(result) },
		OnOverBudget: func() { m.OverBudget() },
	})
	m = metrics.New(s.cache.Ages, s.pools.Stats)
	s.metrics = m

	keys := usage.New(usage.Config{Send: s.cache.ReportUsage, Interval: cfg.UsageInterval, Log: log})
	usageCtx, stopUsage := context.WithCancel(context.Background())
	s.stopUsage, s.usageDone = stopUsage, make(chan struct{})
	go func() {
		defer close(s.usageDone)
		keys.Run(usageCtx)
	}()

	var budgets *ratelimit.Limiter
	if cfg.RateLimitOn {
		budgets = ratelimit.New(cfg.RateLimit, 0)
	}
	calls := call.New(call.Config{
		Cache: s.cache, Pools: s.pools,
		Exec:         &execute.Executor{StatementTimeout: cfg.StatementTimeout, MaxAffected: cfg.MaxAffected, Tracer: tracer},
		Users:        enduser.New(enduser.Config{Log: log}),
		MaxBodyBytes: cfg.MaxBodyBytes, AuthDisabled: cfg.AuthDisabled,
		Observe: m.ObserveCall, Log: log, KeyUsed: keys.Used, Limits: budgets,
	})
	mux := http.NewServeMux()
	s.register(calls, m.Handler(), mux.Handle)
	inner := corsPolicy.Wrap("/call", edge.Mux(mux), edge.Fail)
	if cfg.AuthDisabled && httpserve.LoopbackAddr(cfg.Addr) {
		// Without authentication anyone who reaches this Bridge runs every
		// op; on loopback that is this machine, and a rebound DNS name
		// must not make a web page one of them.
		inner = httpserve.LoopbackHostOnly(inner, edge.Fail)
	}
	s.handler = edge.Wrap(log, tracer, inner)
	return s, nil
}

// register declares every route of the Bridge (SPEC §4, §12, §15).
func (s *Server) register(calls, metrics http.Handler, handle func(string, http.Handler)) {
	handle("POST /call", calls)
	handle("GET /healthz", http.HandlerFunc(s.healthz))
	handle("GET /readyz", http.HandlerFunc(s.readyz))
	handle("GET /metrics", metrics)
	handle("GET /openapi.json", http.HandlerFunc(serveOpenAPI))
	handle("GET /v1/version", http.HandlerFunc(s.version))
}

// Routes lists the patterns ("METHOD /path") of every route the Bridge
// serves, so that tests can check a document covers each one.
func Routes() []string {
	var out []string
	(&Server{}).register(nil, nil, func(pattern string, _ http.Handler) { out = append(out, pattern) })
	return out
}

// rateLimitText is STK_RATE_LIMIT for the start-up log.
func rateLimitText(cfg Config) string {
	if !cfg.RateLimitOn {
		return "off"
	}
	return cfg.RateLimit.String()
}

// Handler is the Bridge's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Mode is the data-plane auth mode: ModeEnforced or ModeAuthDisabled.
func (s *Server) Mode() string {
	if s.cfg.AuthDisabled {
		return ModeAuthDisabled
	}
	return ModeEnforced
}

// Close sends the last API key usage report (bounded), stops the long
// polls and closes the database pools, waiting for in-flight uses of them,
// then exports the spans still queued (for at most 5 seconds). It is safe
// to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// The last usage report goes out while the Hub client still works.
		s.stopUsage()
		<-s.usageDone
		s.cache.Close()
		s.pools.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.tracer.Shutdown(ctx); err != nil {
			s.log.Warn("exporting the last spans failed", "otlpEndpoint", tracing.Redact(s.cfg.OTLPEndpoint), "error", err.Error())
		}
	})
	return nil
}

// Serve answers on l until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (bounded by twice the statement
// timeout plus a margin) and closes the pools.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	err := httpserve.Serve(ctx, l, s.handler, httpserve.Options{Log: s.log, TLSCert: s.cfg.TLSCert, TLSKey: s.cfg.TLSKey,
		Grace: 2*s.cfg.StatementTimeout + 5*time.Second, Limits: s.cfg.Limits})
	_ = s.Close()
	if err == nil {
		s.log.Info("stopped")
	}
	return err
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
	// Mode is the data-plane auth mode ("enforced" or "auth-disabled").
	Mode string `json:"mode"`
	// Hub is "reachable" or "unreachable" (/readyz only).
	Hub string `json:"hub,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "ok", Mode: s.Mode()})
}

// readyz: ready when the Hub answers, or while every cached bundle is
// still fresh (the Bridge can serve through a Hub outage).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h := Health{Status: "ok", Mode: s.Mode(), Hub: "reachable"}
	if err := s.cache.PingHub(ctx); err != nil {
		h.Hub = "unreachable"
		if !s.cache.Fresh() {
			edge.Fail(w, r, apierr.Wrap(apierr.ServiceUnavailable, err, "the Hub is unreachable and no fresh configuration is cached").
				WithDetail("mode", s.Mode()))
			return
		}
	}
	writeJSON(w, http.StatusOK, h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
