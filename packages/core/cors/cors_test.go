package cors

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"*", []string{"*"}},
		{" * ", []string{"*"}},
		{"http://localhost:5173", []string{"http://localhost:5173"}},
		{"https://App.Example.com, http://127.0.0.1:8080", []string{"https://app.example.com", "http://127.0.0.1:8080"}},
		{"https://a.example,https://a.example", []string{"https://a.example"}},
		{"http://[::1]:3000", []string{"http://[::1]:3000"}},
		{"HTTPS://X.EXAMPLE:8443", []string{"https://x.example:8443"}},
	} {
		p, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := p.Origins(); !slices.Equal(got, tc.want) {
			t.Errorf("%q: origins %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, says string }{
		{"example.com", "http(s)://host"},
		{"localhost:3000", "http"},
		{"ftp://example.com", "http:// or https://"},
		{"https://example.com/", "trailing /"},
		{"https://example.com/app", "path"},
		{"https://example.com?x=1", "query"},
		{"https://example.com#top", "fragment"},
		{"https://user:pw@example.com", "user info"},
		{"https://*.example.com", "wildcards"},
		{"https://example.com:443", "default port"},
		{"http://example.com:80", "default port"},
		{"http://example.com:0", "1-65535"},
		{"http://example.com:99999", "1-65535"},
		{"https://a.example,,https://b.example", "empty entry"},
		{"https://a.example,", "empty entry"},
		{"*,https://a.example", "alone"},
		{"null", "http(s)://host"},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("%q accepted", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), "STK_CORS_ORIGINS") || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: error %q should name STK_CORS_ORIGINS and say %q", tc.in, err, tc.says)
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: error echoes a password: %v", tc.in, err)
		}
	}
}

// answer is what the wrapped handler did with one request.
type answer struct {
	status  int
	header  http.Header
	body    string
	reached bool // the inner handler ran
}

func serve(t *testing.T, p *Policy, method, path string, h map[string]string) answer {
	t.Helper()
	var a answer
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.reached = true
		// An error answer, as the Bridge gives for most calls.
		httperr.Write(w, "req_1", apierr.New(apierr.Unauthorized, "no credential"))
	})
	fail := func(w http.ResponseWriter, r *http.Request, err error) { httperr.Write(w, "req_1", err) }
	req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	p.Wrap("/call", inner, fail).ServeHTTP(rec, req)
	a.status, a.header, a.body = rec.Code, rec.Header(), rec.Body.String()
	return a
}

var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials", "Vary"}

func noCORS(t *testing.T, a answer) {
	t.Helper()
	for _, k := range corsHeaders {
		if v, ok := a.header[k]; ok {
			t.Errorf("header %s: %q, want none", k, v)
		}
	}
}

func wantHeaders(t *testing.T, a answer, want map[string]string) {
	t.Helper()
	for _, k := range corsHeaders {
		got := strings.Join(a.header.Values(k), ", ")
		if got != want[k] {
			t.Errorf("header %s: %q, want %q", k, got, want[k])
		}
	}
}

func preflight(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-santokit-env,x-santokit-project"}
}

