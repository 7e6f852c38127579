package devstack

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
