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
	"time"

	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/hub/internal/api"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/service"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Server is a configured Hub.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	handler http.Handler
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
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open the Hub store %s: %w", secrets.RedactURL(cfg.DatabaseURL), err)
	}
	if cfg.AuthDisabled {
		log.Warn("operator authentication is DISABLED (STK_DISABLE_AUTH=true): every request acts as an org owner; use this only for local development")
	}
	if len(cfg.BridgeTokens) == 0 {
		log.Warn("no bridge tokens configured (STK_BRIDGE_TOKENS): Bridges cannot fetch bundles from this Hub")
	}
	log.Info("config", "addr", cfg.Addr, "bridgeTokens", len(cfg.BridgeTokens), "database", secrets.RedactURL(cfg.DatabaseURL), "store", st.Engine(),
		"authDisabled", cfg.AuthDisabled, "activeKey", ring.Active(), "keyVersions", ring.Versions(),
		"tls", cfg.TLSCert != "", "logLevel", cfg.LogLevel.String(), "version", cfg.Version)
	svc := service.New(st, ring, auth.AllowAll{}, log)
	return &Server{cfg: cfg, log: log, store: st,
		handler: api.New(svc, log, api.Config{Version: cfg.Version, AuthDisabled: cfg.AuthDisabled, BridgeTokens: cfg.BridgeTokens})}, nil
}

// Handler is the Hub's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases the store.
func (s *Server) Close() error { return s.store.Close() }

// Serve answers on l until ctx ends, then shuts down gracefully, giving
// in-flight requests up to 10 seconds. Bundle long polls end at once
// (answered 304) instead of holding the shutdown.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return httpserve.Serve(ctx, l, s.handler, httpserve.Options{Log: s.log, TLSCert: s.cfg.TLSCert, TLSKey: s.cfg.TLSKey,
		Grace: 10 * time.Second, CancelOnShutdown: true})
}
