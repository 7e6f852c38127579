package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
)

// A page reads only the CORS-safelisted response headers unless others are
// exposed. Retry-After is not safelisted, so without it in
// Access-Control-Expose-Headers @santokit/client in a browser cannot honour
// a 429's (STK_RATE_LIMIT) or a 503's Retry-After (SPEC §13, §4.6; #15
// review).
func TestRetryAfterIsExposed(t *testing.T) {
	p, err := Parse("http://app.example.test")
	if err != nil {
		t.Fatal(err)
	}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httperr.Write(w, "req_1", apierr.New(apierr.TooManyRequests, "rate limit exceeded").WithHeader("Retry-After", "2"))
	})
	req := httptest.NewRequest("POST", "/call", strings.NewReader(`{}`))
	req.Header.Set("Origin", "http://app.example.test")
	rec := httptest.NewRecorder()
	p.Wrap("/call", inner, nil).ServeHTTP(rec, req)
	exposed := map[string]bool{}
	for _, h := range strings.Split(rec.Header().Get("Access-Control-Expose-Headers"), ",") {
		exposed[strings.ToLower(strings.TrimSpace(h))] = true
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" || !exposed["retry-after"] || !exposed["x-request-id"] {
		t.Fatalf("%d, headers %v: want Retry-After and X-Request-Id exposed", rec.Code, rec.Header())
	}
}
