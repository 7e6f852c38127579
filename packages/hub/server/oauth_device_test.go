package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testoidc"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// The device flow (RFC 8628, decision 0026) at the HTTP level: codes,
// the Hub's page, polling with authorization_pending and slow_down,
// single use, expiry and denial.

func withDevice(interval time.Duration) func(*Config) {
	return func(c *Config) { c.DeviceInterval = interval }
}

func deviceCode(t *testing.T, h *hub, provider string) hubapi.DeviceCode {
	t.Helper()
	var dc hubapi.DeviceCode
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: provider}), 200, "", &dc)
	return dc
}

// poll asks for tokens; it answers the status and the envelope's details.
func poll(t *testing.T, h *hub, dc hubapi.DeviceCode) (reply, map[string]any) {
	t.Helper()
	r := h.as("").do("POST", "/v1/auth/device/token", hubapi.DeviceToken{DeviceCode: dc.DeviceCode})
	if r.status == 200 {
		return r, nil
	}
	return r, r.envelope(t).Details
}

func wantPoll(t *testing.T, h *hub, dc hubapi.DeviceCode, status int, reason string) map[string]any {
	t.Helper()
	r, d := poll(t, h, dc)
	if r.status != status || d["reason"] != reason {
		t.Fatalf("poll: %d %s, want %d %s", r.status, r.body, status, reason)
	}
	return d
}

// postForm submits the device page's form.
func postForm(t *testing.T, h *hub, code string) (*http.Response, string) {
	t.Helper()
	res, err := manual.PostForm(h.url+"/v1/auth/device", url.Values{"user_code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	return res, readBody(t, res)
}

// approve types the user code on the Hub's page and follows the provider
// back to the Hub's callback page; it returns that page.
func approve(t *testing.T, h *hub, code string) (*http.Response, string) {
	t.Helper()
	res, body := postForm(t, h, code)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("device form: %d %s", res.StatusCode, body)
	}
	cb := follow(t, res.Header.Get("Location"))
	return get(t, cb.String())
}

// rewind makes the previous poll of every device code older than any
// interval, as waiting would.
func rewind(t *testing.T, h *hub) { age(t, h, "device_codes", "last_poll_at") }

func TestOAuthDeviceFlow(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov), withDevice(2*time.Second))
	prov.SetUser(testoidc.User{Subject: "d1", Email: adminEmail, EmailVerified: true})

	// Several providers: the request must name one.
	r := h.as("").do("POST", "/v1/auth/device/code", map[string]string{})
	h.expect(r, 400, apierr.BadRequest, nil)
	if probs, _ := json.Marshal(r.envelope(t).Details["problems"]); !strings.Contains(string(probs), `"path":"provider"`) {
		t.Fatalf("problems %s", probs)
	}
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: "nope"}), 404, apierr.NotFound, nil)

	dc := deviceCode(t, h, "corp")
	if !strings.HasPrefix(dc.DeviceCode, "stkdc_") || len(dc.UserCode) != 9 || dc.UserCode[4] != '-' ||
		strings.Trim(strings.ReplaceAll(dc.UserCode, "-", ""), "BCDFGHJKLMNPQRSTVWXZ") != "" ||
		dc.VerificationURI != h.url+"/v1/auth/device" || dc.VerificationURIComplete != dc.VerificationURI+"?user_code="+dc.UserCode ||
		dc.ExpiresIn != 600 || dc.Interval != 2 {
		t.Fatalf("device code %+v", dc)
	}
	// Pending, then too fast: slow_down adds 5 s, with Retry-After.
	wantPoll(t, h, dc, 400, hubapi.DeviceAuthorizationPending)
	r, d := poll(t, h, dc)
	if r.status != 429 || d["reason"] != hubapi.DeviceSlowDown || d["interval"] != float64(7) || r.header.Get("Retry-After") != "7" {
		t.Fatalf("fast poll: %d %v %q", r.status, d, r.header.Get("Retry-After"))
	}
	rewind(t, h)
	wantPoll(t, h, dc, 400, hubapi.DeviceAuthorizationPending)

	// The page: prefilled from the complete URI, with a labelled field.
	res, body := get(t, dc.VerificationURIComplete)
	if res.StatusCode != 200 || !strings.Contains(body, `value="`+dc.UserCode+`"`) || !strings.Contains(body, `<label for="user_code"`) ||
		!strings.Contains(body, `<html lang="en">`) || strings.Contains(body, "<script") {
		t.Fatalf("device page %d: %s", res.StatusCode, body)
	}
	// The form's post is redirected to the provider: form-action names
	// its origin (corp and gh share it here).
	checkPageHeaders(t, res, prov.URL())
	// A wrong code re-renders the form with a 400.
	res, body = postForm(t, h, "BBBB-BBBB")
	if res.StatusCode != 400 || !strings.Contains(body, "unknown or expired code") || !strings.Contains(body, `value="BBBB-BBBB"`) {
		t.Fatalf("wrong code: %d %s", res.StatusCode, body)
	}
	// The right code, lower case without the dash: the provider flow runs
	// and the Hub shows its success page.
	res, body = approve(t, h, strings.ToLower(strings.ReplaceAll(dc.UserCode, "-", "")))
	if res.StatusCode != 200 || !strings.Contains(body, "You are logged in to the Santokit Hub") {
		t.Fatalf("approval page %d: %s", res.StatusCode, body)
	}
	checkPageHeaders(t, res)
	// The code is no longer pending: the page refuses it.
	if res, _ := postForm(t, h, dc.UserCode); res.StatusCode != 400 {
		t.Fatalf("approved code entered again: %d", res.StatusCode)
	}
	rewind(t, h)
	var tok hubapi.Tokens
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/token", hubapi.DeviceToken{DeviceCode: dc.DeviceCode}), 200, "", &tok)
	if who := whoami(t, h, tok.AccessToken); who.Email != adminEmail {
		t.Fatalf("device login as %s", who.Email)
	}
	// Single use.
	rewind(t, h)
	wantPoll(t, h, dc, 401, hubapi.DeviceExpiredToken)

	// Denial: an unknown email; the page says why, the poll too.
	prov.SetUser(testoidc.User{Subject: "d2", Email: "stranger@unknown.example", EmailVerified: true})
	dc = deviceCode(t, h, "corp")
	res, body = approve(t, h, dc.UserCode)
	if res.StatusCode != 403 || !strings.Contains(body, "stk user create") {
		t.Fatalf("refusal page %d: %s", res.StatusCode, body)
	}
	d = wantPoll(t, h, dc, 403, hubapi.DeviceAccessDenied)
	if d["result"] != hubapi.ResultUnknownEmail {
		t.Fatalf("denied details %v", d)
	}

	// Expiry.
	dc = deviceCode(t, h, "corp")
	age(t, h, "device_codes", "expires_at")
	wantPoll(t, h, dc, 401, hubapi.DeviceExpiredToken)
	if res, _ := postForm(t, h, dc.UserCode); res.StatusCode != 400 {
		t.Fatalf("expired code accepted by the page: %d", res.StatusCode)
	}
	// Unknown codes.
	wantPoll(t, h, hubapi.DeviceCode{DeviceCode: "stkdc_nothing"}, 401, hubapi.DeviceExpiredToken)
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/token", map[string]string{}), 400, apierr.BadRequest, nil)
}

