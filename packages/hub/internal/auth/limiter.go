package auth

import (
	"sync"
	"time"
)

// LoginLimiter counts failed logins per key (an email, a client address)
// in fixed windows: after Max failures in a window the key is refused until
// the window ends (SPEC §7.1: 10 a minute → 429). It is per process, like
// every rate limit of a Hub replica.
type LoginLimiter struct {
	Max    int
	Window time.Duration
	Now    func() time.Time

	mu   sync.Mutex
	hits map[string]*window
}

type window struct {
	count int
	ends  time.Time
}

// maxTracked bounds the map: expired windows are swept when it grows.
const maxTracked = 10000

// NewLoginLimiter returns a limiter of max failures per window.
func NewLoginLimiter(max int, per time.Duration, now func() time.Time) *LoginLimiter {
	return &LoginLimiter{Max: max, Window: per, Now: now, hits: map[string]*window{}}
}

// Blocked returns how long the first blocked key stays blocked, or 0.
func (l *LoginLimiter) Blocked(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	for _, k := range keys {
		if w := l.hits[k]; w != nil && now.Before(w.ends) && w.count >= l.Max {
			return w.ends.Sub(now)
		}
	}
	return 0
}

// Fail records a failed login for every key.
func (l *LoginLimiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if len(l.hits) > maxTracked {
		for k, w := range l.hits {
			if !now.Before(w.ends) {
				delete(l.hits, k)
			}
		}
	}
	for _, k := range keys {
		w := l.hits[k]
		if w == nil || !now.Before(w.ends) {
			w = &window{ends: now.Add(l.Window)}
			l.hits[k] = w
		}
		w.count++
	}
}
