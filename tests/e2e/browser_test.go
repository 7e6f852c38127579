package e2e

// Browser-facing pieces through the real binaries (issue #15, SPEC §4.6,
// §14; decision 0029): stk-bridge's STK_CORS_ORIGINS (checked at start,
// preflights answered without the Hub, headers on error answers) and
// `stk dev --web` (the page, its config document, the token endpoint, and
// the Bridge allowing the page's origin).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browserDo sends one request with headers and returns status, headers and
// body.
func browserDo(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestBridgeCORSBinary(t *testing.T) {
	t.Parallel()
	bridge := filepath.Join(binDir, "stk-bridge")
	env := func(origins string, port int) []string {
		return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "STK_BRIDGE_TOKEN=e2e-token",
			fmt.Sprintf("STK_BRIDGE_ADDR=127.0.0.1:%d", port), fmt.Sprintf("STK_HUB_URL=http://127.0.0.1:%d", closedPort(t)),
			"STK_CORS_ORIGINS=" + origins}
	}

	// A bad entry stops the Bridge at start, naming the variable.
	cmd := exec.Command(bridge)
	cmd.Env = env("http://localhost:5173,https://app.example.com/", closedPort(t))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "STK_CORS_ORIGINS") || !strings.Contains(string(out), "https://app.example.com/") {
		t.Fatalf("a bad STK_CORS_ORIGINS: %v\n%s", err, out)
	}

	port := closedPort(t)
	cmd = exec.Command(bridge)
	cmd.Env = env("http://localhost:5173", port)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stk-bridge does not answer: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The Hub is down: a preflight needs no bundle, so it still succeeds.
	pre := map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-santokit-env,x-santokit-project"}
	code, h, body := browserDo(t, "OPTIONS", base+"/call", pre, "")
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %d %v %s", code, h, body)
	}
	pre["Origin"] = "http://localhost:5174"
	if code, h, body := browserDo(t, "OPTIONS", base+"/call", pre, ""); code != 403 || h.Get("Access-Control-Allow-Origin") != "" ||
		!strings.Contains(body, `"FORBIDDEN"`) || !strings.Contains(body, "not allowed") {
		t.Fatalf("preflight from another origin: %d %v %s", code, h, body)
	}
	// The call's error (503: no Hub) is readable by the page.
	code, h, body = browserDo(t, "POST", base+"/call", map[string]string{"Origin": "http://localhost:5173", "Content-Type": "application/json",
		"X-Santokit-Project": "dev", "X-Santokit-Env": "dev"}, `{"path":"db/main/todos/select"}`)
	if code != 503 || h.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || h.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After" {
		t.Fatalf("error answer: %d %v %s", code, h, body)
	}
	if !strings.Contains(logs.String(), `"corsOrigins":["http://localhost:5173"]`) {
		t.Errorf("the start-up log does not show the origins:\n%s", logs)
	}
}

var (
	webRowRe   = regexp.MustCompile(`(?m)^\s*Web\s+(http://\S+)`)
	tokenRowRe = regexp.MustCompile(`(?m)^\s*Tokens\s+POST (http://\S+)`)
)

func TestDevWebBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<title>todo-web</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startStkDev(t, dir, "", "--web", web, "--web-addr", "127.0.0.1:0")
	out := d.stdout.String()
	wm, tm := webRowRe.FindStringSubmatch(out), tokenRowRe.FindStringSubmatch(out)
	if wm == nil || tm == nil {
		t.Fatalf("no Web or Tokens row in:\n%s", out)
	}
	page, tokenURL := wm[1], tm[1]

	code, _, body := browserDo(t, "GET", page+"/", nil, "")
	if code != 200 || !strings.Contains(body, "todo-web") {
		t.Fatalf("page: %d %s", code, body)
	}
	code, _, body = browserDo(t, "GET", page+"/santokit-dev.json", nil, "")
	var cfg struct{ BridgeURL, Project, Env, TokenURL string }
	if code != 200 || json.Unmarshal([]byte(body), &cfg) != nil || cfg.BridgeURL != d.bridge || cfg.TokenURL != tokenURL || cfg.Project != "dev" {
		t.Fatalf("config: %d %s (bridge %s, tokens %s)", code, body, d.bridge, tokenURL)
	}
	if code, _, _ := browserDo(t, "GET", page+"/.santokit/master.key", nil, ""); code == 200 {
		t.Fatal("a dot file was served")
	}

	// The page signs in as alice and reads her notes, from its origin.
	code, h, body := browserDo(t, "POST", tokenURL, map[string]string{"Origin": page, "Content-Type": "application/json"}, `{"sub":"alice"}`)
	var tok struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expiresIn"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.Token == "" || h.Get("Access-Control-Allow-Origin") != page {
		t.Fatalf("token: %d %v %s", code, h, body)
	}
	code, h, body = browserDo(t, "POST", d.bridge+"/call", map[string]string{"Origin": page, "Content-Type": "application/json",
		"Authorization": "Bearer " + tok.Token, "X-Santokit-Project": "dev", "X-Santokit-Env": "dev"}, `{"path":"db/main/notes/select"}`)
	if code != 200 || h.Get("Access-Control-Allow-Origin") != page || !strings.Contains(body, `"author":"alice"`) || strings.Contains(body, `"author":"bob"`) {
		t.Fatalf("alice's notes: %d %v %s", code, h, body)
	}
	pre := map[string]string{"Origin": page, "Access-Control-Request-Method": "POST"}
	if code, _, _ := browserDo(t, "OPTIONS", d.bridge+"/call", pre, ""); code != 204 {
		t.Fatalf("Bridge preflight from the page: %d", code)
	}
	pre["Origin"] = "http://127.0.0.1:1"
	if code, _, _ := browserDo(t, "OPTIONS", d.bridge+"/call", pre, ""); code != 403 {
		t.Fatalf("Bridge preflight from another origin: %d", code)
	}
}