// Wrong user codes are limited per client address.
func TestOAuthDeviceRateLimit(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	var last *http.Response
	for i := 0; i < 12; i++ {
		last, _ = postForm(t, h, "ZZZZ-ZZZ"+strconv.Itoa(i))
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("12th wrong code: %d", last.StatusCode)
	}
}

// With one provider the device code request may leave it out.
func TestOAuthDeviceSingleProvider(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", func(c *Config) {
		withProviders(prov)(c)
		c.OAuth = c.OAuth[:1]
	})
	var dc hubapi.DeviceCode
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/code", nil), 200, "", &dc)
	if dc.Interval != 5 || dc.DeviceCode == "" {
		t.Fatalf("device code %+v", dc)
	}
}

// A device code that expires while its user is at the provider: the page
// does not claim success, and the poll says expired.
func TestOAuthDeviceExpiresDuringLogin(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "d1", Email: adminEmail, EmailVerified: true})
	dc := deviceCode(t, h, "corp")
	res, body := postForm(t, h, dc.UserCode)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("form: %d %s", res.StatusCode, body)
	}
	cb := follow(t, res.Header.Get("Location"))
	age(t, h, "device_codes", "expires_at")
	res, body = get(t, cb.String())
	if res.StatusCode != 400 || strings.Contains(body, "You are logged in") || !strings.Contains(body, "invalid or has expired") {
		t.Fatalf("page: %d %s", res.StatusCode, body)
	}
	wantPoll(t, h, dc, 401, hubapi.DeviceExpiredToken)
	// Answers carrying codes and tokens are not cacheable.
	r := h.as("").do("POST", "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: "corp"})
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("device code: %d %q", r.status, r.header.Get("Cache-Control"))
	}
}
