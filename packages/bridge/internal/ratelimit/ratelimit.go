// Package ratelimit holds the Bridge's per-caller request budgets
// (STK_RATE_LIMIT, SPEC §4.6; decision 0032): one token bucket per
// verified API key and per verified end user, kept in a table of bounded
// size. A bucket that has refilled to its burst is the same as a new one,
// so it is dropped when it has been idle long enough to refill; when the
// table is full the least recently used bucket makes room, so a flood of
// distinct callers costs a bounded amount of memory. The budgets are per
// Bridge process: N replicas behind a load balancer allow up to N times
// the rate.
package ratelimit

import (
	"container/list"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rule is a parsed STK_RATE_LIMIT: Rate requests per second on average,
// at most Burst at once.
type Rule struct {
	Rate  rate.Limit
	Burst int
}

// String is the rule in STK_RATE_LIMIT's form (per second).
func (r Rule) String() string {
	return strconv.FormatFloat(float64(r.Rate), 'g', -1, 64) + "/s,burst=" + strconv.Itoa(r.Burst)
}

// Parse reads STK_RATE_LIMIT: "<n>/<unit>[,burst=<b>]" with unit s, m or h
// (per second, minute, hour), e.g. "100/s,burst=200" or "600/m". Without
// burst, the burst is n: a caller may spend a whole unit's budget at once.
// "" and "off" mean no limit (ok is false).
func Parse(s string) (r Rule, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") {
		return Rule{}, false, nil
	}
	bad := func(why string) (Rule, bool, error) {
		return Rule{}, false, fmt.Errorf("%q: %s (want <requests>/<s|m|h>[,burst=<n>], e.g. 100/s,burst=200, or off)", s, why)
	}
	spec, burstPart, hasBurst := strings.Cut(s, ",")
	num, unit, found := strings.Cut(strings.TrimSpace(spec), "/")
	if !found {
		return bad("missing /<unit>")
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return bad("the request count must be a positive number")
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return bad("the unit must be s, m or h")
	}
	burst := max(1, int(math.Ceil(n)))
	if hasBurst {
		k, v, _ := strings.Cut(strings.TrimSpace(burstPart), "=")
		b, err := strconv.Atoi(strings.TrimSpace(v))
		if strings.TrimSpace(k) != "burst" || err != nil || b <= 0 {
			return bad("after the comma, write burst=<positive whole number>")
		}
		burst = b
	}
	return Rule{Rate: rate.Limit(n / per.Seconds()), Burst: burst}, true, nil
}

// DefaultMaxBuckets bounds the table: at a few hundred bytes a bucket
// (its key included), some 20 MB at most.
const DefaultMaxBuckets = 1 << 16

// Limiter is the bucket table. Its zero value is unusable; use New.
type Limiter struct {
	rule Rule
	max  int
	// idle is how long a bucket goes unused before it has refilled to
	// its burst and so can be forgotten.
	idle time.Duration

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently used
	evicted uint64
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a table of at most maxBuckets buckets of rule
// (DefaultMaxBuckets when maxBuckets ≤ 0).
func New(rule Rule, maxBuckets int) *Limiter {
	if maxBuckets <= 0 {
		maxBuckets = DefaultMaxBuckets
	}
	// In float first: a very slow rule's refill time overflows a Duration,
	// and a wrapped (negative) one would forget drained buckets at once.
	idle := time.Duration(math.MaxInt64)
	if f := float64(rule.Burst) / float64(rule.Rate) * float64(time.Second); f < float64(math.MaxInt64) {
		idle = time.Duration(f)
	}
	return &Limiter{rule: rule, max: maxBuckets, idle: max(idle, time.Second), buckets: make(map[string]*list.Element)}
}

// Allow spends one token of key's bucket at now. When the bucket is
// empty it returns false and how long until a token is there.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	lim := l.bucket(key, now)
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket finds or makes key's limiter, marks it used and forgets expired
// and, when the table is full, least recently used buckets.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.buckets[key]; ok {
		b := e.Value.(*bucket)
		b.last = now
		l.lru.MoveToFront(e)
		return b.lim
	}
	// Expire from the back: the least recently used go first, and the
	// first one still in use stops the sweep. Amortized, each bucket is
	// removed once.
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).last) >= l.idle; e = l.lru.Back() {
		l.remove(e)
	}
	if l.lru.Len() >= l.max {
		l.remove(l.lru.Back())
		l.evicted++
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.rule.Rate, l.rule.Burst), last: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b.lim
}

func (l *Limiter) remove(e *list.Element) {
	l.lru.Remove(e)
	delete(l.buckets, e.Value.(*bucket).key)
}

// Stats are the table's size and how many buckets in use were evicted to
// make room (a table too small for the callers; see decision 0032).
func (l *Limiter) Stats() (buckets int, evicted uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len(), l.evicted
}

// RetryAfter is d in whole seconds for the Retry-After header, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
