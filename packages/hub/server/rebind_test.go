package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// A Hub with operator authentication disabled (stk dev's) answers anyone
// who reaches it. On a loopback address that is only this machine, except
// through DNS rebinding: a site whose name is re-pointed at 127.0.0.1 is
// then same-origin with the Hub and could create API keys from the
// developer's browser. So such a Hub answers only loopback Host names
// (#15 review; the dev token endpoint and --web do the same, decision
// 0029). A Hub on another address, or with authentication, is unchanged.
func TestAuthDisabledLoopbackHubRefusesReboundHost(t *testing.T) {
	newHub := func(addr string, authDisabled bool) http.Handler {
		cfg := Config{Addr: addr, DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"), AuthDisabled: authDisabled,
			BridgeTokens: []string{bridgeToken}, MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
			BootstrapEmail: "o@example.com", BootstrapPassword: "correct horse battery staple"}
		srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return srv.Handler()
	}
	get := func(h http.Handler, host string) (int, string) {
		req := httptest.NewRequest("GET", "/v1/projects", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	dev := newHub("127.0.0.1:4000", true)
	for _, host := range []string{"evil.example:4000", "evil.example", "127.0.0.1.evil.example:4000"} {
		code, body := get(dev, host)
		if code != http.StatusForbidden || !strings.Contains(body, `"FORBIDDEN"`) || !strings.Contains(body, "loopback") {
			t.Errorf("Host %s: %d %s", host, code, body)
		}
	}
	for _, host := range []string{"127.0.0.1:4000", "localhost:4000", "LOCALHOST", "[::1]:4000"} {
		if code, body := get(dev, host); code != http.StatusOK {
			t.Errorf("Host %s: %d %s", host, code, body)
		}
	}
	// Another address, or authentication on: every Host as before.
	for _, h := range []http.Handler{newHub("0.0.0.0:4000", true), newHub("127.0.0.1:4000", false)} {
		if code, body := get(h, "hub.internal:4000"); code == http.StatusForbidden {
			t.Errorf("Host hub.internal refused: %s", body)
		}
	}
}
