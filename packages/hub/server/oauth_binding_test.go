package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/testoidc"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// A device login at a provider is bound to the browser that entered its
// user code (RFC 6749 §10.12, decision 0026): an attacker who enters his
// own code and sends the provider's authorization URL to a victim signed
// in at the provider must not receive the victim's session, and a
// cross-site page must not post the device form from a victim's browser.

// otherBrowser is a browser that did not start the flow: its own cookies.
var otherBrowser = &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func getWith(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return res, readBody(t, res)
}

// The victim follows the attacker's provider link: the provider (signed in,
// consent given) sends the victim's browser to the Hub's callback, which
// refuses it for want of the flow's cookie and spends the flow; the
// attacker's device code stays pending.
func TestOAuthForwardedProviderLink(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "victim", Email: adminEmail, EmailVerified: true})

	// The attacker asks for a code, posts it on the device page and keeps
	// the provider URL instead of following it.
	dc := deviceCode(t, h, "corp")
	res, body := postForm(t, h, dc.UserCode)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("device form: %d %s", res.StatusCode, body)
	}
	checkFlowCookie(t, res)
	res, body = getWith(t, otherBrowser, res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d %s", res.StatusCode, body)
	}
	cb := res.Header.Get("Location")
	if !strings.HasPrefix(cb, h.url+"/v1/auth/oauth/corp/callback?") {
		t.Fatalf("provider sent the victim to %s", cb)
	}
	res, body = getWith(t, otherBrowser, cb)
	if res.StatusCode != 400 || !strings.Contains(body, "invalid or has expired") || strings.Contains(body, "You are logged in") {
		t.Fatalf("victim's callback: %d %s", res.StatusCode, body)
	}
	rewind(t, h)
	wantPoll(t, h, dc, 400, hubapi.DeviceAuthorizationPending)
	// The flow is spent: the attacker's own browser cannot finish it.
	if res, _ := get(t, cb); res.StatusCode != 400 {
		t.Fatalf("attacker's callback after the victim's: %d", res.StatusCode)
	}

	// The browser that entered the code finishes the login, and the
	// cookie is deleted at the callback.
	res, body = approve(t, h, dc.UserCode)
	if res.StatusCode != 200 || !strings.Contains(body, "You are logged in") {
		t.Fatalf("own callback: %d %s", res.StatusCode, body)
	}
	var deleted bool
	for _, ck := range res.Cookies() {
		deleted = deleted || (strings.HasPrefix(ck.Name, "stk_oauth_") && ck.MaxAge < 0)
	}
	if !deleted {
		t.Fatalf("the callback kept the flow cookie: %v", res.Header["Set-Cookie"])
	}
	rewind(t, h)
	var tok hubapi.Tokens
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/token", hubapi.DeviceToken{DeviceCode: dc.DeviceCode}), 200, "", &tok)

	// A browser login sets no cookie: its start link is as forwardable as
	// the provider's, and its code goes to the loopback of whoever follows
	// it, bound to the CLI's challenge.
	res, _ = get(t, newCLI().startURL(h, "corp"))
	if res.StatusCode != http.StatusFound || len(res.Cookies()) != 0 {
		t.Fatalf("start: %d %v", res.StatusCode, res.Header["Set-Cookie"])
	}
}

// checkFlowCookie: the flow's cookie is HttpOnly, SameSite=Lax (it comes
// back on the provider's top-level redirect), scoped to the OAuth routes
// and lives as long as the flow.
func checkFlowCookie(t *testing.T, res *http.Response) {
	t.Helper()
	cs := res.Cookies()
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Name, "stk_oauth_") || len(cs[0].Value) < 40 || !cs[0].HttpOnly ||
		cs[0].SameSite != http.SameSiteLaxMode || cs[0].Path != "/v1/auth/oauth/" || cs[0].MaxAge != 600 || cs[0].Secure {
		t.Fatalf("flow cookie %v", res.Header["Set-Cookie"])
	}
}

// A cross-site post of the device form (a page of another site submitting
// an attacker's user code from the victim's browser) is refused with the
// form, before any provider login starts; the same-origin post works.
func TestOAuthDeviceFormCrossSite(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	dc := deviceCode(t, h, "corp")
	for _, hdr := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/auth/device", strings.NewReader(url.Values{"user_code": {dc.UserCode}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		res, err := otherBrowser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" || len(res.Cookies()) != 0 ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %s → %d %q", hdr[0], hdr[1], res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := len(prov.Authorizations()); n != 0 {
		t.Fatalf("a cross-site post reached the provider (%d)", n)
	}
	req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/auth/device", strings.NewReader(url.Values{"user_code": {dc.UserCode}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", h.url)
	res, err := otherBrowser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("same-origin post: %d", res.StatusCode)
	}
}
