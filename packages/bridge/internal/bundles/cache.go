// Package bundles is the Bridge's bundle cache (SPEC §8.1): it loads an
// env's bundle from the Hub on first use, compiles it once with the planner,
// keeps one long poll open per env in use and swaps in each new revision
// atomically, so that in-flight requests finish on the bundle they started
// with. While the Hub is unreachable it serves the last good bundle up to
// the max-stale bound, then refuses. It also remembers which env an API key
// id belongs to (the one Hub lookup on the request path, ARCHITECTURE §1).
// Names it has not seen cost Hub lookups within a budget, and negative
// answers are kept briefly in bounded tables (budget.go), so that callers
// naming made-up envs or keys cannot grow it or flood the Hub.
//
// Bundles hold decrypted connection URLs: nothing here logs a bundle or a
// URL.
package bundles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/tracing"
)

// Errors of Get and Locate; the HTTP edge maps them to §3 codes.
var (
	// ErrEnvNotFound: the Hub does not know the env (→ 404).
	ErrEnvNotFound = errors.New("env not found")
	// ErrUnknownKey: the Hub does not know the API key id (→ 401).
	ErrUnknownKey = errors.New("unknown API key")
	// ErrClosed: the cache is shutting down (→ 503).
	ErrClosed = errors.New("bundle cache closed")
)

// UnavailableError means no usable bundle can be served (→ 503): the Hub
// cannot be reached and nothing fresh enough is cached, the Hub's bundle
// cannot be compiled by this Bridge, or the budget of Hub lookups for names
// not seen before is spent for the moment. Reason is safe to show to a
// client; RetryAfter, when set, says when to try again.
type UnavailableError struct {
	Reason     string
	RetryAfter time.Duration
	cause      error
}

func (e *UnavailableError) Error() string {
	if e.cause != nil {
		return e.Reason + ": " + e.cause.Error()
	}
	return e.Reason
}

func (e *UnavailableError) Unwrap() error { return e.cause }

// Defaults of Config.
const (
	DefaultMaxStale      = 10 * time.Minute
	DefaultPollWait      = 30 * time.Second
	DefaultIdleTimeout   = 15 * time.Minute
	DefaultUnknownKeyTTL = 30 * time.Second
	// notFoundTTL caches an unknown env briefly, so that a burst of
	// requests naming it costs one Hub lookup, yet a new env is found soon.
	notFoundTTL = time.Second
	// unavailableTTL: the same for a first load that could not reach the Hub.
	unavailableTTL = 500 * time.Millisecond
	// loadTimeout bounds a first load and a key lookup.
	loadTimeout = 10 * time.Second
	// maxUnknownKeys bounds the negative key cache against floods of
	// made-up key ids.
	maxUnknownKeys = 100_000
	// maxUnknownEnvs bounds the negative env cache likewise (the lookup
	// budget keeps it far below this; the bound holds whatever the budget).
	maxUnknownEnvs = 10_000
	// DefaultLookupRate and DefaultLookupBurst are the budget of Hub
	// lookups for names not seen before, per second and at once: enough
	// for a Bridge restarting in front of hundreds of envs and keys, while
	// a flood of made-up names costs the Hub at most this.
	DefaultLookupRate  = 100
	DefaultLookupBurst = 200
	// refreshInterval bounds GetForKey's out-of-turn fetches per env.
	refreshInterval = time.Second
	backoffMin      = 200 * time.Millisecond
	backoffMax      = 5 * time.Second
)

