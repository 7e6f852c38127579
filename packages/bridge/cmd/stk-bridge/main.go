// Command stk-bridge is the Santokit data plane (SPEC §1, §4): configured by
// the environment (SPEC §4.6, §12), it serves POST /call until SIGINT or
// SIGTERM, then stops accepting, finishes in-flight requests and closes its
// database pools.
package main

import (
	"context"
	"log/slog"

	"github.com/santokit/santokit/packages/bridge/server"
	"github.com/santokit/santokit/packages/core/httpserve"
)

func main() {
	httpserve.Command("stk-bridge", func(getenv func(string) string, version string) (server.Config, slog.Level, error) {
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
	l, err := httpserve.Listen(cfg.Addr, "STK_BRIDGE_ADDR")
	if err != nil {
		return err
	}
	return srv.Serve(ctx, l)
}
