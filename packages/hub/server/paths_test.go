package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// TestCleanedPaths: over real HTTP, a Hub path that is not canonical is a
// 400 envelope naming the path to send — never ServeMux's redirect, for a
// caller with or without a credential — and no route answers to another
// spelling of its path (SPEC §3, §15; issue #11 item 5). As on the
// Bridge, this syntax check comes before the credential's.
func TestCleanedPaths(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", map[string]string{"name": "x"}), 201, "", nil)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, token := range []string{h.token, ""} {
		for _, tc := range []struct {
			method, path string
			status       int
			code         apierr.Code
			msg          string
		}{
			{"GET", "//v1/projects/x", 400, apierr.BadRequest, `send "/v1/projects/x"`},
			{"GET", "/v1/projects//x", 400, apierr.BadRequest, `send "/v1/projects/x"`},
			{"GET", "/v1/projects/x/.", 400, apierr.BadRequest, `send "/v1/projects/x"`},
			{"GET", "//healthz", 400, apierr.BadRequest, `send "/healthz"`},
			{"POST", "//v1/auth/login", 400, apierr.BadRequest, `send "/v1/auth/login"`},
			{"GET", "/internal/../internal/v1/apikeys/key_x", 400, apierr.BadRequest, `send "/internal/v1/apikeys/key_x"`},
			{"GET", "/%761/projects/x", 400, apierr.BadRequest, `escapes "%76"`},
			{"GET", "/.well-known%2Fjwks.json", 400, apierr.BadRequest, `escapes "%2F"`},
			{"GET", "/healthz/", 404, apierr.NotFound, "no route"},
			{"GET", "/v1/projects/x/", 404, apierr.NotFound, "no route"},
		} {
			if token == "" && tc.status == 404 && strings.HasPrefix(tc.path, "/v1/") {
				tc.status, tc.code, tc.msg = 401, apierr.Unauthorized, "" // unknown /v1 routes: credential first
			}
			req, _ := http.NewRequest(tc.method, h.url+tc.path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := reply{res.StatusCode, res.Header, body}
			if r.status != tc.status {
				t.Errorf("%s %s (token %v): status %d, want %d: %s", tc.method, tc.path, token != "", r.status, tc.status, body)
				continue
			}
			if e := r.envelope(t); e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("%s %s: %s %q, want %s saying %q", tc.method, tc.path, e.Code, e.Message, tc.code, tc.msg)
			}
		}
	}
}
