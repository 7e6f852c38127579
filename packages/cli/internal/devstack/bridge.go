package devstack

import (
	"context"
	"log/slog"

	bridgeserver "github.com/santokit/santokit/packages/bridge/server"
)

// embeddedBridge builds the Bridge library's server from STK_* values, the
// way stk-bridge does from its environment; protected are the stack's own
// files, which its connections may never open (the Hub refuses them too).
func embeddedBridge(protected []string) bridgeFactory {
	return func(ctx context.Context, getenv func(string) string, log *slog.Logger) (dataPlane, error) {
		cfg, err := bridgeserver.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		cfg.DBTargets.Protected = append(cfg.DBTargets.Protected, protected...)
		return bridgeserver.New(ctx, cfg, log)
	}
}