func TestWrap(t *testing.T) {
	const app = "http://localhost:5173"
	list, err := Parse(app + ",https://app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	star, err := Parse("*")
	if err != nil {
		t.Fatal(err)
	}
	pre := func(allow string) map[string]string {
		return map[string]string{"Access-Control-Allow-Origin": allow, "Access-Control-Allow-Methods": "POST",
			"Access-Control-Allow-Headers": AllowHeaders, "Access-Control-Max-Age": "600", "Vary": "Origin"}
	}
	simple := func(allow string) map[string]string {
		return map[string]string{"Access-Control-Allow-Origin": allow, "Access-Control-Expose-Headers": "X-Request-Id, Retry-After", "Vary": "Origin"}
	}

	t.Run("preflight from an allowed origin is answered without the handler", func(t *testing.T) {
		a := serve(t, list, "OPTIONS", "/call", preflight(app))
		if a.status != 204 || a.reached || a.body != "" {
			t.Fatalf("status %d, reached %v, body %q", a.status, a.reached, a.body)
		}
		wantHeaders(t, a, pre(app))
	})
	t.Run("preflight under * answers *", func(t *testing.T) {
		a := serve(t, star, "OPTIONS", "/call", preflight("https://anything.example"))
		if a.status != 204 || a.reached {
			t.Fatalf("status %d, reached %v", a.status, a.reached)
		}
		wantHeaders(t, a, pre("*"))
	})
	t.Run("preflight from another origin is a 403 envelope with no CORS headers", func(t *testing.T) {
		a := serve(t, list, "OPTIONS", "/call", preflight("https://evil.example"))
		if a.status != 403 || a.reached {
			t.Fatalf("status %d, reached %v", a.status, a.reached)
		}
		var env struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(a.body), &env); err != nil || env.Error.Code != "FORBIDDEN" ||
			!strings.Contains(env.Error.Message, `origin "https://evil.example" is not allowed`) {
			t.Fatalf("body %s (%v)", a.body, err)
		}
		noCORS(t, a)
	})
	t.Run("origins compare exactly: scheme and port count", func(t *testing.T) {
		for _, o := range []string{"https://localhost:5173", "http://localhost:5174", "http://localhost", "null", "http://app.example.com"} {
			a := serve(t, list, "OPTIONS", "/call", preflight(o))
			if a.status != 403 {
				t.Errorf("%s: status %d", o, a.status)
			}
			noCORS(t, a)
		}
	})
	t.Run("a long hostile Origin is bounded in the message", func(t *testing.T) {
		a := serve(t, list, "OPTIONS", "/call", preflight("https://"+strings.Repeat("x", 5000)))
		if a.status != 403 || len(a.body) > 600 {
			t.Fatalf("status %d, body of %d bytes", a.status, len(a.body))
		}
	})
	t.Run("POST from an allowed origin: the handler runs and its error carries the headers", func(t *testing.T) {
		a := serve(t, list, "POST", "/call", map[string]string{"Origin": app})
		if a.status != 401 || !a.reached {
			t.Fatalf("status %d, reached %v", a.status, a.reached)
		}
		wantHeaders(t, a, simple(app))
	})
	t.Run("POST under * gets *", func(t *testing.T) {
		a := serve(t, star, "POST", "/call", map[string]string{"Origin": "https://anything.example"})
		wantHeaders(t, a, simple("*"))
	})
	t.Run("POST from another origin is served without CORS headers", func(t *testing.T) {
		a := serve(t, list, "POST", "/call", map[string]string{"Origin": "https://evil.example"})
		if a.status != 401 || !a.reached {
			t.Fatalf("status %d, reached %v", a.status, a.reached)
		}
		noCORS(t, a)
	})
	t.Run("no Origin: no CORS headers", func(t *testing.T) {
		a := serve(t, star, "POST", "/call", nil)
		if !a.reached {
			t.Fatal("not served")
		}
		noCORS(t, a)
	})
	t.Run("OPTIONS without Access-Control-Request-Method is not a preflight", func(t *testing.T) {
		a := serve(t, list, "OPTIONS", "/call", map[string]string{"Origin": app})
		if !a.reached {
			t.Fatal("not passed on")
		}
		wantHeaders(t, a, simple(app))
	})
	t.Run("other routes get no CORS", func(t *testing.T) {
		a := serve(t, star, "OPTIONS", "/healthz", preflight(app))
		if !a.reached {
			t.Fatal("not passed on")
		}
		noCORS(t, a)
	})
	t.Run("CORS off: nothing changes", func(t *testing.T) {
		var off *Policy
		for _, m := range []string{"OPTIONS", "POST"} {
			a := serve(t, off, m, "/call", preflight(app))
			if !a.reached {
				t.Fatalf("%s not passed on", m)
			}
			noCORS(t, a)
		}
	})
}
