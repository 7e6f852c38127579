package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// DNS rebinding through the real stk: a page of another site whose name
// was re-pointed at 127.0.0.1 reaches stk dev's servers as the same
// origin, but sends its own name as Host. stk dev's Hub (operator
// authentication disabled: whoever reaches it is an org owner) and its
// token endpoint answer it 403; the loopback names are served (#15
// review, decision 0029).
func TestDevRefusesReboundHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startStkDev(t, dir, "")
	out := d.stdout.String()
	hm, tm := hubRowRe.FindStringSubmatch(out), tokenRowRe.FindStringSubmatch(out)
	if hm == nil || tm == nil {
		t.Fatalf("no Hub or Tokens row in:\n%s", out)
	}
	hub, tokenURL := hm[1], tm[1]
	do := func(method, url, host, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if host != "" {
			req.Host = host
		}
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	port := func(u string) string { return u[strings.LastIndexByte(u, ':')+1:] }

	if code, body := do("GET", hub+"/v1/projects", "", ""); code != 200 {
		t.Fatalf("the Hub by its own URL: %d %s", code, body)
	}
	if code, body := do("GET", hub+"/v1/projects", "localhost:"+port(hub), ""); code != 200 {
		t.Fatalf("the Hub as localhost: %d %s", code, body)
	}
	code, body := do("POST", hub+"/v1/projects/dev/envs/dev/apikeys", "rebound.example:"+port(hub), `{"name":"stolen","roles":["admin"]}`)
	if code != 403 || !strings.Contains(body, `"FORBIDDEN"`) || strings.Contains(body, "stk_") {
		t.Fatalf("the Hub under a rebound name: %d %s", code, body)
	}
	tokenBase := strings.TrimSuffix(tokenURL, "/dev/token")
	if code, body := do("POST", tokenURL, "rebound.example:"+port(tokenBase), `{"sub":"alice"}`); code != 403 || strings.Contains(body, `"token"`) {
		t.Fatalf("the token endpoint under a rebound name: %d %s", code, body)
	}
}
