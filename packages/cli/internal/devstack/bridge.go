package devstack

import (
	"context"
	"log/slog"

	bridgeserver "github.com/santokit/santokit/packages/bridge/server"
)

// embeddedBridge builds the Bridge library's server from STK_* values, the
// way stk-bridge does from its environment.
func embeddedBridge(ctx context.Context, getenv func(string) string, log *slog.Logger) (dataPlane, error) {
	cfg, err := bridgeserver.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return bridgeserver.New(ctx, cfg, log)
}
