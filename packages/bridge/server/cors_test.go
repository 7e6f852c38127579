package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// CORS through the whole Bridge handler (SPEC §4.6, decision 0029): the
// preflight is answered while the Hub is down — proof that it loads no
// bundle — and an error from the call path still carries the headers.
func TestCORS(t *testing.T) {
	var hubHits atomic.Int64
	hub := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hubHits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hub.Serve(l)
	t.Cleanup(func() { hub.Close() })

	const app = "http://localhost:5173"
	env := map[string]string{"STK_BRIDGE_TOKEN": bridgeToken, "STK_HUB_URL": "http://" + l.Addr().String(),
		"STK_CORS_ORIGINS": app + ", https://app.example.com"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	_, url, logs := startBridge(t, cfg)
	if !strings.Contains(logs.String(), `"corsOrigins":["http://localhost:5173","https://app.example.com"]`) {
		t.Errorf("start-up log does not show the origins: %s", logs.String())
	}

	pre := map[string]string{"Origin": app, "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-santokit-env,x-santokit-project"}
	r := do(t, "OPTIONS", url+"/call", nil, pre)
	expect(t, r, 204, "", "")
	for k, v := range map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-Id, X-Santokit-Api-Key, X-Santokit-Env, X-Santokit-Project",
		"Access-Control-Max-Age":       "600", "Vary": "Origin", "Access-Control-Allow-Credentials": ""} {
		if got := r.header.Get(k); got != v {
			t.Errorf("preflight %s: %q, want %q", k, got, v)
		}
	}
	if n := hubHits.Load(); n != 0 {
		t.Errorf("the preflight reached the Hub %d times; it must not load bundles", n)
	}

	r = do(t, "OPTIONS", url+"/call", nil, merge(pre, map[string]string{"Origin": "https://evil.example"}))
	expect(t, r, 403, apierr.Forbidden, `origin "https://evil.example" is not allowed`)
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Errorf("refused preflight carries CORS headers: %v", r.header)
	}

	// The call itself fails (the Hub is down) and the error is readable
	// by the page: Allow-Origin and the exposed request id.
	r = do(t, "POST", url+"/call", map[string]any{"path": "db/main/todos/select"},
		merge(anon("demo", "dev"), map[string]string{"Origin": app, "X-Request-Id": "trace-cors"}))
	expect(t, r, 503, apierr.ServiceUnavailable, "")
	if r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After" ||
		r.header.Get("Vary") != "Origin" || r.header.Get("X-Request-Id") != "trace-cors" {
		t.Errorf("error response headers: %v", r.header)
	}
	r = do(t, "POST", url+"/call", map[string]any{"path": "db/main/todos/select"},
		merge(anon("demo", "dev"), map[string]string{"Origin": "https://evil.example"}))
	expect(t, r, 503, apierr.ServiceUnavailable, "")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a disallowed origin got Allow-Origin")
	}
	// Ops routes are not for browsers.
	r = do(t, "GET", url+"/healthz", nil, map[string]string{"Origin": app})
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("/healthz carries CORS headers")
	}
}

// Without STK_CORS_ORIGINS, OPTIONS /call is the 405 of any wrong method
// and no response carries a CORS header.
func TestCORSOff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, url, _ := startBridge(t, testConfig(closed))
	r := do(t, "OPTIONS", url+"/call", nil, map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
	expect(t, r, 405, apierr.MethodNotAllowed, "")
	if r.header.Get("Allow") != "POST" || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("headers %v", r.header)
	}
}

// A bad STK_CORS_ORIGINS stops the Bridge at start, naming the variable;
// a programmatic Config is checked the same way.
func TestCORSConfig(t *testing.T) {
	for _, bad := range []string{"localhost:3000", "https://app.example.com/", "*,https://a.example", "https://a.example,,"} {
		_, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"STK_BRIDGE_TOKEN": "t", "STK_CORS_ORIGINS": bad}[k]
		})
		if err == nil || !strings.Contains(err.Error(), "STK_CORS_ORIGINS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c := testConfig("http://127.0.0.1:1")
	c.CORSOrigins = []string{"https://app.example.com/path"}
	if _, err := New(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "STK_CORS_ORIGINS") {
		t.Fatalf("New accepted a bad origin: %v", err)
	}
	c.CORSOrigins = []string{"*"}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}