// Config configures a Cache.
type Config struct {
	// HubURL is the Hub's base URL, or several separated by commas
	// (fail-over, see hubClient); Token the bridge token.
	HubURL string
	Token  string
	// Client makes the Hub requests (no overall timeout: long polls).
	Client *http.Client
	// MaxStale: how long after the last 200 or 304 a bundle is served
	// while the Hub cannot be reached (STK_BUNDLE_MAX_STALE).
	MaxStale time.Duration
	// PollWait is the long poll's ?wait=; it is capped at MaxStale/3 so
	// that a healthy poll always refreshes a bundle before it turns stale.
	PollWait time.Duration
	// IdleTimeout: an env unused this long stops being polled and is
	// dropped (OnEvict is called).
	IdleTimeout time.Duration
	// UnknownKeyTTL: how long an unknown key id is remembered as unknown.
	UnknownKeyTTL time.Duration
	// LookupRate and LookupBurst budget the Hub lookups of names not seen
	// before: the first load of an env named by a caller's headers, and
	// the lookup of an API key id. Beyond the budget such a request is
	// refused as unavailable, with a RetryAfter. Envs found from a key's
	// binding, and the envs and keys already cached, never wait for it.
	LookupRate  float64
	LookupBurst int
	// Limits are passed to plan.Compile.
	Limits plan.Limits
	// OnEvict is called when an env is dropped (idle, or deleted on the Hub).
	OnEvict func(project, env string)
	// OnUpdate is called after a new revision of a loaded env is swapped in.
	OnUpdate func(e *Entry)
	// OnLoad is called once per bundle fetch with "ok" (a new bundle
	// compiled), "not_modified", or "error".
	OnLoad func(result string)
	// OnOverBudget is called for each lookup refused beyond the budget.
	OnOverBudget func()
	Log          *slog.Logger
	// Tracer makes the spans of Hub fetches and carries their trace
	// context to the Hub (nil: tracing off).
	Tracer *tracing.Tracer
}

// Key names an env.
type Key struct{ Project, Env string }

// Entry is one compiled bundle. It is immutable: a new revision is a new
// Entry, so a request that holds one sees one consistent configuration.
type Entry struct {
	Bundle *bundle.Bundle
	Env    *plan.Env
	keys   map[string]struct{}
}

// Revision is the env revision of the bundle.
func (e *Entry) Revision() int64 { return e.Bundle.Revision }

// HasKey reports whether the bundle knows the API key id.
func (e *Entry) HasKey(keyID string) bool { _, ok := e.keys[keyID]; return ok }

type envState struct {
	key   Key
	ready chan struct{} // closed when the first load finished
	// Set before ready is closed, read after.
	err error

	entry    atomic.Pointer[Entry]
	lastOK   atomic.Int64 // unix nanos of the last 200 or 304
	lastUsed atomic.Int64 // unix nanos
	// lastRefresh is when GetForKey last fetched out of turn.
	lastRefresh atomic.Int64
}

// Cache is the bundle cache. Its methods are safe for concurrent use.
type Cache struct {
	cfg    Config
	hub    *hubClient
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sf     singleflight.Group

	// lookups is the budget of Hub lookups for names not seen before.
	lookups *bucket

	mu     sync.Mutex
	closed bool
	// envs holds the envs loading or loaded; a first load that failed
	// leaves its error in unknownEnvs for a moment instead.
	envs        map[Key]*envState
	unknownEnvs *expiring[Key, error]
	keys        map[string]Key // key id → env, for existing keys
	unknownKeys *expiring[string, struct{}]
}

