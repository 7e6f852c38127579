// Package usage collects when this Bridge last saw each API key used and
// reports it to the Hub in batches (SPEC §7.2 lastUsedAt, §15 POST
// /internal/v1/apikeys/usage). The request path only records a time in a
// bounded map; a background loop sends what was recorded once per interval
// (a minute), so the Hub hears about a key at most once a minute from each
// Bridge and never on the request path. A report that fails is kept and
// merged into the next one; the Hub moves lastUsedAt forward only, so late
// or repeated reports are harmless.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// Defaults of Config.
const (
	DefaultInterval = time.Minute
	// DefaultMaxKeys bounds the keys remembered between reports. Only keys
	// that authenticated are recorded, so this is reached only by a Bridge
	// serving more live keys than this in one interval; the keys beyond it
	// wait for the next interval.
	DefaultMaxKeys = 100_000
	// finalTimeout bounds the report sent at shutdown.
	finalTimeout = 3 * time.Second
	// sendTimeout bounds one report.
	sendTimeout = 10 * time.Second
)

// Config configures a Reporter.
type Config struct {
	// Send delivers one batch (at most hubapi.MaxAPIKeyUsageBatch keys).
	Send func(ctx context.Context, batch []hubapi.APIKeyUse) error
	// Interval between reports (DefaultInterval when zero).
	Interval time.Duration
	// MaxKeys bounds the keys held between reports (DefaultMaxKeys when zero).
	MaxKeys int
	Log     *slog.Logger
}

// Reporter records key uses and reports them. Used is safe for concurrent
// use; Run is called once.
type Reporter struct {
	cfg Config

	mu      sync.Mutex
	pending map[string]time.Time
	dropped int // uses not recorded because pending was full
}

// New returns a Reporter; Run starts its reports.
func New(cfg Config) *Reporter {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Reporter{cfg: cfg, pending: map[string]time.Time{}}
}

// Used records that keyID authenticated a call at at. It is the request
// path's only cost: one map write under a mutex, no I/O.
func (r *Reporter) Used(keyID string, at time.Time) {
	r.mu.Lock()
	r.put(keyID, at)
	r.mu.Unlock()
}

// put keeps the latest time per key within the bound; r.mu is held.
func (r *Reporter) put(keyID string, at time.Time) {
	prev, ok := r.pending[keyID]
	switch {
	case ok && !at.After(prev):
	case ok || len(r.pending) < r.cfg.MaxKeys:
		r.pending[keyID] = at
	default:
		r.dropped++
	}
}

// Run reports once per interval until ctx ends, then sends what is left
// (bounded by a short timeout) and returns.
func (r *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), finalTimeout)
			r.Flush(final)
			cancel()
			return
		}
	}
}

// Flush sends everything recorded so far, in batches of at most
// hubapi.MaxAPIKeyUsageBatch keys. What could not be sent is kept for the
// next flush. It reports whether everything was sent.
func (r *Reporter) Flush(ctx context.Context) bool {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return true
	}
	taken, dropped := r.pending, r.dropped
	r.pending, r.dropped = make(map[string]time.Time, len(taken)), 0
	r.mu.Unlock()
	if dropped > 0 {
		r.cfg.Log.Warn("API key usage: more keys used in one interval than remembered; some lastUsedAt updates wait for the next report",
			"maxKeys", r.cfg.MaxKeys, "dropped", dropped)
	}

	batch := make([]hubapi.APIKeyUse, 0, min(len(taken), hubapi.MaxAPIKeyUsageBatch))
	var failed []hubapi.APIKeyUse
	send := func() {
		if len(batch) == 0 {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err := r.cfg.Send(sctx, batch)
		cancel()
		if err != nil {
			failed = append(failed, batch...)
		}
		batch = batch[:0]
	}
	for id, at := range taken {
		batch = append(batch, hubapi.APIKeyUse{KeyID: id, LastUsedAt: at})
		if len(batch) == hubapi.MaxAPIKeyUsageBatch {
			send()
		}
	}
	send()
	if len(failed) == 0 {
		return true
	}
	r.cfg.Log.Warn("API key usage: the Hub did not take the report; it is kept for the next one", "keys", len(failed))
	r.mu.Lock()
	for _, u := range failed {
		r.put(u.KeyID, u.LastUsedAt)
	}
	r.mu.Unlock()
	return false
}
