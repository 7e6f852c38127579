package bundles

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A Hub that accepts connections but never answers (a hung process, a
// network that drops its replies) fails a request by its deadline, not by
// a transport error. The next request must start at another Hub: sticking
// to the silent one would leave the Bridge without bundles for good while
// another Hub of STK_HUB_URL is healthy (#17 review, SPEC §12).
func TestHubFailoverFromAHungHub(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	b := newFakeHub(t)
	b.set("p", "dev", 1)

	h := newHubClient(hung.URL+","+b.srv.URL, token, &http.Client{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, _, err := h.fetch(ctx, "p", "dev", -1, 0)
	cancel()
	if err == nil {
		t.Fatal("the hung Hub answered")
	}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		got, _, err := h.fetch(ctx, "p", "dev", -1, 0)
		cancel()
		if err != nil || got == nil || got.Revision != 1 {
			t.Fatalf("fetch %d after the hung Hub's timeout: %v %v, want revision 1 from the other Hub", i, got, err)
		}
	}
}
