package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// send makes one request and returns the status, headers and body.
func send(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if h := headers["Host"]; h != "" {
		req.Host = h
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func preflightFrom(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
}

// stk dev --web: the page's files on loopback (never dot files: the
// project's .santokit/ holds keys), its config document, the token
// endpoint a page signs in with, and CORS for the page's origin on the
// token endpoint and the real Bridge.
func TestDevWeb(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>todos</h1>"), 0o644))
	must(os.WriteFile(filepath.Join(dir, ".env"), []byte("SECRET=1"), 0o600))
	outside := filepath.Join(t.TempDir(), "outside.txt")
	must(os.WriteFile(outside, []byte("outside"), 0o644))
	must(os.Symlink(outside, filepath.Join(dir, "link.txt")))

	// The web directory is the project directory itself: the worst case
	// for .santokit/.
	r := start(t, Options{Dir: dir, Web: dir, WebAddr: "127.0.0.1:0", newBridge: realBridge})
	info := r.info
	if !strings.HasPrefix(info.WebURL, "http://127.0.0.1:") || info.TokenURL != info.IssuerURL+TokenPath {
		t.Fatalf("web %q, token %q", info.WebURL, info.TokenURL)
	}
	page := info.WebURL
	localhost := "http://localhost:" + page[strings.LastIndexByte(page, ':')+1:]

	t.Run("files", func(t *testing.T) {
		if code, _, body := send(t, "GET", page+"/", nil, ""); code != 200 || !strings.Contains(body, "todos") {
			t.Fatalf("index: %d %s", code, body)
		}
		code, h, body := send(t, "GET", page+WebConfigPath, nil, "")
		var cfg WebConfig
		if code != 200 || json.Unmarshal([]byte(body), &cfg) != nil || h.Get("Content-Type") != "application/json" {
			t.Fatalf("config: %d %s", code, body)
		}
		if cfg != (WebConfig{BridgeURL: info.BridgeURL, Project: Project, Env: Env, TokenURL: info.TokenURL, IssuerURL: info.IssuerURL}) {
			t.Fatalf("config %+v, info %+v", cfg, info)
		}
		for _, p := range []string{"/.env", "/.santokit/master.key", "/.santokit/issuer.keys", "/.santokit/", "/%2esantokit/bridge.token", "/link.txt"} {
			code, _, body := send(t, "GET", page+p, nil, "")
			if code == 200 || strings.Contains(body, "SECRET") || strings.Contains(body, "outside") || strings.Contains(body, "PRIVATE KEY") {
				t.Errorf("%s served: %d %s", p, code, body)
			}
		}
		if code, h, _ := send(t, "POST", page+"/", nil, ""); code != 405 || h.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST: %d %v", code, h)
		}
		// DNS rebinding: another site's name pointed at 127.0.0.1 is not
		// served.
		if code, _, body := send(t, "GET", page+"/", map[string]string{"Host": "evil.example:80"}, ""); code != 403 || strings.Contains(body, "todos") {
			t.Errorf("rebound Host: %d %s", code, body)
		}
		if code, _, _ := send(t, "GET", page+"/", map[string]string{"Host": "localhost"}, ""); code != 200 {
			t.Errorf("Host localhost: %d", code)
		}
	})

	t.Run("token endpoint", func(t *testing.T) {
		for _, o := range []string{page, localhost} {
			code, h, body := send(t, "OPTIONS", info.TokenURL, preflightFrom(o), "")
			if code != 204 || h.Get("Access-Control-Allow-Origin") != o || h.Get("Access-Control-Allow-Methods") != "POST" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
				t.Fatalf("preflight from %s: %d %v %s", o, code, h, body)
			}
		}
		code, h, body := send(t, "OPTIONS", info.TokenURL, preflightFrom("http://evil.example"), "")
		if code != 403 || h.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(body, "FORBIDDEN") {
			t.Fatalf("preflight from another origin: %d %v %s", code, h, body)
		}

		code, h, body = send(t, "POST", info.TokenURL, map[string]string{"Origin": page, "Content-Type": "application/json"}, `{"sub":"bob","roles":["reader"]}`)
		var tok TokenResponse
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.Token == "" || tok.ExpiresIn != 3600 ||
			tok.Sub != "bob" || !slices.Equal(tok.Roles, []string{"reader"}) || tok.Issuer != info.IssuerURL {
			t.Fatalf("token: %d %s", code, body)
		}
		if h.Get("Access-Control-Allow-Origin") != page || h.Get("X-Request-Id") == "" {
			t.Errorf("token answer headers %v", h)
		}
		// The token is bob's on the Bridge, from the page's origin.
		code, h, body = send(t, "POST", info.BridgeURL+"/call", merge(bearer(tok.Token), map[string]string{"Origin": page, "Content-Type": "application/json"}),
			`{"path":"db/main/notes/select","params":{"orderBy":{"id":"asc"}}}`)
		if code != 200 || strings.Join(authors(t, body), ",") != "bob" || h.Get("Access-Control-Allow-Origin") != page {
			t.Fatalf("bob's select: %d %v %s", code, h, body)
		}

		code, _, body = send(t, "POST", info.TokenURL, map[string]string{"Host": "evil.example", "Content-Type": "application/json"}, `{"sub":"bob"}`)
		if code != 403 || strings.Contains(body, `"token"`) || !strings.Contains(body, "loopback") {
			t.Fatalf("rebound Host: %d %s", code, body)
		}
		for _, c := range []struct {
			method, body string
			status       int
			says         string
		}{
			{"POST", `{"sub":"a"}`, 400, "Content-Type"}, // text/plain: a cross-site POST without preflight
			{"POST", `{}`, 400, "sub:"},
			{"POST", `{"sub":"  "}`, 400, "sub:"},
			{"POST", `{"sub":"a","roles":[""]}`, 400, "role:"},
			{"POST", `{"sub":"a","claims":{"exp":1}}`, 400, "claim exp"},
			{"POST", `{"sub":"a","admin":true}`, 400, `unknown field \"admin\"`},
			{"POST", `{"sub":1}`, 400, "field sub"},
			{"POST", `{"sub":`, 400, "malformed JSON"},
			{"POST", `{"sub":"a"}{"sub":"b"}`, 400, "one JSON object"},
			{"POST", `{"sub":"` + strings.Repeat("a", 20000) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
			{"GET", ``, 405, "METHOD_NOT_ALLOWED"},
		} {
			hdr := map[string]string{"Origin": page, "Content-Type": "application/json; charset=utf-8"}
			if c.says == "Content-Type" {
				hdr["Content-Type"] = "text/plain"
			}
			code, h, body := send(t, c.method, info.TokenURL, hdr, c.body)
			if code != c.status || !strings.Contains(body, c.says) || !strings.Contains(body, `"requestId"`) {
				t.Errorf("%s %.40s: %d %s", c.method, c.body, code, body)
			}
			if h.Get("Access-Control-Allow-Origin") != page {
				t.Errorf("%s %.40s: an error without CORS headers: the page could not read it", c.method, c.body)
			}
		}
	})

	t.Run("bridge CORS", func(t *testing.T) {
		code, h, _ := send(t, "OPTIONS", info.BridgeURL+"/call", preflightFrom(page), "")
		if code != 204 || h.Get("Access-Control-Allow-Origin") != page {
			t.Fatalf("bridge preflight: %d %v", code, h)
		}
		if code, _, _ := send(t, "OPTIONS", info.BridgeURL+"/call", preflightFrom("http://evil.example"), ""); code != 403 {
			t.Fatalf("bridge preflight from another origin: %d", code)
		}
	})
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Without --web the token endpoint still answers (curl, server-side
// tests), but no browser origin is allowed.
func TestDevTokenEndpointWithoutWeb(t *testing.T) {
	r := start(t, Options{Dir: t.TempDir()})
	if r.info.WebURL != "" {
		t.Fatalf("web %q without --web", r.info.WebURL)
	}
	code, h, body := send(t, "POST", r.info.TokenURL, map[string]string{"Origin": "http://127.0.0.1:4002", "Content-Type": "application/json"}, `{"sub":"carol"}`)
	if code != 200 || !strings.Contains(body, `"token"`) || h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("%d %v %s", code, h, body)
	}
	if code, _, _ := send(t, "OPTIONS", r.info.TokenURL, preflightFrom("http://127.0.0.1:4002"), ""); code != 405 {
		t.Fatalf("preflight with CORS off: %d", code)
	}
}

// --web and --web-addr mistakes are usage errors naming the flag.
func TestDevWebUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		web, addr, says string
	}{
		{filepath.Join(dir, "nope"), "127.0.0.1:0", "no such directory"},
		{file, "127.0.0.1:0", "not a directory"},
		{dir, "0.0.0.0:0", "--web-addr \"0.0.0.0:0\": must be a loopback address"},
		{dir, "nohost", "--web-addr"},
	} {
		err := Run(context.Background(), Options{Dir: t.TempDir(), Web: c.web, WebAddr: c.addr, HubAddr: "127.0.0.1:0",
			BridgeAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", Getenv: func(string) string { return "" }, newBridge: newFakeBridge})
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("--web %s --web-addr %s: %v", c.web, c.addr, err)
		}
	}
}

func TestCORSOrigins(t *testing.T) {
	for _, c := range []struct {
		web, env string
		want     []string
		err      string
	}{
		{"", "", nil, ""},
		{"http://127.0.0.1:4002", "", []string{"http://127.0.0.1:4002", "http://localhost:4002"}, ""},
		{"http://127.0.0.1:4002", "https://app.example.com", []string{"https://app.example.com", "http://127.0.0.1:4002", "http://localhost:4002"}, ""},
		{"http://127.0.0.1:4002", "*", []string{"*"}, ""},
		{"", "https://app.example.com/", nil, "STK_CORS_ORIGINS"},
	} {
		p, err := corsOrigins(c.web, c.env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: %v", c, err)
			}
			continue
		}
		if err != nil || !slices.Equal(p.Origins(), c.want) {
			t.Errorf("%+v: %v %v", c, p.Origins(), err)
		}
	}
}
