//go:build worker

package conformance

// The Worker's own behaviour beyond the cases (SPEC §8.1, §16, §7.3), in
// workerd with a real Hub: bundle revalidation (a new release and a
// revoked key within 3 s), the Hub down (last good bundle until max-stale,
// then 503, then back), end-user tokens of every allowed algorithm and the
// forged ones (answered exactly as the Bridge answers them), a SQLite
// connection (503 naming the limit), and CORS (SPEC §4.6).

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/core/hubapi"
)

const selectItems = `{"path":"db/main/items/select","params":{"limit":1}}`

// answer posts body to base's /call and returns the status and error code.
func answer(t *testing.T, base string, headers map[string]string, body string) (int, string, string) {
	t.Helper()
	s := &stack{bridge: base}
	status, _, raw, err := s.post(headers, []byte(body))
	if err != nil {
		t.Fatalf("POST /call: %v", err)
	}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &env)
	return status, env.Error.Code, env.Error.Message
}

// within polls until the call answers want, and fails after limit.
func within(t *testing.T, limit time.Duration, base string, headers map[string]string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		status, code, msg := answer(t, base, headers, selectItems)
		if status == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("still %d %s (%s) after %s, want %d", status, code, msg, limit, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWorkerBundles(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, nil)
	key := func(k string) map[string]string { return map[string]string{"X-Santokit-Api-Key": k} }
	// hub is st.hub failing the subtest that uses it, not the parent.
	hub := func(t *testing.T) *hubClient { h := *st.hub; h.t = t; return &h }

	t.Run("a new release is served within 3s", func(t *testing.T) {
		within(t, 5*time.Second, worker, key(st.keys["other"]), 200)
		envPath := "/v1/projects/" + project + "/envs/other"
		hub(t).do("PUT", envPath+"/permissions", "application/yaml", "version: 1\ntables:\n  _default:\n    select: [admin]\n", nil, 200, 201)
		hub(t).do("POST", envPath+"/releases", "", hubapi.CreateRelease{Ref: "admins-only"}, nil, 200, 201)
		took := within(t, 3*time.Second, worker, key(st.keys["other"]), 403)
		t.Logf("the new release was served after %s", took.Round(time.Millisecond))
	})

	t.Run("a revoked key is refused within 3s", func(t *testing.T) {
		var k hubapi.CreatedAPIKey
		envPath := "/v1/projects/" + project + "/envs/dev"
		hub(t).do("POST", envPath+"/apikeys", "", hubapi.CreateAPIKey{Name: "short-lived", Roles: []string{"reader"}}, &k, 200, 201)
		within(t, 5*time.Second, worker, key(k.Key), 200)
		hub(t).do("DELETE", envPath+"/apikeys/"+k.KeyID, "", nil, nil, 200, 204)
		took := within(t, 3*time.Second, worker, key(k.Key), 401)
		t.Logf("the revocation was served after %s", took.Round(time.Millisecond))
	})

	t.Run("the Hub down: the last good bundle until max-stale, then 503", func(t *testing.T) {
		// The Hub behind a proxy that can drop every connection.
		hubURL, err := url.Parse(st.hub.base)
		if err != nil {
			t.Fatal(err)
		}
		var down atomic.Bool
		rp := httputil.NewSingleHostReverseProxy(hubURL)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(proxy.Close)
		stale := startWorkerHub(t, st, proxy.URL, workerOptions{"STK_BUNDLE_MAX_STALE": "3s", "STK_BUNDLE_REVALIDATE": "500ms"})
		reader := key(st.keys["reader"])
		within(t, 5*time.Second, stale, reader, 200)
		down.Store(true)
		wentDown := time.Now()
		if status, code, msg := answer(t, stale, reader, selectItems); status != 200 {
			t.Fatalf("right after the Hub went down: %d %s (%s), want 200 from the cached bundle", status, code, msg)
		}
		time.Sleep(time.Second)
		if status, code, msg := answer(t, stale, reader, selectItems); status != 200 {
			t.Fatalf("1s after the Hub went down: %d %s (%s), want 200 from the cached bundle", status, code, msg)
		}
		readyz := func() int {
			res, err := client.Get(stale + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if s := readyz(); s != 200 {
			t.Errorf("/readyz with the Hub down and the bundle fresh: %d, want 200", s)
		}
		within(t, 4*time.Second, stale, reader, 503)
		if s := readyz(); s != 503 {
			t.Errorf("/readyz with the Hub down and the bundle stale: %d, want 503", s)
		}
		// Max-stale counts from the last 200 or 304, which came at most one
		// revalidation period (500ms) and a round trip before the Hub went
		// down: a 503 earlier than 3s − 0.5s − 0.5s of slack is too early.
		if d := time.Since(wentDown); d < 2*time.Second {
			t.Errorf("503 after %s: the bundle was refused before max-stale (3s)", d)
		}
		if status, code, msg := answer(t, stale, reader, selectItems); code != "SERVICE_UNAVAILABLE" || !strings.Contains(msg, "too stale") {
			t.Errorf("stale: %d %s %q, want SERVICE_UNAVAILABLE naming the stale configuration", status, code, msg)
		}
		down.Store(false)
		within(t, 3*time.Second, stale, reader, 200)
	})
}

// TestWorkerTokens sends the same end-user tokens to the Bridge and the
// Worker: both must answer alike — every allowed algorithm verifies, and
// forged, unsigned, HMAC and tampered tokens are 401 with the same message.
func TestWorkerTokens(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, nil)
	iss := st.issuers.trusted
	mint := func(opts ...devissuer.MintOption) string {
		tok, err := iss.Mint("alice", []string{"reader"}, nil, 10*time.Minute, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint()
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	header := func(alg string) string {
		var h map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		_ = json.Unmarshal(raw, &h)
		h["alg"] = alg
		out, _ := json.Marshal(h)
		return b64(out)
	}
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	claims["sub"] = "mallory"
	tampered, _ := json.Marshal(claims)

	cases := []struct {
		name, token string
		status      int
	}{
		{"the issuer's default key", good, 200},
		{"alg none", header("none") + "." + parts[1] + ".", 401},
		{"alg HS256", header("HS256") + "." + parts[1] + "." + parts[2], 401},
		{"a payload changed after signing", parts[0] + "." + b64(tampered) + "." + parts[2], 401},
		{"a signature from another issuer's key", parts[0] + "." + parts[1] + "." + strings.Split(func() string {
			tok, err := st.issuers.untrusted.Mint("alice", nil, nil, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}(), ".")[2], 401},
		{"not a JWT", "not-a-token", 401},
		{"expired", mint(devissuer.WithExpiry(time.Now().Add(-time.Hour))), 401},
	}
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		if _, err := iss.Rotate(alg); err != nil {
			t.Fatalf("rotate %s: %v", alg, err)
		}
		cases = append(cases, struct {
			name, token string
			status      int
		}{"signed " + alg, mint(devissuer.WithAlg(alg)), 200})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Authorization": "Bearer " + c.token, "X-Santokit-Project": project, "X-Santokit-Env": "dev"}
			bs, bcode, bmsg := answer(t, st.bridge, h, selectItems)
			ws, wcode, wmsg := answer(t, worker, h, selectItems)
			if bs != c.status {
				t.Errorf("Bridge: %d %s %q, want %d", bs, bcode, bmsg, c.status)
			}
			if ws != bs || wcode != bcode || wmsg != bmsg {
				t.Errorf("Worker: %d %s %q; the Bridge: %d %s %q", ws, wcode, wmsg, bs, bcode, bmsg)
			}
		})
	}
}

// TestWorkerSQLite: a SQLite connection is answered 503 naming the limit.
func TestWorkerSQLite(t *testing.T) {
	st := setup(t, "sqlite")
	worker := startWorker(t, st, nil)
	status, code, msg := answer(t, worker, map[string]string{"X-Santokit-Api-Key": st.keys["reader"]}, selectItems)
	if status != 503 || code != "SERVICE_UNAVAILABLE" || !strings.Contains(msg, "sqlite") || !strings.Contains(msg, "Workers runtime") {
		t.Errorf("got %d %s %q, want 503 naming sqlite and the Workers runtime", status, code, msg)
	}
}

// TestWorkerCORS checks §4.6's CORS rules on the Worker.
func TestWorkerCORS(t *testing.T) {
	st := setup(t, "postgres")
	// The runner gives the Bridge (and so the Worker) STK_CORS_ORIGINS for
	// cors.json; "plain" is a Worker without it.
	plain := startWorker(t, st, workerOptions{"STK_CORS_ORIGINS": ""})
	cors := startWorker(t, st, workerOptions{"STK_CORS_ORIGINS": "https://app.example, https://admin.example"})
	do := func(base, method, origin string, extra map[string]string) *http.Response {
		t.Helper()
		var body *strings.Reader
		if method == "POST" {
			body = strings.NewReader(selectItems)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, base+"/call", body)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-santokit-api-key"}
	reader := map[string]string{"X-Santokit-Api-Key": st.keys["reader"]}

	res := do(cors, "OPTIONS", "https://app.example", preflight)
	want := map[string]string{
		"Access-Control-Allow-Origin":  "https://app.example",
		"Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-Id, X-Santokit-Api-Key, X-Santokit-Env, X-Santokit-Project",
		"Access-Control-Max-Age":       "600",
		"Vary":                         "Origin",
	}
	if res.StatusCode != 204 {
		t.Errorf("preflight: %d, want 204", res.StatusCode)
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("preflight %s: %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight sets Allow-Credentials")
	}

	res = do(cors, "OPTIONS", "https://evil.example", preflight)
	if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed preflight: %d, Allow-Origin %q; want 403 without CORS headers", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}

	res = do(cors, "POST", "https://admin.example", reader)
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://admin.example" ||
		res.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After" || res.Header.Get("Vary") != "Origin" {
		t.Errorf("allowed POST: %d %v", res.StatusCode, res.Header)
	}
	res = do(cors, "POST", "https://admin.example", nil) // an error answer carries them too
	if res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != "https://admin.example" {
		t.Errorf("allowed POST without a key: %d, Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	res = do(cors, "POST", "https://evil.example", reader)
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed POST: %d, Allow-Origin %q; want 200 without CORS headers", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}

	// Unset: no CORS headers, and OPTIONS is a wrong method as on the Bridge.
	res = do(plain, "OPTIONS", "https://app.example", preflight)
	if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS without STK_CORS_ORIGINS: %d, Allow %q, Allow-Origin %q; want 405, POST, none",
			res.StatusCode, res.Header.Get("Allow"), res.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestWorkerRoutes: routes other than POST /call answer as the Bridge's
// do — status, code, message and Allow header — each with an X-Request-Id.
func TestWorkerRoutes(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, nil)
	type got struct {
		status        int
		code, message string
		allow         string
		body          string
	}
	get := func(base, method, path string) got {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s on %s: no X-Request-Id", method, path, base)
		}
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		g := got{status: res.StatusCode, allow: res.Header.Get("Allow")}
		if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
			g.code, g.message = env.Error.Code, env.Error.Message
		} else {
			g.body = string(raw)
		}
		return g
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/readyz"}, {"POST", "/healthz"}, {"DELETE", "/readyz"},
		{"GET", "/call"}, {"PUT", "/call"}, {"OPTIONS", "/call"}, {"GET", "/nope"}, {"POST", "/call/extra"},
	} {
		b, w := get(st.bridge, r.method, r.path), get(worker, r.method, r.path)
		if b != w {
			t.Errorf("%s %s: the Worker answers %+v, the Bridge %+v", r.method, r.path, w, b)
		}
	}
}
