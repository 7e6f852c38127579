package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestScrapeHistogramAndQuantiles(t *testing.T) {
	// 100 selects: 50 within 1 ms, 40 more within 2 ms, 9 more within 5 ms,
	// 1 more within 10 ms; the insert and 504 series must not mix in.
	page := `# HELP stk_bridge_request_duration_seconds POST /call latency by op.
stk_bridge_request_duration_seconds_bucket{op="insert",status="200",le="0.001"} 7
stk_bridge_request_duration_seconds_bucket{op="insert",status="200",le="+Inf"} 7
stk_bridge_request_duration_seconds_bucket{op="select",status="504",le="0.001"} 3
stk_bridge_request_duration_seconds_bucket{op="select",status="504",le="+Inf"} 3
stk_bridge_request_duration_seconds_bucket{op="select",status="200",le="0.001"} 50
stk_bridge_request_duration_seconds_bucket{op="select",status="200",le="0.002"} 90
stk_bridge_request_duration_seconds_bucket{op="select",status="200",le="0.005"} 99
stk_bridge_request_duration_seconds_bucket{op="select",status="200",le="0.01"} 100
stk_bridge_request_duration_seconds_bucket{op="select",status="200",le="+Inf"} 100
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(page)) }))
	defer srv.Close()
	h, err := scrapeHistogram(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 || h[math.Inf(1)] != 100 {
		t.Fatalf("scraped %v", h)
	}
	if got := h.quantile(0.5); got != time.Millisecond {
		t.Errorf("p50 = %v, want 1ms", got)
	}
	// The 99th observation is the last of the 2–5 ms bucket.
	if got := h.quantile(0.99); got != 5*time.Millisecond {
		t.Errorf("p99 = %v, want 5ms", got)
	}
	// 70th: 20 of the 40 in the 1–2 ms bucket, so halfway.
	if got := h.quantile(0.7); got != 1500*time.Microsecond {
		t.Errorf("p70 = %v, want 1.5ms", got)
	}
	if got := h.within(0.005); got != 0.99 {
		t.Errorf("within 5 ms = %v, want 0.99", got)
	}
	if got := h.within(0.003); !math.IsNaN(got) {
		t.Errorf("within a bound that is not a bucket = %v, want NaN", got)
	}

	// A point's figures are the difference of two scrapes.
	before := histogram{0.001: 10, 0.002: 10, 0.005: 10, 0.01: 10, math.Inf(1): 10}
	d := h.minus(before)
	if d[0.001] != 40 || d[math.Inf(1)] != 90 {
		t.Errorf("difference = %v", d)
	}
	if got := (histogram{}).quantile(0.99); got != 0 {
		t.Errorf("empty histogram p99 = %v, want 0", got)
	}
}
