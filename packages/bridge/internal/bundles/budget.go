package bundles

import (
	"sync"
	"time"
)

// The names a caller may send are unbounded; what they may cost is not.
// A name the cache has not seen (an env in X-Santokit-Project/Env, an API
// key id) is looked up on the Hub within a budget shared by all callers,
// and a negative answer is remembered briefly in a bounded table, so that
// a flood of made-up names neither grows the Bridge's memory nor turns
// into as many Hub fetches (issue 11, decision 0012).

// expiring remembers answers until a deadline, up to max entries. When
// full it sweeps expired entries; when still full a new answer is not
// remembered (its next lookup goes to the Hub again, within the budget).
// Its user serializes access.
type expiring[K comparable, V any] struct {
	max int
	m   map[K]expiry[V]
}

type expiry[V any] struct {
	v     V
	until time.Time
}

func newExpiring[K comparable, V any](max int) *expiring[K, V] {
	return &expiring[K, V]{max: max, m: map[K]expiry[V]{}}
}

// get returns k's answer while it lives, dropping it once expired.
func (e *expiring[K, V]) get(k K, now time.Time) (V, bool) {
	x, ok := e.m[k]
	if ok && now.Before(x.until) {
		return x.v, true
	}
	if ok {
		delete(e.m, k)
	}
	var zero V
	return zero, false
}

// put remembers v for k until until, if there is room.
func (e *expiring[K, V]) put(k K, v V, until, now time.Time) {
	if _, ok := e.m[k]; !ok && len(e.m) >= e.max {
		for key, x := range e.m {
			if !now.Before(x.until) {
				delete(e.m, key)
			}
		}
		if len(e.m) >= e.max {
			return
		}
	}
	e.m[k] = expiry[V]{v, until}
}

func (e *expiring[K, V]) len() int { return len(e.m) }

// bucket is a token bucket: rate tokens a second, holding up to burst.
// (One bucket does not warrant golang.org/x/time/rate as a dependency.)
type bucket struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take spends a token if one is left; otherwise it reports how long until
// the next one.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
