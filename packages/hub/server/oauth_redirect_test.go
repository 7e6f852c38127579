package server

import (
	"net/url"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/testoidc"
)

// redirect_uri spellings an attacker might try to turn the Hub into an
// open redirector with (RFC 8252 §7.3, §8.4): each is refused before any
// flow starts; the odd spellings that are accepted still land on the
// loopback literal (#14 review, decision 0026).
func TestOAuthRedirectURIEdgeCases(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	for _, bad := range []string{
		"http://127.0.0.1:80@evil.example/cb",
		"http://127.0.0.1.evil.example:8080/cb",
		"http://127.0.0.1.:8080/cb",
		"http://[::1%25eth0]:8080/cb",
		"http://127.0.0.1:8080\\@evil.example/cb",
		"http://127.0.0.1:8080\\.evil.example/cb",
		"http://127.0.0.1:0/cb",
		"http://127.0.0.1:65536/cb",
		"http://127.0.0.1:+80/cb",
		"http://[::ffff:127.0.0.1]:8080/cb",
		"http://[0:0:0:0:0:0:0:1]:8080/cb",
		"http://2130706433:8080/cb",
		"http://0x7f.0.0.1:8080/cb",
		"//127.0.0.1:8080/cb",
		"http:127.0.0.1:8080",
		"http:/127.0.0.1:8080/cb",
		"javascript://127.0.0.1:8080/%0aalert(1)",
		"http://127.0.0.1:8080/cb\n",
		"http://127.0.0.1:8080/cb?x=1#",
		"http://%31%32%37.0.0.1:8080/cb",
	} {
		c := newCLI()
		c.redirect = bad
		res, body := get(t, c.startURL(h, "corp"))
		if res.StatusCode != 400 || res.Header.Get("Location") != "" || !strings.Contains(body, "redirect_uri") {
			t.Errorf("%q: %d %q %s", bad, res.StatusCode, res.Header.Get("Location"), body)
		}
	}
	if n := len(prov.Authorizations()); n != 0 {
		t.Fatalf("%d refused starts reached the provider", n)
	}
	for _, odd := range []string{
		"HTTP://127.0.0.1:8080/cb",
		"http://127.0.0.1:8080//evil.example/cb",
		"http://127.0.0.1:8080/%2F%2Fevil.example",
		"http://[::1]:8080/cb?keep=1",
	} {
		c := newCLI()
		c.redirect = odd
		at := follow(t, c.startURL(h, "corp"))
		back := follow(t, follow(t, at.String()).String())
		if back.Scheme != "http" || (back.Host != "127.0.0.1:8080" && back.Host != "[::1]:8080") || back.User != nil ||
			back.Query().Get("code") == "" || back.Query().Get("state") != c.state {
			t.Errorf("%q: the login came back to %s", odd, back)
		}
		if u, _ := url.Parse(odd); u != nil && u.Query().Get("keep") != "" && back.Query().Get("keep") != "1" {
			t.Errorf("%q: the loopback's own query was lost: %s", odd, back)
		}
	}
}
