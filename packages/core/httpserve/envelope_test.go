package httpserve

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/httperr"
)

// TestEnvelopeMuxOverHTTP sends raw request lines (which an http.Client
// would normalize) to Serve: a path that is not canonical is 400, an
// unknown route 404, a wrong method 405 — each a §3 envelope with
// X-Request-Id, never a redirect, and no route is served by a path that
// differs from its own (SPEC §3; issue #11 item 5).
func TestEnvelopeMuxOverHTTP(t *testing.T) {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_ok")
		_, _ = io.WriteString(w, `{"p":`+quote(r.PathValue("p"))+`}`)
	}
	mux.HandleFunc("POST /call", ok)
	mux.HandleFunc("GET /v1/projects/{p}", ok)
	mux.HandleFunc("GET /tree/", ok)
	mux.HandleFunc("GET /a/{x}/", ok)
	h := EnvelopeMux(mux, func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("X-Request-Id", "req_test") // the servers' edge sets it
		httperr.Write(w, "req_test", err)
	})
	addr := serve(t, h)

	for _, tc := range []struct {
		request string // request line
		status  int
		code    string // "" for a success
		msg     string // a substring of the message or body
	}{
		{"GET //v1/projects/x", 400, "BAD_REQUEST", `send \"/v1/projects/x\"`},
		{"POST //call", 400, "BAD_REQUEST", `send \"/call\"`},
		{"POST /x/../call", 400, "BAD_REQUEST", `send \"/call\"`},
		{"POST /./call", 400, "BAD_REQUEST", `send \"/call\"`},
		{"POST /call/.", 400, "BAD_REQUEST", `send \"/call\"`},
		{"POST /call/..", 400, "BAD_REQUEST", `send \"/\"`},
		{"GET /v1//projects/x", 400, "BAD_REQUEST", "not canonical"},
		{"GET http://example.com//v1/projects/x", 400, "BAD_REQUEST", "not canonical"},
		{"POST /%63all", 400, "BAD_REQUEST", `escapes \"%63\"`},
		{"POST /%2Fcall", 400, "BAD_REQUEST", `escapes \"%2F\"`},
		{"GET /v1/projects/a%2fb", 400, "BAD_REQUEST", `escapes \"%2f\"`},
		{"GET /v1/projects/%2e%2e", 400, "BAD_REQUEST", `escapes \"%2e\"`},
		{"GET /v1/proj%65cts/x", 400, "BAD_REQUEST", `escapes \"%65\"`},
		{"OPTIONS *", 400, "BAD_REQUEST", "not a path"},
		{"CONNECT 127.0.0.1:80", 400, "BAD_REQUEST", "not a path"},
		{"POST /call/", 404, "NOT_FOUND", "no route POST /call/"},
		{"GET /tree", 404, "NOT_FOUND", "no route GET /tree"},
		{"GET /nope", 404, "NOT_FOUND", "no route"},
		{"GET /a/b", 404, "NOT_FOUND", "no route GET /a/b"},
		{"GET /a/b/", 200, "", `{"p":""}`},
		{"GET /a/b/c", 200, "", `{"p":""}`},
		{"GET /tree/x/y", 200, "", `{"p":""}`},
		{"DELETE /call", 405, "METHOD_NOT_ALLOWED", "allowed: POST"},
		{"OPTIONS /call", 405, "METHOD_NOT_ALLOWED", "allowed: POST"},
		{"CONNECT /call", 405, "METHOD_NOT_ALLOWED", "allowed: POST"},
		{"BREW /call", 405, "METHOD_NOT_ALLOWED", "allowed: POST"},

		{"POST /call", 200, "", `{"p":""}`},
		{"GET /tree/", 200, "", `{"p":""}`},
		{"GET /v1/projects/caf%C3%A9%20x", 200, "", `{"p":"café x"}`}, // escapes that are needed
	} {
		res, body := raw(t, addr, tc.request)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.request, res.StatusCode, tc.status, body)
			continue
		}
		if loc := res.Header.Get("Location"); loc != "" {
			t.Errorf("%s: redirects to %q", tc.request, loc)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", tc.request)
		}
		if !strings.Contains(body, tc.msg) {
			t.Errorf("%s: body %s, want %q in it", tc.request, body, tc.msg)
		}
		if tc.code == "" {
			continue
		}
		var env struct {
			Error struct{ Code, Message, RequestID string }
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Code != tc.code || env.Error.RequestID == "" {
			t.Errorf("%s: body %s, want a %s envelope", tc.request, body, tc.code)
		}
		if tc.status == 405 && res.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.request)
		}
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// serve runs Serve with h on a loopback port until the test ends.
func serve(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, h, Options{Log: slog.New(slog.DiscardHandler), Grace: time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// raw sends one request line (with Host, an empty POST body) on a new
// connection and reads the answer.
func raw(t *testing.T, addr, requestLine string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, requestLine+" HTTP/1.1\r\nHost: "+addr+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
