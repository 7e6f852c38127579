package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
)

// Anonymous callers naming made-up envs through /call get 404 while the
// lookup budget lasts, then 503 with Retry-After (SPEC §3); API-key and
// anonymous callers of envs already in use are served throughout.
func TestUnknownEnvFloodThroughCall(t *testing.T) {
	s := newStack(t, func(c *Config) { c.LookupRate, c.LookupBurst = 5, 10 })
	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	admin, _, _ := s.setup(db)
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")

	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				r := do(t, "POST", s.bridgeURL+"/call", map[string]any{"path": "db/main/users/select"},
					anon(fmt.Sprintf("nope%d", w), fmt.Sprintf("env%d", i)))
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
				if r.status == 503 {
					if r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.body), "try again shortly") {
						t.Errorf("503 over budget: Retry-After %q, %s", r.header.Get("Retry-After"), r.body)
					}
				} else if r.status != 404 {
					t.Errorf("made-up env: %d %s", r.status, r.body)
				}
			}
		}()
	}
	// The env in use keeps answering during the flood.
	for range 20 {
		expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")
	}
	wg.Wait()
	budget := 10 + int(5*time.Since(start).Seconds()) + 1
	if statuses[http.StatusNotFound] == 0 || statuses[http.StatusServiceUnavailable] == 0 ||
		statuses[http.StatusNotFound] > budget {
		t.Fatalf("statuses %v: want 404s within the budget (%d), then 503s", statuses, budget)
	}
	if n := gauge(t, s.bridge, "stk_bridge_lookups_over_budget_total"); n != float64(statuses[http.StatusServiceUnavailable]) {
		t.Fatalf("stk_bridge_lookups_over_budget_total %v, want %d", n, statuses[http.StatusServiceUnavailable])
	}
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")
}

// gauge reads a metric of b without labels (a counter or a gauge).
func gauge(t *testing.T, b *Server, name string) float64 {
	t.Helper()
	mfs, err := b.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return -1
}
