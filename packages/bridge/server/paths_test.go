package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// TestCleanedPathsAndStrictBodies: over real HTTP, a /call path that is
// not canonical is a 400 envelope naming the path to send — never
// ServeMux's redirect — and a body with a duplicate key, invalid UTF-8 or
// a lone surrogate is 400 naming where, before any credential is looked at
// (SPEC §3, §4.2 step 1; issue #11 items 4 and 5).
func TestCleanedPathsAndStrictBodies(t *testing.T) {
	s := newStack(t, nil)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, body string) reply {
		t.Helper()
		req, err := http.NewRequest(method, s.bridgeURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return reply{status: res.StatusCode, header: res.Header, body: b}
	}
	const body = `{"path":"db/main/items/select"}`
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               apierr.Code
		msg                string
	}{
		{"POST", "//call", body, 400, apierr.BadRequest, `send "/call"`},
		{"POST", "/x/../call", body, 400, apierr.BadRequest, `send "/call"`},
		{"POST", "/./call", body, 400, apierr.BadRequest, `send "/call"`},
		{"POST", "/call/.", body, 400, apierr.BadRequest, `send "/call"`},
		{"POST", "/%63all", body, 400, apierr.BadRequest, `escapes "%63"`},
		{"GET", "//readyz", "", 400, apierr.BadRequest, `send "/readyz"`},
		{"POST", "/call/", body, 404, apierr.NotFound, "no route POST /call/"},
		{"POST", "/call//", body, 400, apierr.BadRequest, `send "/call/"`},
		{"PUT", "/call", body, 405, apierr.MethodNotAllowed, "allowed: POST"},
		{"OPTIONS", "/call", "", 405, apierr.MethodNotAllowed, "allowed: POST"},

		{"POST", "/call", `{"path":"db/main/items/select","path":"db/main/items/delete"}`, 400, apierr.BadRequest, `duplicate key "path"`},
		{"POST", "/call", `{"path":"db/main/items/select","params":{"where":{"id":1,"id":2}}}`, 400, apierr.BadRequest, `duplicate key "id" in params.where`},
		{"POST", "/call", `{"path":"db/main/items/insert","params":{"data":[{"name":"a"},{"name":"\udc00"}]}}`, 400, apierr.BadRequest, `lone surrogate escape \udc00`},
		{"POST", "/call", "{\"path\":\"db/main/items/insert\",\"params\":{\"data\":{\"name\":\"\xfe\"}}}", 400, apierr.BadRequest, "invalid UTF-8 in a string in params.data.name"},
		{"POST", "/call", `{"Path":"db/main/items/select"}`, 400, apierr.BadRequest, `unknown field "Path"`},
		{"POST", "/call", body, 401, apierr.Unauthorized, "credential"},
	} {
		r := send(tc.method, tc.path, tc.body)
		if loc := r.header.Get("Location"); loc != "" {
			t.Errorf("%s %s: redirect to %q", tc.method, tc.path, loc)
		}
		if r.status != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
			continue
		}
		var b apierr.Body
		if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code != tc.code || !strings.Contains(b.Error.Message, tc.msg) {
			t.Errorf("%s %s %.60s: %s, want a %s envelope saying %q", tc.method, tc.path, tc.body, r.body, tc.code, tc.msg)
		}
		if id := r.header.Get("X-Request-Id"); id == "" || id != b.Error.RequestID {
			t.Errorf("%s %s: X-Request-Id %q, body's %q", tc.method, tc.path, id, b.Error.RequestID)
		}
	}
}
