// Package server is the Hub as a library: configuration, store, key ring
// and HTTP handler with their lifecycle. cmd/stk-hub wraps it with signals;
// `stk dev` and tests embed it directly.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/core/tracing"
	"github.com/santokit/santokit/packages/hub/internal/api"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/metrics"
	"github.com/santokit/santokit/packages/hub/internal/oauth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/service"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Server is a configured Hub.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	svc     *service.Service
	handler http.Handler
	// stopWatch ends the store watch (WatchStore); watched is closed
	// when it has returned.
	stopWatch context.CancelFunc
	watched   chan struct{}
	tracer    *tracing.Tracer // nil: tracing off
}

// New checks cfg, opens the store (running migrations) and builds the
// handler. Close releases the store.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ring, err := secrets.Parse(cfg.MasterKeys)
	if err != nil {
		return nil, err
	}
	targets, err := dbTargets(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open the Hub store %s: %w", secrets.RedactURL(cfg.DatabaseURL), err)
	}
	// Refuse a key ring that cannot open every stored secret (SPEC §10).
	if err := service.CheckKeyRing(ctx, st, ring); err != nil {
		_ = st.Close()
		return nil, err
	}
	public, err := cfg.PublicBase()
	if err != nil {
		return nil, err
	}
	if cfg.AuthDisabled {
		log.Warn("operator authentication is DISABLED (STK_DISABLE_AUTH=true): every request acts as an org owner; use this only for local development")
	}
	if len(cfg.BridgeTokens) == 0 {
		log.Warn("no bridge tokens configured (STK_BRIDGE_TOKENS): Bridges cannot fetch bundles from this Hub")
	}
	limits := cfg.Limits.Effective()
	log.Info("config", "addr", cfg.Addr, "bridgeTokens", len(cfg.BridgeTokens), "database", secrets.RedactURL(cfg.DatabaseURL), "store", st.Engine(),
		"authDisabled", cfg.AuthDisabled, "activeKey", ring.Active(), "keyVersions", ring.Versions(),
		"tls", cfg.TLSCert != "", "readTimeout", limits.ReadTimeout.String(), "maxConnections", limits.MaxConnections,
		"logLevel", cfg.LogLevel.String(), "version", cfg.Version,
		"sqliteDir", targets.SQLiteDir(), "allowLocalSockets", cfg.DBTargets.AllowLocalSockets, "dbAllowedHosts", cfg.DBTargets.AllowedHosts)
	var authz auth.Authorizer = auth.RBAC{Store: st}
	if cfg.AuthDisabled {
		authz = auth.AllowAll{}
	}
	svc := service.New(st, ring, authz, targets, log)
	svc.EnableOAuth(oauthSettings(ctx, cfg, public, log))
	apiCfg := api.Config{Version: cfg.Version, AuthDisabled: cfg.AuthDisabled, BridgeTokens: cfg.BridgeTokens,
		Metrics: metrics.New(st.PoolStats)}
	if !cfg.AuthDisabled {
		created, err := svc.Bootstrap(ctx, cfg.BootstrapEmail, cfg.BootstrapPassword)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		if created {
			log.Info("bootstrap: created the first org owner", "email", cfg.BootstrapEmail)
		} else if cfg.BootstrapEmail != "" || cfg.BootstrapPassword != "" {
			log.Info("bootstrap variables ignored: operator users already exist")
		}
		apiCfg.Authenticator = &auth.Authenticator{Store: st, Keys: svc.Keys(), Now: time.Now}
	}
	// Last: a started exporter has nothing to stop on the error paths above.
	tracer, err := tracing.New(ctx, cfg.OTLPEndpoint, "stk-hub", cfg.Version)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	log.Info("tracing", "otlpEndpoint", tracing.Redact(cfg.OTLPEndpoint), "enabled", tracer.Enabled())
	apiCfg.Tracer = tracer
	watchCtx, stopWatch := context.WithCancel(context.Background())
	handler := api.New(svc, log, apiCfg)
	if cfg.AuthDisabled && httpserve.LoopbackAddr(cfg.Addr) {
		// Anyone who reaches this Hub acts as an org owner; on loopback
		// that is this machine, and a rebound DNS name must not make a
		// web page one of them.
		handler = httpserve.LoopbackHostOnly(handler, failRebound)
	}
	s := &Server{cfg: cfg, log: log, store: st, svc: svc, tracer: tracer, handler: handler,
		stopWatch: stopWatch, watched: make(chan struct{})}
	go func() {
		defer close(s.watched)
		svc.WatchStore(watchCtx)
	}()
	return s, nil
}

