package commands

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stk dev --web DIR --web-addr: the flags reach the stack, --json names
// the page's URL and the token endpoint, and the page is served.
func TestDevWebFlags(t *testing.T) {
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<p>hello page</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, t.TempDir(), "--web", web, "--web-addr", "127.0.0.1:0")
	var out struct {
		WebURL   string `json:"webUrl"`
		TokenURL string `json:"tokenUrl"`
	}
	if err := json.Unmarshal([]byte(d.stdout.String()), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.WebURL, "http://127.0.0.1:") || !strings.HasSuffix(out.TokenURL, "/dev/token") {
		t.Fatalf("%+v", out)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	res, err := hc.Get(out.WebURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "hello page") {
		t.Fatalf("page: %d %s", res.StatusCode, b)
	}
	res, err = hc.Post(out.TokenURL, "application/json", strings.NewReader(`{"sub":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"expiresIn":3600`) {
		t.Fatalf("token: %d %s", res.StatusCode, b)
	}
}

// A --web-addr beyond loopback is a usage error (exit 2).
func TestDevWebAddrNotLoopback(t *testing.T) {
	var stdout, stderr strings.Builder
	code := Execute(t.Context(), []string{"dev", t.TempDir(), "--web", t.TempDir(), "--web-addr", "0.0.0.0:0",
		"--hub-addr", "127.0.0.1:0", "--bridge-addr", "127.0.0.1:0", "--issuer-addr", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--web-addr") || !strings.Contains(stderr.String(), "loopback") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
