package server

import (
	"net/url"
	"strings"
	"testing"
)

// The Hub's pages put no text of the URL on the page as its own words
// (#14 review, decision 0026): an unknown provider's name is quoted only
// when it is spelled as a name, and the device form shows back only the
// letters and dashes of a code.
func TestOAuthPagesReflectNoText(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	lure := "Call 555-0100, your account is locked"
	res, body := get(t, h.url+"/v1/auth/oauth/"+url.PathEscape(lure)+"/start?redirect_uri=x", "Accept", "text/html")
	if res.StatusCode != 404 || strings.Contains(body, "555") || strings.Contains(body, "locked") || !strings.Contains(body, "provider not found") {
		t.Fatalf("unknown provider page: %d %s", res.StatusCode, body)
	}
	res, body = get(t, h.url+"/v1/auth/oauth/"+url.PathEscape(lure)+"/callback?state=x", "Accept", "text/html")
	if res.StatusCode != 404 || strings.Contains(body, "555") {
		t.Fatalf("unknown provider callback: %d %s", res.StatusCode, body)
	}
	// A name-shaped unknown provider is still named (SPEC §3).
	r := h.as("").do("GET", "/v1/auth/oauth/nope/start", nil)
	if r.status != 404 || !strings.Contains(r.envelope(t).Message, `"nope"`) {
		t.Fatalf("nope: %d %s", r.status, r.body)
	}
	res, body = get(t, h.url+"/v1/auth/device?user_code="+url.QueryEscape("Call 555 <b>now</b>"))
	if res.StatusCode != 200 || !strings.Contains(body, `value="Callbnowb"`) || strings.Contains(body, "555") {
		t.Fatalf("device page: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(body, "Continue only if you ran stk login --device yourself") {
		t.Fatalf("device page has no warning against forwarded codes: %s", body)
	}
	res, body = postForm(t, h, "Go to evil.example 555")
	if res.StatusCode != 400 || !strings.Contains(body, `value="Gotoevilexample"`) || strings.Contains(body, "555") {
		t.Fatalf("wrong code page: %d %s", res.StatusCode, body)
	}
}