// failRebound answers a request refused by LoopbackHostOnly: outside the
// API's edge, so it gives the request id itself.
func failRebound(w http.ResponseWriter, r *http.Request, err error) {
	id := requestid.Accept(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	httperr.Write(w, id, err)
}

// oauthSettings builds the provider clients of cfg. OIDC discovery is
// tried now with a short timeout; an unreachable issuer is a warning, not
// a failed start: the first login tries again (and answers 503 while it
// stays unreachable). The log line names providers and issuers only.
func oauthSettings(ctx context.Context, cfg Config, public string, log *slog.Logger) service.OAuthSettings {
	out := service.OAuthSettings{PublicURL: public, DeviceInterval: cfg.DeviceInterval, DeviceTTL: cfg.DeviceTTL}
	if len(cfg.OAuth) == 0 {
		return out
	}
	client := &http.Client{Timeout: 15 * time.Second}
	var names []string // "name (type issuer)": never a whole Config
	for _, c := range cfg.OAuth {
		names = append(names, strings.TrimSpace(c.Name+" ("+c.Type+" "+c.Issuer)+")")
		p := oauth.New(c, public+"/v1/auth/oauth/"+c.Name+"/callback", client)
		if err := p.Discover(ctx); err != nil {
			log.Warn("oauth provider unreachable at start: logins through it retry discovery", "provider", c.Name, "error", err.Error())
		}
		out.Providers = append(out.Providers, p)
	}
	log.Info("oauth providers", "providers", names, "publicURL", public, "callback", public+"/v1/auth/oauth/<name>/callback")
	return out
}

// dbTargets is the connection policy of cfg: its variables, with the files
// the Hub opens itself (its SQLite store, TLS certificate and key) never
// allowed as SQLite connections, whatever STK_SQLITE_DIR says.
func dbTargets(cfg Config) (*dbtarget.Policy, error) {
	c := cfg.DBTargets
	c.Protected = append(append([]string(nil), c.Protected...), cfg.TLSCert, cfg.TLSKey)
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://"); ok {
		c.Protected = append(c.Protected, path)
	}
	return dbtarget.New(c)
}

// RotateSigningKey makes a new key sign access tokens at once; the previous
// key keeps verifying until the tokens it signed expire (SPEC §7.1).
func (s *Server) RotateSigningKey(ctx context.Context) (string, error) {
	return s.svc.Keys().Rotate(ctx)
}

// Handler is the Hub's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the store watch, exports the spans still queued (for at
// most 5 seconds) and releases the store.
func (s *Server) Close() error {
	s.stopWatch()
	<-s.watched
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.tracer.Shutdown(ctx); err != nil {
		s.log.Warn("exporting the last spans failed", "otlpEndpoint", tracing.Redact(s.cfg.OTLPEndpoint), "error", err.Error())
	}
	return s.store.Close()
}

// Serve answers on l until ctx ends, then shuts down gracefully, giving
// in-flight requests up to 10 seconds. Bundle long polls end at once
// (answered 304) instead of holding the shutdown.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return httpserve.Serve(ctx, l, s.handler, httpserve.Options{Log: s.log, TLSCert: s.cfg.TLSCert, TLSKey: s.cfg.TLSKey,
		Grace: 10 * time.Second, CancelOnShutdown: true, Limits: s.cfg.Limits})
}

// Routes lists every route the Hub serves as "METHOD /path" patterns, for
// tests that must cover them all.
func Routes() []string { return api.Routes() }

// OpenAPIDocument is the Hub API's OpenAPI 3.1 document, as GET
// /openapi.json serves it (SPEC §15), for tests outside the Hub.
func OpenAPIDocument() []byte { return api.OpenAPIDocument }
