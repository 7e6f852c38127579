package server

import (
	"sort"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// BenchmarkLongPollWake measures how long a waiting bundle long poll takes
// to answer after a change (an API key create) is acknowledged — SPEC §8.1
// asks for well under the 2 s a Bridge may take to serve it; the issue's
// target is 100 ms. Reported as p50/p99 in ms per wake.
func BenchmarkLongPollWake(b *testing.B) {
	h := startHubB(b)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "bench"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/bench/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	path := "/internal/v1/envs/bench/dev/bundle"
	auth := map[string]string{"Authorization": "Bearer " + bridgeToken}
	etag := h.doH("GET", path, nil, auth).header.Get("ETag")
	var wakes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan reply, 1)
		go func() {
			done <- h.doH("GET", path+"?wait=30s", nil, map[string]string{"Authorization": "Bearer " + bridgeToken, "If-None-Match": etag})
		}()
		time.Sleep(20 * time.Millisecond) // the poll is waiting by now
		// From the start of the change to the poll's answer: an upper bound
		// of the wake-up latency that includes the change's own commit.
		start := time.Now()
		h.do("POST", "/v1/projects/bench/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "k", Roles: []string{"r"}})
		r := <-done
		wakes = append(wakes, time.Since(start))
		if r.status != 200 {
			b.Fatalf("poll answered %d", r.status)
		}
		etag = r.header.Get("ETag")
	}
	b.StopTimer()
	sort.Slice(wakes, func(i, j int) bool { return wakes[i] < wakes[j] })
	b.ReportMetric(float64(wakes[len(wakes)/2].Microseconds())/1000, "p50-ms/wake")
	b.ReportMetric(float64(wakes[len(wakes)*99/100].Microseconds())/1000, "p99-ms/wake")
}
