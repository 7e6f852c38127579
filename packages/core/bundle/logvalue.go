//go:build !wasip1

package bundle

// The slog forms are left out of the wasip1 build: the Workers planner
// logs nothing, and log/slog cost its wasm module about 20 KB gzipped
// (decision 0030). String (bundle.go) keeps secrets out of fmt output there.

import "log/slog"

// LogValue keeps secrets out of structured logs.
func (b *Bundle) LogValue() slog.Value {
	return slog.GroupValue(slog.String("project", b.Project), slog.String("env", b.Env),
		slog.Int64("revision", b.Revision))
}

// LogValue keeps the URL out of structured logs.
func (c Connection) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("engine", c.Engine))
}