// New returns a cache; it contacts the Hub only when an env is first used.
func New(cfg Config) *Cache {
	if cfg.MaxStale <= 0 {
		cfg.MaxStale = DefaultMaxStale
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = DefaultPollWait
	}
	if cfg.PollWait > cfg.MaxStale/3 {
		cfg.PollWait = max(cfg.MaxStale/3, 10*time.Millisecond)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.UnknownKeyTTL <= 0 {
		cfg.UnknownKeyTTL = DefaultUnknownKeyTTL
	}
	if cfg.LookupRate <= 0 {
		cfg.LookupRate = DefaultLookupRate
	}
	if cfg.LookupBurst <= 0 {
		cfg.LookupBurst = DefaultLookupBurst
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnEvict == nil {
		cfg.OnEvict = func(string, string) {}
	}
	if cfg.OnUpdate == nil {
		cfg.OnUpdate = func(*Entry) {}
	}
	if cfg.OnLoad == nil {
		cfg.OnLoad = func(string) {}
	}
	if cfg.OnOverBudget == nil {
		cfg.OnOverBudget = func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel,
		hub:     newHubClient(cfg.HubURL, cfg.Token, cfg.Client, cfg.Tracer),
		lookups: newBucket(cfg.LookupRate, cfg.LookupBurst),
		envs:    map[Key]*envState{}, unknownEnvs: newExpiring[Key, error](maxUnknownEnvs),
		keys: map[string]Key{}, unknownKeys: newExpiring[string, struct{}](maxUnknownKeys)}
}

// ReportUsage sends a batch of API key uses to the Hub (SPEC §15), for the
// usage reporter: the cache owns the Bridge's Hub client.
func (c *Cache) ReportUsage(ctx context.Context, batch []hubapi.APIKeyUse) error {
	return c.hub.reportUsage(ctx, batch)
}

// Close stops every long poll and waits for them.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// Get returns the current compiled bundle of project/env, which a caller
// named, loading it on first use within the lookup budget. Concurrent
// first uses share one load; an env the Hub does not know is remembered as
// such for a moment. Errors: ErrEnvNotFound, *UnavailableError, ErrClosed,
// or ctx's error.
func (c *Cache) Get(ctx context.Context, project, env string) (*Entry, error) {
	return c.get(ctx, Key{project, env}, true)
}

// get is Get; budgeted says whether a first load spends the lookup budget
// (not for an env that an existing API key is bound to).
func (c *Cache) get(ctx context.Context, k Key, budgeted bool) (*Entry, error) {
	project, env := k.Project, k.Env
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	st := c.envs[k]
	if st == nil {
		if err, ok := c.unknownEnvs.get(k, now); ok {
			c.mu.Unlock()
			return nil, err
		}
		if budgeted {
			if ok, wait := c.lookups.take(now); !ok {
				c.mu.Unlock()
				return nil, c.overBudget(wait)
			}
		}
		st = &envState{key: k, ready: make(chan struct{})}
		c.envs[k] = st
		c.wg.Add(1)
		// The first caller's trace is the load's: its fetch is the
		// span that request waited on.
		go c.load(st, tracing.Detach(c.ctx, ctx))
	}
	c.mu.Unlock()
	st.lastUsed.Store(now.UnixNano())
	select {
	case <-st.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e := st.entry.Load()
	if e == nil {
		return nil, st.err
	}
	if age := now.Sub(time.Unix(0, st.lastOK.Load())); age > c.cfg.MaxStale {
		return nil, &UnavailableError{Reason: fmt.Sprintf("the Hub has been unreachable for %s and the cached configuration of %s/%s is too stale to serve",
			age.Round(time.Second), project, env)}
	}
	return e, nil
}

// store swaps in e unless a newer revision is already there (a refresh
// and a poll may race).
func (st *envState) store(e *Entry) {
	for {
		cur := st.entry.Load()
		if cur != nil && cur.Revision() > e.Revision() {
			return
		}
		if st.entry.CompareAndSwap(cur, e) {
			return
		}
	}
}

// GetForKey is Get for a caller presenting API key keyID, which the Hub
// placed in this env: when the cached bundle does not list the key yet (it
// was created moments ago and the long poll has not delivered it), the
// bundle is fetched again at once, at most once a second per env.
func (c *Cache) GetForKey(ctx context.Context, project, env, keyID string) (*Entry, error) {
	e, err := c.get(ctx, Key{project, env}, false)
	if err != nil || e.HasKey(keyID) {
		return e, err
	}
	k := Key{project, env}
	c.mu.Lock()
	st := c.envs[k]
	c.mu.Unlock()
	if st == nil || time.Since(time.Unix(0, st.lastRefresh.Load())) < refreshInterval {
		return e, nil
	}
	traced := tracing.Detach(c.ctx, ctx)
	ch := c.sf.DoChan("env:"+project+"/"+env, func() (any, error) {
		st.lastRefresh.Store(time.Now().UnixNano())
		ctx, cancel := context.WithTimeout(traced, loadTimeout)
		defer cancel()
		b, _, err := c.hub.fetch(ctx, project, env, -1, 0)
		if err != nil {
			c.cfg.OnLoad("error")
			return nil, err
		}
		ne, err := c.compile(b)
		if err != nil {
			return nil, err
		}
		st.store(ne)
		st.lastOK.Store(time.Now().UnixNano())
		c.cfg.OnUpdate(ne)
		return nil, nil
	})
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A failed refresh leaves the cached bundle: the key is then refused,
	// as it would be without the refresh.
	return st.entry.Load(), nil
}

// overBudget is the answer to a lookup beyond the budget.
func (c *Cache) overBudget(wait time.Duration) error {
	c.cfg.OnOverBudget()
	return &UnavailableError{Reason: "too many lookups of unknown projects, envs or API keys right now: try again shortly",
		RetryAfter: wait.Truncate(time.Second) + time.Second} // whole seconds, at least one
}

func (c *Cache) load(st *envState, base context.Context) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(base, loadTimeout)
	b, _, err := c.hub.fetch(ctx, st.key.Project, st.key.Env, -1, 0)
	cancel()
	var (
		e   *Entry
		ttl time.Duration // how long a failure is the answer
	)
	if err == nil {
		e, err = c.compile(b)
		if err != nil {
			ttl = unavailableTTL
			err = &UnavailableError{Reason: fmt.Sprintf("the configuration of %s/%s cannot be used by this Bridge", st.key.Project, st.key.Env), cause: err}
		}
	} else {
		c.cfg.OnLoad("error")
		switch {
		case errors.Is(err, errHubNotFound):
			err, ttl = ErrEnvNotFound, notFoundTTL
		case c.ctx.Err() != nil:
			err = ErrClosed
		default:
			c.log.Warn("bundle load failed", "project", st.key.Project, "env", st.key.Env, "error", err.Error())
			// Requests within the next moment share this answer rather
			// than each trying the Hub again.
			ttl = unavailableTTL
			err = &UnavailableError{Reason: "the Hub cannot be reached to load the configuration of " + st.key.Project + "/" + st.key.Env, cause: err}
		}
	}
	if err != nil {
		st.err = err
		// The state leaves envs (which holds only envs in use); the answer
		// stays in the bounded unknownEnvs for ttl.
		now := time.Now()
		c.mu.Lock()
		if c.envs[st.key] == st {
			delete(c.envs, st.key)
		}
		if ttl > 0 {
			c.unknownEnvs.put(st.key, err, now.Add(ttl), now)
		}
		c.mu.Unlock()
		close(st.ready)
		return
	}
	st.entry.Store(e)
	st.lastOK.Store(time.Now().UnixNano())
	close(st.ready)
	c.log.Info("bundle loaded", "project", st.key.Project, "env", st.key.Env, "revision", e.Revision(), "release", releaseID(e.Bundle))
	c.wg.Add(1)
	go c.poll(st)
}

func (c *Cache) compile(b *bundle.Bundle) (*Entry, error) {
	env, err := plan.Compile(b, c.cfg.Limits)
	if err != nil {
		c.cfg.OnLoad("error")
		// The planner's errors name documents and tables, never URLs.
		c.log.Error("bundle cannot be compiled", "project", b.Project, "env", b.Env, "revision", b.Revision, "error", err.Error())
		return nil, err
	}
	keys := make(map[string]struct{}, len(b.APIKeys))
	for _, k := range b.APIKeys {
		keys[k.KeyID] = struct{}{}
	}
	c.cfg.OnLoad("ok")
	return &Entry{Bundle: b, Env: env, keys: keys}, nil
}

// poll keeps one long poll open for st's env until the cache closes, the
// env goes idle or the Hub says it no longer exists.
func (c *Cache) poll(st *envState) {
	defer c.wg.Done()
	backoff := time.Duration(0)
	for c.ctx.Err() == nil {
		if time.Since(time.Unix(0, st.lastUsed.Load())) > c.cfg.IdleTimeout {
			c.log.Info("bundle dropped: env idle", "project", st.key.Project, "env", st.key.Env)
			c.evict(st)
			return
		}
		cur := st.entry.Load()
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.PollWait+loadTimeout)
		b, notModified, err := c.hub.fetch(ctx, st.key.Project, st.key.Env, cur.Revision(), c.cfg.PollWait)
		cancel()
		switch {
		case err == nil && notModified:
			c.cfg.OnLoad("not_modified")
			st.lastOK.Store(time.Now().UnixNano())
			backoff = 0
			continue
		case err == nil:
			e, cerr := c.compile(b)
			if cerr == nil {
				st.store(e)
				st.lastOK.Store(time.Now().UnixNano())
				c.cfg.OnUpdate(e)
				c.log.Info("bundle updated", "project", st.key.Project, "env", st.key.Env, "revision", e.Revision(), "release", releaseID(e.Bundle))
				backoff = 0
				continue
			}
			// Keep serving the previous bundle, but do not count this
			// answer as fresh: an unusable configuration must not keep an
			// old one (with, say, a since revoked key) alive forever.
		case errors.Is(err, errHubNotFound):
			c.cfg.OnLoad("error")
			c.log.Warn("bundle dropped: env no longer exists on the Hub", "project", st.key.Project, "env", st.key.Env)
			c.evict(st)
			return
		case c.ctx.Err() != nil:
			return
		default:
			c.cfg.OnLoad("error")
			c.log.Warn("bundle poll failed", "project", st.key.Project, "env", st.key.Env, "error", err.Error(),
				"staleFor", time.Since(time.Unix(0, st.lastOK.Load())).Round(time.Millisecond).String())
		}
		backoff = min(max(backoff*2, backoffMin), backoffMax)
		// Jitter spreads the retries of many envs and Bridges.
		sleep := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

func (c *Cache) evict(st *envState) {
	c.mu.Lock()
	if c.envs[st.key] == st {
		delete(c.envs, st.key)
	}
	c.mu.Unlock()
	c.cfg.OnEvict(st.key.Project, st.key.Env)
}

// Locate returns the env an API key id belongs to: from the cache, from a
// loaded bundle, or from the Hub (once per key id, within the lookup
// budget; unknown ids are remembered as unknown for UnknownKeyTTL).
// Errors: ErrUnknownKey, *UnavailableError, ErrClosed, or ctx's error.
func (c *Cache) Locate(ctx context.Context, keyID string) (Key, error) {
	now := time.Now()
	c.mu.Lock()
	if k, ok := c.keys[keyID]; ok {
		c.mu.Unlock()
		return k, nil
	}
	if _, ok := c.unknownKeys.get(keyID, now); ok {
		c.mu.Unlock()
		return Key{}, ErrUnknownKey
	}
	for k, st := range c.envs {
		if e := st.entry.Load(); e != nil && e.HasKey(keyID) {
			c.keys[keyID] = k
			c.mu.Unlock()
			return k, nil
		}
	}
	c.mu.Unlock()

	traced := tracing.Detach(c.ctx, ctx)
	ch := c.sf.DoChan(keyID, func() (any, error) {
		// Concurrent lookups of one id share this one, and its token.
		if ok, wait := c.lookups.take(time.Now()); !ok {
			return Key{}, c.overBudget(wait)
		}
		lctx, cancel := context.WithTimeout(traced, loadTimeout)
		defer cancel()
		loc, err := c.hub.locate(lctx, keyID)
		now := time.Now()
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case err == nil:
			k := Key{loc.Project, loc.Env}
			c.keys[keyID] = k
			return k, nil
		case errors.Is(err, errHubNotFound):
			c.unknownKeys.put(keyID, struct{}{}, now.Add(c.cfg.UnknownKeyTTL), now)
			return Key{}, ErrUnknownKey
		case c.ctx.Err() != nil:
			return Key{}, ErrClosed
		default:
			c.log.Warn("API key lookup failed", "keyId", keyID, "error", err.Error())
			return Key{}, &UnavailableError{Reason: "the Hub cannot be reached to look up this API key", cause: err}
		}
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Key{}, r.Err
		}
		return r.Val.(Key), nil
	case <-ctx.Done():
		return Key{}, ctx.Err()
	}
}

// Age is how long ago an env's bundle was last confirmed by the Hub.
type Age struct {
	Project, Env string
	Age          time.Duration
	Revision     int64
}

// Ages lists the loaded envs with the age of their bundles, sorted.
func (c *Cache) Ages() []Age {
	now := time.Now()
	c.mu.Lock()
	out := make([]Age, 0, len(c.envs))
	for k, st := range c.envs {
		if e := st.entry.Load(); e != nil {
			out = append(out, Age{Project: k.Project, Env: k.Env, Revision: e.Revision(),
				Age: now.Sub(time.Unix(0, st.lastOK.Load()))})
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Project != out[j].Project {
			return out[i].Project < out[j].Project
		}
		return out[i].Env < out[j].Env
	})
	return out
}

// Fresh reports whether at least one bundle is cached and every cached
// bundle is within the max-stale bound (readiness while the Hub is down).
func (c *Cache) Fresh() bool {
	ages := c.Ages()
	for _, a := range ages {
		if a.Age > c.cfg.MaxStale {
			return false
		}
	}
	return len(ages) > 0
}

// PingHub checks that the Hub answers.
func (c *Cache) PingHub(ctx context.Context) error { return c.hub.ping(ctx) }

func releaseID(b *bundle.Bundle) string {
	if b.Release == nil {
		return ""
	}
	return b.Release.ID
}
