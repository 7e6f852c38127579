package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// GET /metrics (SPEC §12): requests by route pattern and status with their
// latency, the store's pool, long polls waiting and failed logins, each
// moving with what the Hub does; raw paths never become labels.
func TestHubMetrics(t *testing.T) {
	h := startHub(t, "sqlite")
	scrape := func() string {
		t.Helper()
		r := h.as("").do("GET", "/metrics", nil)
		if r.status != 200 {
			t.Fatalf("/metrics: %d %s", r.status, r.body)
		}
		return string(r.body)
	}
	value := func(body, series string) float64 {
		t.Helper()
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return f
			}
		}
		return -1
	}

	before := scrape()
	for _, series := range []string{`stk_hub_login_failures_total{reason="bad_credentials"}`, `stk_hub_login_failures_total{reason="rate_limited"}`,
		`stk_hub_bundle_waiters`, `stk_hub_store_connections{state="in_use"}`, `stk_hub_store_connections{state="idle"}`,
		`stk_hub_store_max_connections`, `stk_hub_store_waits_total`} {
		if value(before, series) < 0 {
			t.Errorf("series %s missing:\n%s", series, before)
		}
	}

	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	for _, p := range []string{"demo", "random-1", "random-2"} {
		h.do("GET", "/v1/projects/"+p, nil)
	}
	h.expect(h.do("GET", "/no/such/route/x1", nil), 404, apierr.NotFound, nil)
	h.expect(h.as("").do("POST", "/v1/auth/login", hubapi.Login{Email: adminEmail, Password: "wrong"}), 401, apierr.Unauthorized, nil)

	// Failed logins run into the limit (SPEC §7.1).
	limited := 0
	for range 15 {
		if r := h.as("").do("POST", "/v1/auth/login", hubapi.Login{Email: "nobody@example.com", Password: "wrong"}); r.status == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("15 failed logins were never limited")
	}

	// A Bridge's long poll waits: one waiter while it does.
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", h.url+"/internal/v1/envs/demo/dev/bundle?wait=2s", nil)
		req.Header.Set("Authorization", "Bearer "+bridgeToken)
		req.Header.Set("If-None-Match", `"`+strconv.FormatInt(h.revision(t, "dev"), 10)+`"`)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	deadline := time.Now().Add(2 * time.Second)
	for value(scrape(), "stk_hub_bundle_waiters") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("a waiting long poll is not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status := <-done; status != 304 {
		t.Fatalf("long poll: %d", status)
	}

	after := scrape()
	for series, want := range map[string]float64{
		`stk_hub_requests_total{route="POST /v1/projects",status="201"}`:                 1,
		`stk_hub_requests_total{route="GET /v1/projects/{p}",status="200"}`:              1,
		`stk_hub_requests_total{route="GET /v1/projects/{p}",status="404"}`:              2,
		`stk_hub_requests_total{route="unmatched",status="404"}`:                         1,
		`stk_hub_requests_total{route="POST /v1/auth/login",status="401"}`:               float64(16 - limited),
		`stk_hub_request_duration_seconds_count{route="POST /v1/projects",status="201"}`: 1,
		`stk_hub_login_failures_total{reason="bad_credentials"}`:                         float64(16 - limited),
		`stk_hub_login_failures_total{reason="rate_limited"}`:                            float64(limited),
		`stk_hub_requests_total{route="POST /v1/auth/login",status="429"}`:               float64(limited),
		`stk_hub_bundle_waiters`: 0,
	} {
		if got := value(after, series) - max(value(before, series), 0); got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	if v := value(after, `stk_hub_requests_total{route="GET /internal/v1/envs/{p}/{e}/bundle",status="304"}`); v != 1 {
		t.Errorf("long poll counted %v times", v)
	}
	for _, raw := range []string{"random-1", "/no/such", "x1"} {
		if strings.Contains(after, raw) {
			t.Errorf("a raw path (%s) became a label", raw)
		}
	}
	if value(after, `stk_hub_store_connections{state="idle"}`)+value(after, `stk_hub_store_connections{state="in_use"}`) < 1 {
		t.Error("the store pool shows no connection")
	}
}
