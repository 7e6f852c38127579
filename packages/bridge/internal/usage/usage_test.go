package usage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// hub is a Send that records batches and can be made to fail.
type hub struct {
	mu      sync.Mutex
	fail    bool
	batches [][]hubapi.APIKeyUse
}

func (h *hub) send(_ context.Context, b []hubapi.APIKeyUse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return errors.New("hub down")
	}
	h.batches = append(h.batches, append([]hubapi.APIKeyUse(nil), b...))
	return nil
}

func (h *hub) latest() map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]time.Time{}
	for _, b := range h.batches {
		for _, u := range b {
			if u.LastUsedAt.After(out[u.KeyID]) {
				out[u.KeyID] = u.LastUsedAt
			}
		}
	}
	return out
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFlushKeepsLatestAndRetries(t *testing.T) {
	h := &hub{}
	r := New(Config{Send: h.send})
	r.Used("key_a", t0.Add(2*time.Second))
	r.Used("key_a", t0) // older: ignored
	r.Used("key_b", t0)
	h.fail = true
	if r.Flush(context.Background()) {
		t.Fatal("Flush reported success while the Hub failed")
	}
	r.Used("key_b", t0.Add(time.Second))
	h.fail = false
	if !r.Flush(context.Background()) {
		t.Fatal("Flush failed")
	}
	got := h.latest()
	if len(h.batches) != 1 || len(got) != 2 || !got["key_a"].Equal(t0.Add(2*time.Second)) || !got["key_b"].Equal(t0.Add(time.Second)) {
		t.Fatalf("batches %v", h.batches)
	}
	// Nothing new: nothing sent.
	r.Flush(context.Background())
	if len(h.batches) != 1 {
		t.Fatalf("an empty flush sent %d batches", len(h.batches)-1)
	}
}

func TestBoundedAndBatched(t *testing.T) {
	h := &hub{}
	const max = hubapi.MaxAPIKeyUsageBatch + 10
	r := New(Config{Send: h.send, MaxKeys: max})
	for i := range max + 100 {
		r.Used(fmt.Sprintf("key_%d", i), t0)
	}
	r.mu.Lock()
	n := len(r.pending)
	r.mu.Unlock()
	if n != max {
		t.Fatalf("%d keys held, want the bound %d", n, max)
	}
	r.Flush(context.Background())
	if len(h.batches) != 2 || len(h.batches[0])+len(h.batches[1]) != max {
		t.Fatalf("%d batches", len(h.batches))
	}
	for _, b := range h.batches {
		if len(b) > hubapi.MaxAPIKeyUsageBatch {
			t.Fatalf("a batch of %d keys", len(b))
		}
	}
}

// Run reports once per interval — a key used many times in one interval
// is sent once — and flushes what is left when its context ends.
func TestRunInterval(t *testing.T) {
	h := &hub{}
	r := New(Config{Send: h.send, Interval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for i := range 20 {
		r.Used("key_a", t0.Add(time.Duration(i)*time.Millisecond))
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond)
	h.mu.Lock()
	sent := len(h.batches)
	h.mu.Unlock()
	if sent != 1 {
		t.Fatalf("%d reports for one interval's uses, want 1", sent)
	}
	r.Used("key_b", t0)
	cancel()
	<-done
	if _, ok := h.latest()["key_b"]; !ok {
		t.Fatal("the use recorded before shutdown was not reported")
	}
}

func BenchmarkUsed(b *testing.B) {
	r := New(Config{Send: (&hub{}).send})
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Used("key_01JD3W0000000000000000ZZZZ", now)
		}
	})
}
