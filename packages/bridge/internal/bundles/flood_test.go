package bundles

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 11 item 3: an anonymous caller naming 40,000 made-up
// project/env pairs neither grows the cache without bound nor makes the
// Bridge fetch from the Hub 40,000 times; a known env is served throughout.
func TestUnknownEnvFlood(t *testing.T) {
	hub := newFakeHub(t)
	hub.set("p", "dev", 1)
	const (
		rate  = 200.0
		burst = 100
	)
	c, _ := newCache(t, hub.srv.URL, time.Minute, func(c *Config) { c.LookupRate, c.LookupBurst = rate, burst })
	ctx := context.Background()
	if _, err := c.Get(ctx, "p", "dev"); err != nil {
		t.Fatal(err)
	}
	known := hub.full.Load()

	// The known env is served all along.
	stop := make(chan struct{})
	knownDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				knownDone <- nil
				return
			default:
			}
			if e, err := c.Get(ctx, "p", "dev"); err != nil || e.Revision() != 1 {
				knownDone <- fmt.Errorf("known env during the flood: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	const names = 40_000
	var notFound, busy atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names / 8 {
				project := fmt.Sprintf("p%x", rand.Uint64())
				_, err := c.Get(ctx, project, fmt.Sprintf("e%d-%d", w, i))
				var ue *UnavailableError
				switch {
				case errors.Is(err, ErrEnvNotFound):
					notFound.Add(1)
				case errors.As(err, &ue) && ue.RetryAfter >= time.Second:
					busy.Add(1)
				default:
					t.Errorf("made-up env: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	if err := <-knownDone; err != nil {
		t.Fatal(err)
	}

	fetches := hub.full.Load() - known
	budget := int64(burst + rate*elapsed.Seconds() + 1)
	t.Logf("%d names in %s: %d Hub fetches (budget %d), %d not found, %d refused over budget",
		names, elapsed.Round(time.Millisecond), fetches, budget, notFound.Load(), busy.Load())
	if fetches > budget || fetches != notFound.Load() || notFound.Load()+busy.Load() != names {
		t.Fatalf("%d Hub fetches for %d made-up envs in %s, %d not found, %d refused: want at most %d fetches",
			fetches, names, elapsed, notFound.Load(), busy.Load(), budget)
	}
	c.mu.Lock()
	envs, unknown := len(c.envs), c.unknownEnvs.len()
	c.mu.Unlock()
	if envs != 1 || int64(unknown) > fetches {
		t.Fatalf("after the flood the cache holds %d envs and %d unknown ones", envs, unknown)
	}
	// The known env still works, and the budget refills.
	if e, err := c.Get(ctx, "p", "dev"); err != nil || e.Revision() != 1 {
		t.Fatalf("known env after the flood: %v", err)
	}
	hub.set("p", "new", 1)
	eventually(t, 2*time.Second, "a new env loads once the budget refills", func() bool {
		_, err := c.Get(ctx, "p", "new")
		return err == nil
	})
}

// The same budget covers API key ids: made-up ones cost bounded lookups.
func TestUnknownKeyFlood(t *testing.T) {
	hub := newFakeHub(t)
	c, _ := newCache(t, hub.srv.URL, time.Minute, func(c *Config) { c.LookupRate, c.LookupBurst = 50, 20 })
	start := time.Now()
	var busy int
	for i := range 2000 {
		_, err := c.Locate(context.Background(), fmt.Sprintf("key_%d", i))
		var ue *UnavailableError
		if errors.As(err, &ue) && ue.RetryAfter > 0 {
			busy++
		} else if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("made-up key: %v", err)
		}
	}
	if n, max := hub.locates.Load(), int64(20+50*time.Since(start).Seconds()+1); n > max || busy == 0 {
		t.Fatalf("%d lookups (at most %d), %d refused", n, max, busy)
	}
}

// The negative tables never grow past their bound, and drop what expired.
func TestExpiringBound(t *testing.T) {
	e := newExpiring[int, string](3)
	now := time.Now()
	for i := range 3 {
		e.put(i, "x", now.Add(time.Second), now)
	}
	e.put(9, "x", now.Add(time.Second), now)
	if e.len() != 3 {
		t.Fatalf("full of live entries, grew to %d", e.len())
	}
	if _, ok := e.get(9, now); ok {
		t.Fatal("remembered past the bound")
	}
	if v, ok := e.get(1, now); !ok || v != "x" {
		t.Fatal("live entry lost")
	}
	later := now.Add(2 * time.Second)
	e.put(9, "y", later.Add(time.Second), later)
	if v, ok := e.get(9, later); !ok || v != "y" || e.len() != 1 {
		t.Fatalf("expired entries not swept: %d left", e.len())
	}
	if _, ok := e.get(1, later); ok {
		t.Fatal("expired entry served")
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(10, 2)
	now := time.Now()
	for i := range 2 {
		if ok, _ := b.take(now); !ok {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if ok, wait := b.take(now); ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("empty bucket: %v, wait %s", ok, wait)
	}
	if ok, _ := b.take(now.Add(100 * time.Millisecond)); !ok {
		t.Fatal("no token after a tenth of a second at 10/s")
	}
	if ok, _ := b.take(now.Add(time.Hour)); !ok {
		t.Fatal("no token after an hour")
	}
	if ok, _ := b.take(now.Add(time.Hour)); !ok {
		t.Fatal("a full bucket holds burst tokens")
	}
	if ok, _ := b.take(now.Add(time.Hour)); ok {
		t.Fatal("more than burst tokens")
	}
}
