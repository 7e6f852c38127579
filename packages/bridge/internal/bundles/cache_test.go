package bundles

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/plan"
)

// fakeHub is a double of the Hub's /internal API serving bundles a test
// builds: the protocol of SPEC §8.1 (ETag, If-None-Match, ?wait= long
// poll, 404 for unknown envs and keys), with switches to fail.
type fakeHub struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	envs    map[string]*bundle.Bundle
	keys    map[string]hubapi.APIKeyLocation
	changed chan struct{}
	down    atomic.Bool // answer 502 to everything
	full    atomic.Int64
	polls   atomic.Int64
	locates atomic.Int64
}

const token = "bridge-token"

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, envs: map[string]*bundle.Bundle{}, keys: map[string]hubapi.APIKeyLocation{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /internal/v1/envs/{p}/{e}/bundle", h.bundle)
	mux.HandleFunc("GET /internal/v1/apikeys/{id}", h.locate)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token && r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// set publishes a bundle at a new revision and wakes the long polls.
func (h *fakeHub) set(project, env string, rev int64) {
	h.mu.Lock()
	h.envs[project+"/"+env] = &bundle.Bundle{Project: project, Env: env, Revision: rev,
		Connections: []bundle.Connection{}, APIKeys: []bundle.APIKey{{KeyID: "key_in_" + env, Status: bundle.KeyActive}}}
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *fakeHub) remove(project, env string) {
	h.mu.Lock()
	delete(h.envs, project+"/"+env)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *fakeHub) bundle(w http.ResponseWriter, r *http.Request) {
	k := r.PathValue("p") + "/" + r.PathValue("e")
	have, conditional := parseETag(r.Header.Get("If-None-Match"))
	var wait time.Duration
	if s := r.URL.Query().Get("wait"); s != "" {
		wait, _ = time.ParseDuration(s)
	}
	if conditional {
		h.polls.Add(1)
	} else {
		h.full.Add(1)
	}
	deadline := time.After(wait)
	for {
		h.mu.Lock()
		b, ok := h.envs[k]
		changed := h.changed
		h.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if !conditional || b.Revision != have {
			w.Header().Set("ETag", `"`+strconv.FormatInt(b.Revision, 10)+`"`)
			_ = json.NewEncoder(w).Encode(b)
			return
		}
		select {
		case <-changed:
		case <-deadline:
			w.Header().Set("ETag", `"`+strconv.FormatInt(have, 10)+`"`)
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (h *fakeHub) locate(w http.ResponseWriter, r *http.Request) {
	h.locates.Add(1)
	h.mu.Lock()
	loc, ok := h.keys[r.PathValue("id")]
	h.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_ = json.NewEncoder(w).Encode(loc)
}

type loads struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *loads) add(r string) { l.mu.Lock(); l.n[r]++; l.mu.Unlock() }
func (l *loads) get(r string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[r]
}

func newCache(t *testing.T, hubURL string, maxStale time.Duration, mod func(*Config)) (*Cache, *loads) {
	l := &loads{n: map[string]int{}}
	cfg := Config{HubURL: hubURL, Token: token, MaxStale: maxStale, Limits: plan.DefaultLimits(), OnLoad: l.add}
	if mod != nil {
		mod(&cfg)
	}
	c := New(cfg)
	t.Cleanup(c.Close)
	return c, l
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFirstLoadPollAndSwap(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	// Max stale leaves room for a poll delayed by a loaded machine (the
	// suite runs packages in parallel on two cores): 1.5s, polls wait 500ms.
	c, l := newCache(t, hub.srv.URL, 1500*time.Millisecond, nil)
	ctx := context.Background()

	e1, err := c.Get(ctx, "p", "dev")
	if err != nil || e1.Revision() != 1 || e1.Env == nil || e1.Bundle.Project != "p" {
		t.Fatalf("first load: %v %+v", err, e1)
	}
	// Concurrent first uses of another env share one load.
	hub.set("p", "stg", 7)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e, err := c.Get(ctx, "p", "stg"); err != nil || e.Revision() != 7 {
				t.Errorf("stg: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := hub.full.Load(); n != 2 {
		t.Fatalf("%d full fetches, want one per env", n)
	}

	// 304s keep serving, and keep the bundle fresh past max stale.
	time.Sleep(2 * time.Second)
	if e, err := c.Get(ctx, "p", "dev"); err != nil || e != e1 {
		t.Fatalf("after 304s: %v, same entry %v", err, e == e1)
	}
	// About four polls fit in 2s; a loaded machine may manage fewer, and
	// serving past max stale above already shows that they kept it fresh.
	if hub.polls.Load() < 2 || l.get("not_modified") < 2 {
		t.Fatalf("polls %d, not_modified %d", hub.polls.Load(), l.get("not_modified"))
	}

	// A new revision is swapped in promptly; the old entry is untouched.
	changedAt := time.Now()
	hub.set("p", "dev", 2)
	eventually(t, 2*time.Second, "revision 2 served", func() bool {
		e, err := c.Get(ctx, "p", "dev")
		return err == nil && e.Revision() == 2
	})
	t.Logf("new revision served %s after the change", time.Since(changedAt))
	if e1.Revision() != 1 {
		t.Fatal("the entry a request held changed under it")
	}
	if n := hub.full.Load(); n != 2 {
		t.Fatalf("%d full fetches: polls must carry If-None-Match", n)
	}
	if l.get("ok") != 3 {
		t.Fatalf("ok loads %d, want 3 (dev twice, stg once)", l.get("ok"))
	}
	ages := c.Ages()
	if len(ages) != 2 || ages[0].Env != "dev" || ages[0].Revision != 2 || ages[0].Age > time.Second {
		t.Fatalf("ages %+v", ages)
	}
	if !c.Fresh() {
		t.Fatal("not fresh")
	}
}

func TestHubDownStaleThenUnavailable(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	// Wide enough that a loaded machine's scheduling delays do not eat it.
	const maxStale = 1500 * time.Millisecond
	c, l := newCache(t, hub.srv.URL, maxStale, nil)
	ctx := context.Background()
	if _, err := c.Get(ctx, "p", "dev"); err != nil {
		t.Fatal(err)
	}
	hub.down.Store(true)
	downAt := time.Now()
	// The last good bundle is served while it is within max stale...
	for time.Since(downAt) < maxStale/4 {
		if _, err := c.Get(ctx, "p", "dev"); err != nil {
			t.Fatalf("stale bundle not served %s after the Hub went down: %v", time.Since(downAt), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ...then refused.
	eventually(t, 5*time.Second, "503 after max stale", func() bool {
		_, err := c.Get(ctx, "p", "dev")
		var ue *UnavailableError
		return errors.As(err, &ue) && strings.Contains(ue.Reason, "too stale")
	})
	if time.Since(downAt) < maxStale-200*time.Millisecond {
		t.Fatalf("refused after %s only", time.Since(downAt))
	}
	if c.Fresh() {
		t.Fatal("fresh while stale")
	}
	if l.get("error") == 0 {
		t.Fatal("failed polls not counted")
	}
	// The Hub comes back: served again after the next (backed-off) poll.
	hub.down.Store(false)
	eventually(t, 7*time.Second, "recovery", func() bool {
		_, err := c.Get(ctx, "p", "dev")
		return err == nil
	})
	// An env never loaded while the Hub is down: 503 at once.
	hub.down.Store(true)
	_, err := c.Get(ctx, "p", "other")
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("first load with the Hub down: %v", err)
	}
}

func TestUnreachableHubAndUnknownEnv(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	c, _ := newCache(t, closed, time.Minute, nil)
	_, err = c.Get(context.Background(), "p", "dev")
	var ue *UnavailableError
	if !errors.As(err, &ue) || strings.Contains(ue.Reason, "127.0.0.1") {
		t.Fatalf("unreachable Hub: %v", err)
	}
	if _, err := c.Locate(context.Background(), "key_x"); !errors.As(err, &ue) {
		t.Fatalf("locate with the Hub down: %v", err)
	}

	hub := newFakeHub(t)
	c2, _ := newCache(t, hub.srv.URL, time.Minute, nil)
	for range 3 {
		if _, err := c2.Get(context.Background(), "p", "nope"); !errors.Is(err, ErrEnvNotFound) {
			t.Fatalf("unknown env: %v", err)
		}
	}
	if n := hub.full.Load(); n != 1 {
		t.Fatalf("unknown env looked up %d times in a burst", n)
	}
	// Created later: found once the short negative cache expires.
	hub.set("p", "nope", 1)
	eventually(t, 3*time.Second, "new env found", func() bool {
		_, err := c2.Get(context.Background(), "p", "nope")
		return err == nil
	})
	// A wrong bridge token is the Hub refusing: 503, not 404.
	c3, _ := newCache(t, hub.srv.URL, time.Minute, func(c *Config) { c.Token = "wrong" })
	if _, err := c3.Get(context.Background(), "p", "nope"); !errors.As(err, &ue) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestLocate(t *testing.T) {
	hub := newFakeHub(t)
	hub.keys["key_a"] = hubapi.APIKeyLocation{Project: "p", Env: "dev"}
	c, _ := newCache(t, hub.srv.URL, time.Minute, func(c *Config) { c.UnknownKeyTTL = 300 * time.Millisecond })
	ctx := context.Background()
	for range 3 {
		k, err := c.Locate(ctx, "key_a")
		if err != nil || k != (Key{"p", "dev"}) {
			t.Fatalf("locate: %v %v", k, err)
		}
	}
	if n := hub.locates.Load(); n != 1 {
		t.Fatalf("%d lookups of a known key", n)
	}
	for range 3 {
		if _, err := c.Locate(ctx, "key_unknown"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if n := hub.locates.Load(); n != 2 {
		t.Fatalf("%d lookups: unknown keys are cached", n)
	}
	time.Sleep(350 * time.Millisecond)
	hub.mu.Lock()
	hub.keys["key_unknown"] = hubapi.APIKeyLocation{Project: "p", Env: "stg"}
	hub.mu.Unlock()
	if k, err := c.Locate(ctx, "key_unknown"); err != nil || k.Env != "stg" {
		t.Fatalf("after the negative TTL: %v %v", k, err)
	}
	// A key present in a loaded bundle needs no lookup.
	hub.set("p", "prod", 1)
	if _, err := c.Get(ctx, "p", "prod"); err != nil {
		t.Fatal(err)
	}
	before := hub.locates.Load()
	if k, err := c.Locate(ctx, "key_in_prod"); err != nil || k.Env != "prod" || hub.locates.Load() != before {
		t.Fatalf("bundle key: %v %v", k, err)
	}
}

func TestIdleAndDeletedEnvsAreDropped(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	hub.set("p", "stg", 1)
	var mu sync.Mutex
	evicted := map[string]int{}
	c, _ := newCache(t, hub.srv.URL, 300*time.Millisecond, func(c *Config) {
		c.IdleTimeout = 400 * time.Millisecond
		c.OnEvict = func(p, e string) { mu.Lock(); evicted[p+"/"+e]++; mu.Unlock() }
	})
	ctx := context.Background()
	if _, err := c.Get(ctx, "p", "dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "p", "stg"); err != nil {
		t.Fatal(err)
	}
	// stg stays in use; dev goes idle.
	stop := time.Now().Add(900 * time.Millisecond)
	for time.Now().Before(stop) {
		if _, err := c.Get(ctx, "p", "stg"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if evicted["p/dev"] != 1 || evicted["p/stg"] != 0 {
		t.Fatalf("evicted %v", evicted)
	}
	mu.Unlock()
	if a := c.Ages(); len(a) != 1 || a[0].Env != "stg" {
		t.Fatalf("ages %+v", a)
	}
	// Deleted on the Hub: dropped at the next poll; then unknown.
	hub.remove("p", "stg")
	eventually(t, 2*time.Second, "deleted env dropped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return evicted["p/stg"] == 1
	})
	if _, err := c.Get(ctx, "p", "stg"); !errors.Is(err, ErrEnvNotFound) {
		t.Fatalf("deleted env: %v", err)
	}
	// Used again after being dropped: loaded again.
	if e, err := c.Get(ctx, "p", "dev"); err != nil || e.Revision() != 1 {
		t.Fatalf("reload: %v", err)
	}
}

func TestCloseStopsPolls(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	c := New(Config{HubURL: hub.srv.URL, Token: token, MaxStale: time.Minute, PollWait: 10 * time.Second})
	if _, err := c.Get(context.Background(), "p", "dev"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for a long poll")
	}
	if _, err := c.Get(context.Background(), "p", "dev"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// A key created moments ago, not yet in the cached bundle: fetched out of
// turn (at most once a second per env) instead of refused until the poll.
func TestGetForKeyRefreshes(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	c, _ := newCache(t, hub.srv.URL, time.Minute, func(c *Config) { c.PollWait = 20 * time.Second })
	ctx := context.Background()
	if _, err := c.Get(ctx, "p", "dev"); err != nil {
		t.Fatal(err)
	}
	// The Hub gets the key without waking the long poll.
	hub.mu.Lock()
	hub.envs["p/dev"] = &bundle.Bundle{Project: "p", Env: "dev", Revision: 2,
		APIKeys: []bundle.APIKey{{KeyID: "key_new", Status: bundle.KeyActive}}}
	hub.mu.Unlock()
	e, err := c.GetForKey(ctx, "p", "dev", "key_new")
	if err != nil || e.Revision() != 2 || !e.HasKey("key_new") {
		t.Fatalf("refresh: %v %+v", err, e)
	}
	if e2, _ := c.Get(ctx, "p", "dev"); e2 != e {
		t.Fatal("the refreshed bundle is not the cached one")
	}
	full := hub.full.Load()
	for range 5 {
		if e, err := c.GetForKey(ctx, "p", "dev", "key_other"); err != nil || e.Revision() != 2 {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if n := hub.full.Load() - full; n != 0 {
		t.Fatalf("%d out-of-turn fetches within a second", n)
	}
}
