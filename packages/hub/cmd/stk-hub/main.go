// Command stk-hub is the Santokit control plane (SPEC §1): configured by the
// environment (SPEC §12), it serves the Hub API until SIGINT or SIGTERM.
package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/hub/server"
)

func main() {
	httpserve.Command("stk-hub", func(getenv func(string) string, version string) (server.Config, slog.Level, error) {
		cfg, err := server.ConfigFromEnv(getenv)
		cfg.Version = version
		return cfg, cfg.LogLevel, err
	}, run)
}

func run(ctx context.Context, cfg server.Config, log *slog.Logger) error {
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, l)
}
