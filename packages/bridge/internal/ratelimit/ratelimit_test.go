package ratelimit

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in    string
		rate  rate.Limit
		burst int
		on    bool
	}{
		{"", 0, 0, false},
		{"off", 0, 0, false},
		{"100/s,burst=200", 100, 200, true},
		{" 100/s , burst = 200 ", 100, 200, true},
		{"5/s", 5, 5, true},
		{"600/m", 10, 600, true},
		{"3600/h,burst=10", 1, 10, true},
		{"0.5/s", 0.5, 1, true},
	} {
		r, on, err := Parse(c.in)
		if err != nil || on != c.on || r.Rate != c.rate || r.Burst != c.burst {
			t.Errorf("Parse(%q) = %+v, %v, %v; want rate %v burst %d on %v", c.in, r, on, err, c.rate, c.burst, c.on)
		}
	}
	for _, in := range []string{"100", "100/d", "-1/s", "0/s", "x/s", "100/s,200", "100/s,burst=0", "100/s,bust=5", "NaN/s", "Inf/s"} {
		if _, _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "want <requests>/<s|m|h>") {
			t.Errorf("Parse(%q): want an error showing the form, got %v", in, err)
		}
	}
}

func TestAllowSpendsTheBurstThenRefills(t *testing.T) {
	l := New(Rule{Rate: 2, Burst: 3}, 0)
	now := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := l.Allow("k:a", now); !ok {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("k:a", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok %v wait %v; want refused, 500ms", ok, wait)
	}
	if RetryAfter(wait) != "1" || RetryAfter(1500*time.Millisecond) != "2" {
		t.Fatalf("RetryAfter rounds up to whole seconds: %s %s", RetryAfter(wait), RetryAfter(1500*time.Millisecond))
	}
	// A refused call spends nothing: after half a second one token is back.
	if ok, _ := l.Allow("k:a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refill refused")
	}
	// Another caller has its own bucket.
	if ok, _ := l.Allow("k:b", now); !ok {
		t.Fatal("a second key shares the first one's bucket")
	}
}

func TestIdleBucketsExpire(t *testing.T) {
	l := New(Rule{Rate: 10, Burst: 10}, 0) // refills in 1s
	now := time.Unix(1000, 0)
	for i := range 50 {
		l.Allow("k:"+strconv.Itoa(i), now)
	}
	if n, _ := l.Stats(); n != 50 {
		t.Fatalf("%d buckets, want 50", n)
	}
	l.Allow("k:new", now.Add(2*time.Second))
	if n, ev := l.Stats(); n != 1 || ev != 0 {
		t.Fatalf("after the idle time: %d buckets (%d evicted), want only the new one", n, ev)
	}
}

// TestFloodOfDistinctKeysIsBounded: a million distinct callers within the
// refill time leave the table at its cap, its memory bounded, and a
// caller that keeps calling keeps its (empty) bucket: a flood does not
// reset a busy caller's budget.
func TestFloodOfDistinctKeysIsBounded(t *testing.T) {
	const maxBuckets = 1000
	l := New(Rule{Rate: 1, Burst: 2}, maxBuckets)
	now := time.Unix(1000, 0)
	l.Allow("k:busy", now)
	l.Allow("k:busy", now)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 1_000_000 {
		l.Allow("u:flood\x00"+strconv.Itoa(i), now)
		if i%100 == 0 {
			if ok, _ := l.Allow("k:busy", now); ok {
				t.Fatalf("the busy caller's bucket was reset by the flood at %d", i)
			}
		}
	}
	n, ev := l.Stats()
	if n != maxBuckets || ev < 1_000_000-maxBuckets {
		t.Fatalf("%d buckets, %d evicted; want the cap %d and the rest evicted", n, ev, maxBuckets)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes over a flood, want < 4 MiB for %d buckets", grown, maxBuckets)
	}
}
