package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A Bridge with STK_DISABLE_AUTH lets whoever reaches it run every op. On
// a loopback address it answers only loopback Host names, so that a page
// whose DNS name was rebound to 127.0.0.1 cannot use it from the
// developer's browser (#15 review; as stk dev's Hub, token endpoint and
// --web). Elsewhere, or with authentication, every Host is answered.
func TestAuthDisabledLoopbackBridgeRefusesReboundHost(t *testing.T) {
	newBridge := func(addr string, authDisabled bool) http.Handler {
		cfg := DefaultConfig()
		cfg.Addr, cfg.AuthDisabled, cfg.BridgeToken = addr, authDisabled, "t"
		s, err := New(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s.Handler()
	}
	get := func(h http.Handler, host string) (int, string) {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	dev := newBridge("127.0.0.1:3000", true)
	if code, body := get(dev, "evil.example:3000"); code != http.StatusForbidden || !strings.Contains(body, `"FORBIDDEN"`) {
		t.Errorf("rebound Host: %d %s", code, body)
	}
	if code, body := get(dev, "localhost:3000"); code != http.StatusOK {
		t.Errorf("Host localhost: %d %s", code, body)
	}
	for _, h := range []http.Handler{newBridge("0.0.0.0:3000", true), newBridge("127.0.0.1:3000", false)} {
		if code, body := get(h, "bridge.internal:3000"); code != http.StatusOK {
			t.Errorf("Host bridge.internal: %d %s", code, body)
		}
	}
}
