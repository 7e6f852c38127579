package bundles

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// STK_HUB_URL as a comma list (SPEC §12): with the first Hub unreachable
// the Bridge loads from the next; when the Hub it polls dies, its long poll
// moves to another Hub and keeps delivering changes.
func TestHubFailover(t *testing.T) {
	a, b := newFakeHub(t), newFakeHub(t)
	for _, h := range []*fakeHub{a, b} {
		h.set("p", "dev", 1)
	}
	dead := httptest.NewServer(nil)
	dead.Close()
	c, _ := newCache(t, dead.URL+", "+a.srv.URL+"/,"+b.srv.URL, time.Minute, func(cfg *Config) { cfg.PollWait = 5 * time.Second })
	ctx := context.Background()
	if _, err := c.Get(ctx, "p", "dev"); err != nil {
		t.Fatalf("first load with the first Hub down: %v", err)
	}
	if err := c.PingHub(ctx); err != nil {
		t.Fatalf("PingHub: %v", err)
	}
	eventually(t, 2*time.Second, "the long poll on Hub a", func() bool { return a.polls.Load() > 0 })

	// Hub a goes away mid-poll; b gets the next change.
	a.srv.CloseClientConnections()
	a.srv.Close()
	b.set("p", "dev", 2)
	eventually(t, 3*time.Second, "revision 2 through Hub b", func() bool {
		e, err := c.Get(ctx, "p", "dev")
		return err == nil && e.Revision() == 2
	})
}
