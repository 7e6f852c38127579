package ratelimit

import (
	"testing"
	"time"
)

// TestSlowRuleKeepsAnEmptyBucket: a rule whose refill time overflows a
// time.Duration (burst/rate beyond ~292 years) must not wrap to a negative
// idle time, which the one-second floor turned into "forget after 1 s": a
// drained caller would get its burst back every second (#17 review).
func TestSlowRuleKeepsAnEmptyBucket(t *testing.T) {
	rule, ok, err := Parse("0.0000001/h")
	if err != nil || !ok {
		t.Fatalf("Parse: %v %v", ok, err)
	}
	l := New(rule, 0)
	now := time.Unix(1000, 0)
	if ok, _ := l.Allow("k:a", now); !ok {
		t.Fatal("the first request should pass")
	}
	for _, later := range []time.Duration{2 * time.Second, time.Hour, 24 * time.Hour} {
		// Another caller arriving sweeps idle buckets.
		l.Allow("k:other", now.Add(later))
		if ok, wait := l.Allow("k:a", now.Add(later)); ok || wait <= 0 {
			t.Fatalf("after %s: allowed=%v wait=%s, want refused (the bucket refills over years)", later, ok, wait)
		}
	}
}
