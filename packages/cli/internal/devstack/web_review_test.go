package devstack

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/devissuer"
)

// TestWebListingHidesDotNames: a --web directory without index.html is
// listed, and the listing must not name .santokit/ or .env either: names
// starting with a dot are never served, nor shown (#15 review, decision
// 0029).
func TestWebListingHidesDotNames(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{".santokit", "assets", "assets/.cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{".env": "SECRET=1", ".santokit/master.key": "k", "app.js": "js",
		"assets/logo.svg": "<svg/>", "assets/.hidden": "h"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	h := webHandler(root, WebConfig{})
	get := func(path string) (int, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "127.0.0.1:4002"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for path, want := range map[string][]string{"/": {"app.js", "assets/"}, "/assets/": {"logo.svg"}} {
		code, body := get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: listing lacks %s: %s", path, w, body)
			}
		}
		for _, hidden := range []string{".santokit", ".env", ".cache", ".hidden"} {
			if strings.Contains(body, hidden) {
				t.Errorf("GET %s: listing names %s: %s", path, hidden, body)
			}
		}
	}
	if code, body := get("/app.js"); code != http.StatusOK || body != "js" {
		t.Errorf("GET /app.js: %d %q", code, body)
	}
}

// STK_CORS_ORIGINS=* opens stk dev's Bridge to every page, which is safe
// there: a page still needs a credential. The token endpoint hands out
// that credential for any user, so `*` must not reach it: any site the
// developer visits could otherwise mint tokens and read or write the dev
// database through the Bridge. It allows the --web page and the origins
// listed by name only (#15 review, decision 0029).
func TestTokenEndpointIgnoresStar(t *testing.T) {
	const page = "http://127.0.0.1:4002"
	for _, c := range []struct {
		web, env string
		want     []string
	}{
		{page, "*", []string{page, "http://localhost:4002"}},
		{"", "*", nil},
		{page, "https://app.example.com", []string{"https://app.example.com", page, "http://localhost:4002"}},
	} {
		p, err := tokenOrigins(c.web, c.env)
		if err != nil || !slices.Equal(p.Origins(), c.want) {
			t.Errorf("tokenOrigins(%q, %q) = %v, %v; want %v", c.web, c.env, p.Origins(), err, c.want)
		}
	}

	policy, err := tokenOrigins(page, "*")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := devissuer.Start(devissuer.Options{Routes: tokenRoutes(policy)})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	code, h, body := send(t, "OPTIONS", iss.URL()+TokenPath, preflightFrom("https://evil.example"), "")
	if code != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another site under *: %d %v %s", code, h, body)
	}
	code, h, _ = send(t, "POST", iss.URL()+TokenPath, map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}, `{"sub":"alice"}`)
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("token answer to another site under *: %d %v", code, h)
	}
	if code, h, _ := send(t, "OPTIONS", iss.URL()+TokenPath, preflightFrom(page), ""); code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != page {
		t.Errorf("preflight from the --web page: %d %v", code, h)
	}
}
