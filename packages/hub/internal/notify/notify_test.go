package notify

import (
	"testing"
	"time"
)

func TestWaitChanged(t *testing.T) {
	h := New()
	a, b, other := h.Wait("e1"), h.Wait("e1"), h.Wait("e2")
	h.Changed("e1")
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("waiter not woken")
		}
	}
	select {
	case <-other:
		t.Fatal("another env's waiter woken")
	default:
	}
	// A wait taken after the change waits for the next one.
	c := h.Wait("e1")
	select {
	case <-c:
		t.Fatal("new waiter already closed")
	default:
	}
	h.Changed("unknown") // no waiters: no-op
}

func TestChangedAll(t *testing.T) {
	h := New()
	a, b := h.Wait("e1"), h.Wait("e2")
	h.ChangedAll()
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("waiter not woken")
		}
	}
	c := h.Wait("e1")
	select {
	case <-c:
		t.Fatal("a wait taken after ChangedAll is already closed")
	default:
	}
}
