package server

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/testoidc"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/oauth"
	"golang.org/x/oauth2"
)

// Operator login through identity providers (SPEC §7.1, issue 14, decision
// 0026), driven at the HTTP level by a test "CLI" that follows redirects by
// hand, against an in-test OIDC provider (internal/testoidc).

const (
	clientID     = "hub-client"
	clientSecret = "Client-Secret-9a7b-NEVER-SHOW"
)

func startProvider(t *testing.T) *testoidc.Provider {
	t.Helper()
	p, err := testoidc.Start(testoidc.Options{ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// withProviders configures corp (oidc) and gh (github) at prov, with
// allowed domains for corp.
func withProviders(prov *testoidc.Provider, domains ...string) func(*Config) {
	return func(c *Config) {
		c.OAuth = []oauth.Config{
			{Name: "corp", Type: hubapi.ProviderOIDC, Issuer: prov.URL(), ClientID: clientID, ClientSecret: clientSecret,
				Scopes: []string{"openid", "email"}, AllowedDomains: domains},
			{Name: "gh", Type: hubapi.ProviderGitHub, Issuer: prov.URL(), ClientID: clientID, ClientSecret: clientSecret,
				Scopes: []string{"read:user", "user:email"}},
		}
	}
}

// newOAuthHub is newHub served at a known public URL (the providers'
// callback base), with providers configured by opts.
func newOAuthHub(t *testing.T, engine string, opts ...func(*Config)) *hub {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	h := newHub(t, engine, append([]func(*Config){func(c *Config) { c.PublicURL = base }}, opts...)...)
	srv := &http.Server{Handler: h.srv.Handler()}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.url = base
	return h
}

// manual is the tests' browser: it keeps cookies (the flows' binding
// cookies, per flow) and lets the tests follow redirects by hand.
var manual = &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newJar() http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return j
}

// get fetches u without following redirects.
func get(t *testing.T, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := manual.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res, readBody(t, res)
}

// cli is the CLI's side of one browser login.
type cli struct {
	verifier, challenge, state, redirect string
}

// newCLI draws a login's PKCE verifier and state, as stk login does.
func newCLI() cli {
	v := oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(v))
	return cli{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:]), state: "cli-" + oauth2.GenerateVerifier()[:16],
		redirect: "http://127.0.0.1:47123/callback"}
}

func (c cli) startURL(h *hub, provider string) string {
	q := url.Values{"redirect_uri": {c.redirect}, "code_challenge": {c.challenge}, "code_challenge_method": {"S256"}, "state": {c.state}}
	return h.url + "/v1/auth/oauth/" + provider + "/start?" + q.Encode()
}

// follow gets u, which must answer 302, and returns its Location.
func follow(t *testing.T, u string) *url.URL {
	t.Helper()
	res, body := get(t, u)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("%s: status %d, want 302: %s", res.Request.URL.Path, res.StatusCode, body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// toCallback runs start → provider and returns the Hub callback URL the
// provider sent the browser to.
func (c cli) toCallback(t *testing.T, h *hub, provider string) *url.URL {
	t.Helper()
	at := follow(t, c.startURL(h, provider))
	if !strings.HasPrefix(at.String(), "http://127.0.0.1:") || strings.HasPrefix(at.String(), h.url) {
		t.Fatalf("start redirected to %s, not the provider", at)
	}
	cb := follow(t, at.String())
	if !strings.HasPrefix(cb.String(), h.url+"/v1/auth/oauth/"+provider+"/callback?") {
		t.Fatalf("provider redirected to %s", cb)
	}
	return cb
}

// login runs the browser flow to the loopback redirect and returns its
// query (code and state, or error, error_description, result and state).
func (c cli) login(t *testing.T, h *hub, provider string) url.Values {
	t.Helper()
	back := follow(t, c.toCallback(t, h, provider).String())
	if got := back.Scheme + "://" + back.Host + back.Path; got != c.redirect {
		t.Fatalf("callback redirected to %s, want the loopback %s", back, c.redirect)
	}
	if back.Query().Get("state") != c.state {
		t.Fatalf("loopback state %q, want %q", back.Query().Get("state"), c.state)
	}
	return back.Query()
}

func (c cli) exchange(h *hub, code string) reply {
	return h.as("").do("POST", "/v1/auth/oauth/token", hubapi.OAuthToken{Code: code, CodeVerifier: c.verifier})
}

// tokens logs in through provider and exchanges the code.
func (c cli) tokens(t *testing.T, h *hub, provider string) hubapi.Tokens {
	t.Helper()
	q := c.login(t, h, provider)
	if q.Get("code") == "" || !strings.HasPrefix(q.Get("code"), "stkoc_") {
		t.Fatalf("loopback query %v", q)
	}
	var tok hubapi.Tokens
	h.expect(c.exchange(h, q.Get("code")), 200, "", &tok)
	return tok
}

func whoami(t *testing.T, h *hub, access string) hubapi.Whoami {
	t.Helper()
	var who hubapi.Whoami
	h.as(access).expect(h.as(access).do("GET", "/v1/auth/whoami", nil), 200, "", &who)
	return who
}

// refusal logs in and asserts the loopback got a refusal with result.
func (c cli) refusal(t *testing.T, h *hub, provider, result string) {
	t.Helper()
	q := c.login(t, h, provider)
	if q.Get("code") != "" || q.Get("error") != "access_denied" || q.Get("result") != result || q.Get("error_description") == "" {
		t.Fatalf("want refusal %s, loopback query %v", result, q)
	}
}

// age moves the expiry of every row of table into the past (the store is
// SQLite): what a clock 10 minutes later would see.
func age(t *testing.T, h *hub, table, column string) {
	t.Helper()
	db, err := sql.Open("sqlite", h.dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE ` + table + ` SET ` + column + ` = ` + column + ` - 3600000000`); err != nil {
		t.Fatal(err)
	}
}

// The whole browser flow, on both store engines: the first login links the
// identity by its verified email, the tokens work and refresh rotates with
// reuse detection, and a later login finds the user by the link even when
// the provider's email changed.
func TestOAuthBrowserLogin(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			prov := startProvider(t)
			h := newOAuthHub(t, engine, withProviders(prov))
			var list hubapi.List[hubapi.Provider]
			h.as("").expect(h.as("").do("GET", "/v1/auth/providers", nil), 200, "", &list)
			if len(list.Items) != 2 || list.Items[0] != (hubapi.Provider{Name: "corp", Type: "oidc"}) || list.Items[1] != (hubapi.Provider{Name: "gh", Type: "github"}) {
				t.Fatalf("providers %+v", list.Items)
			}

			prov.SetUser(testoidc.User{Subject: "corp-1", Email: "OWNER@example.com", EmailVerified: true})
			c := newCLI()
			tok := c.tokens(t, h, "corp")
			if who := whoami(t, h, tok.AccessToken); who.Email != adminEmail || len(who.Orgs) != 1 || who.Orgs[0].Role != "owner" {
				t.Fatalf("whoami %+v", who)
			}
			// The Hub's own PKCE and nonce went to the provider, not the CLI's.
			auths := prov.Authorizations()
			if a := auths[len(auths)-1]; a.Get("code_challenge") == c.challenge || a.Get("state") == c.state ||
				a.Get("nonce") == "" || a.Get("redirect_uri") != h.url+"/v1/auth/oauth/corp/callback" {
				t.Fatalf("authorization request %v", a)
			}
			// Refresh after an OAuth login rotates as after a password login.
			var next hubapi.Tokens
			h.as("").expect(h.as("").do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: tok.RefreshToken}), 200, "", &next)
			h.as("").expect(h.as("").do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: tok.RefreshToken}), 401, apierr.Unauthorized, nil)
			h.as("").expect(h.as("").do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: next.RefreshToken}), 401, apierr.Unauthorized, nil)

			// Linked: a changed (even unverified) email still finds the user.
			prov.SetUser(testoidc.User{Subject: "corp-1", Email: "renamed@elsewhere.example", EmailVerified: false})
			tok = newCLI().tokens(t, h, "corp")
			if who := whoami(t, h, tok.AccessToken); who.Email != adminEmail {
				t.Fatalf("linked login as %s", who.Email)
			}

			// Audit: the link and the logins are events of the default org.
			var events hubapi.List[hubapi.AuditEvent]
			h.expect(h.do("GET", "/v1/audit?org=default", nil), 200, "", &events)
			var linked, logins int
			for _, e := range events.Items {
				switch e.Action {
				case "auth.oauth.link":
					linked++
				case "auth.oauth.login":
					logins++
				}
			}
			if linked != 1 || logins != 2 {
				t.Fatalf("audit: %d links, %d logins: %+v", linked, logins, events.Items)
			}
		})
	}
}

// Every refusal of GET /start: 400 naming the parameter (a page for
// browsers, the §3 envelope otherwise), and never a redirect.
func TestOAuthStartRefusals(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	good := newCLI()
	for _, tc := range []struct {
		name, param, value, wantPath string
	}{
		{"non-loopback host", "redirect_uri", "http://evil.example:8080/callback", "redirect_uri"},
		{"localhost", "redirect_uri", "http://localhost:8080/callback", "redirect_uri"},
		{"https", "redirect_uri", "https://127.0.0.1:8080/callback", "redirect_uri"},
		{"userinfo", "redirect_uri", "http://evil.example@127.0.0.1:8080/callback", "redirect_uri"},
		{"no port", "redirect_uri", "http://127.0.0.1/callback", "redirect_uri"},
		{"fragment", "redirect_uri", "http://127.0.0.1:8080/callback#x", "redirect_uri"},
		{"other loopback", "redirect_uri", "http://127.0.0.2:8080/callback", "redirect_uri"},
		{"missing redirect", "redirect_uri", "", "redirect_uri"},
		{"short challenge", "code_challenge", "abc", "code_challenge"},
		{"bad challenge chars", "code_challenge", strings.Repeat("+", 43), "code_challenge"},
		{"plain method", "code_challenge_method", "plain", "code_challenge_method"},
		{"missing state", "state", "", "state"},
		{"state not printable", "state", "a\x01b", "state"},
		{"state too long", "state", strings.Repeat("s", 257), "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(good.startURL(h, "corp"))
			q := u.Query()
			q.Set(tc.param, tc.value)
			u.RawQuery = q.Encode()
			res, body := get(t, u.String())
			if res.StatusCode != 400 || res.Header.Get("Location") != "" {
				t.Fatalf("status %d location %q: %s", res.StatusCode, res.Header.Get("Location"), body)
			}
			e := reply{res.StatusCode, res.Header, []byte(body)}.envelope(t)
			probs, _ := json.Marshal(e.Details["problems"])
			if e.Code != apierr.BadRequest || !strings.Contains(string(probs), `"path":"`+tc.wantPath+`"`) || !strings.Contains(e.Message, tc.wantPath) {
				t.Fatalf("envelope %+v", e)
			}
			res, body = get(t, u.String(), "Accept", "text/html,application/xhtml+xml")
			if res.StatusCode != 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(body, tc.wantPath) || res.Header.Get("Location") != "" {
				t.Fatalf("page: %d %s", res.StatusCode, body)
			}
			checkPageHeaders(t, res)
		})
	}
	if res, body := get(t, good.startURL(h, "nope")); res.StatusCode != 404 {
		t.Fatalf("unknown provider: %d %s", res.StatusCode, body)
	}
	if len(prov.Authorizations()) != 0 {
		t.Fatal("a refused start reached the provider")
	}
}

// checkPageHeaders checks a page's headers; a form page also lets its
// post be redirected to formTargets (the providers' origins).
func checkPageHeaders(t *testing.T, res *http.Response, formTargets ...string) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action " +
			strings.Join(append([]string{"'self'"}, formTargets...), " "),
		"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
	} {
		if got := res.Header.Get(k); got != v {
			t.Fatalf("%s: %q, want %q", k, got, v)
		}
	}
}

// A callback whose state the Hub does not know — tampered, replayed or
// expired — gets the invalid-link page and no redirect.
func TestOAuthCallbackRefusals(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	invalid := func(u string) {
		t.Helper()
		res, body := get(t, u)
		if res.StatusCode != 400 || res.Header.Get("Location") != "" || !strings.Contains(body, "invalid or has expired: run stk login again") {
			t.Fatalf("callback %d %q: %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		checkPageHeaders(t, res)
	}
	// Tampered state.
	cb := newCLI().toCallback(t, h, "corp")
	q := cb.Query()
	q.Set("state", q.Get("state")+"x")
	tampered := *cb
	tampered.RawQuery = q.Encode()
	invalid(tampered.String())
	// The right state at another provider's callback is refused too.
	other := *cb
	other.Path = strings.Replace(other.Path, "/corp/", "/gh/", 1)
	invalid(other.String())
	// Replayed: the first use of the state (above) spent it.
	invalid(cb.String())
	cb = newCLI().toCallback(t, h, "corp")
	follow(t, cb.String())
	invalid(cb.String())
	// Expired.
	cb = newCLI().toCallback(t, h, "corp")
	age(t, h, "oauth_flows", "expires_at")
	invalid(cb.String())
	// No state at all.
	invalid(h.url + "/v1/auth/oauth/corp/callback?code=x")
}

// The one-time code: single use, 60 seconds, bound to the CLI's challenge;
// each failure is the same 401.
func TestOAuthCodeRefusals(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	bad := func(r reply) {
		t.Helper()
		h.expect(r, 401, apierr.Unauthorized, nil)
		if e := r.envelope(t); e.Message != "the login code is invalid, expired or already used" {
			t.Fatalf("message %q", e.Message)
		}
	}
	// Replayed.
	c := newCLI()
	code := c.login(t, h, "corp").Get("code")
	h.expect(c.exchange(h, code), 200, "", nil)
	bad(c.exchange(h, code))
	// Wrong verifier: refused, and the code is spent.
	c = newCLI()
	code = c.login(t, h, "corp").Get("code")
	wrong := c
	wrong.verifier = newCLI().verifier + "-other"
	bad(wrong.exchange(h, code))
	bad(c.exchange(h, code))
	// Expired.
	c = newCLI()
	code = c.login(t, h, "corp").Get("code")
	age(t, h, "oauth_codes", "expires_at")
	bad(c.exchange(h, code))
	// Unknown.
	bad(c.exchange(h, "stkoc_nothing"))
	bad(c.exchange(h, "not-a-code"))
	// Missing fields.
	r := h.as("").do("POST", "/v1/auth/oauth/token", map[string]string{})
	h.expect(r, 400, apierr.BadRequest, nil)
	if probs, _ := json.Marshal(r.envelope(t).Details["problems"]); !strings.Contains(string(probs), `"code"`) || !strings.Contains(string(probs), `"codeVerifier"`) {
		t.Fatalf("problems %s", probs)
	}
	// Disabled since the code was issued.
	h.newOperator("late@example.com")
	prov.SetUser(testoidc.User{Subject: "s2", Email: "late@example.com", EmailVerified: true})
	c = newCLI()
	code = c.login(t, h, "corp").Get("code")
	h.expect(h.do("POST", "/v1/users/late@example.com/disable", nil), 200, "", nil)
	h.expect(c.exchange(h, code), 401, apierr.Unauthorized, nil)
}

// Who the provider vouches for decides: a bad ID token, an unverified or
// unknown email and a disabled user are refused with their reason on the
// loopback; an allowed domain creates a member of the default org.
func TestOAuthAccountRefusals(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov, "allowed.example"))
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})

	for _, f := range []testoidc.Faults{{WrongNonce: true}, {WrongAudience: true}, {WrongIssuer: true}, {Expired: true}} {
		prov.SetFaults(f)
		newCLI().refusal(t, h, "corp", hubapi.ResultError)
	}
	prov.SetFaults(testoidc.Faults{Deny: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultDenied)
	prov.SetFaults(testoidc.Faults{NoEmail: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnverifiedEmail)
	prov.SetFaults(testoidc.Faults{})

	prov.SetUser(testoidc.User{Subject: "s2", Email: adminEmail, EmailVerified: false})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnverifiedEmail)
	prov.SetUser(testoidc.User{Subject: "s3", Email: "stranger@unknown.example", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnknownEmail)
	// Nothing was linked or created by the refusals.
	var users hubapi.List[hubapi.User]
	h.expect(h.do("GET", "/v1/users", nil), 200, "", &users)
	if len(users.Items) != 1 {
		t.Fatalf("users %+v", users.Items)
	}

	// Allowed domain: a new member of the default org, without a password.
	prov.SetUser(testoidc.User{Subject: "s4", Email: "new@Allowed.example", EmailVerified: true})
	tok := newCLI().tokens(t, h, "corp")
	who := whoami(t, h, tok.AccessToken)
	if who.Email != "new@allowed.example" || len(who.Orgs) != 1 || who.Orgs[0].Org != "default" || who.Orgs[0].Role != "member" {
		t.Fatalf("created %+v", who)
	}
	h.as("").expect(h.as("").do("POST", "/v1/auth/login", hubapi.Login{Email: "new@allowed.example", Password: ""}), 400, apierr.BadRequest, nil)
	h.as("").expect(h.as("").do("POST", "/v1/auth/login", hubapi.Login{Email: "new@allowed.example", Password: "anything-at-all"}), 401, apierr.Unauthorized, nil)
	// An unverified email in an allowed domain is still refused.
	prov.SetUser(testoidc.User{Subject: "s5", Email: "other@allowed.example", EmailVerified: false})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnverifiedEmail)

	// Disabled user, matched by email.
	h.newOperator("gone@example.com")
	h.expect(h.do("POST", "/v1/users/gone@example.com/disable", nil), 200, "", nil)
	prov.SetUser(testoidc.User{Subject: "s6", Email: "gone@example.com", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultDisabled)
	// Disabled user, matched by its link.
	h.newOperator("linked@example.com")
	prov.SetUser(testoidc.User{Subject: "s7", Email: "linked@example.com", EmailVerified: true})
	newCLI().tokens(t, h, "corp")
	h.expect(h.do("POST", "/v1/users/linked@example.com/disable", nil), 200, "", nil)
	prov.SetUser(testoidc.User{Subject: "s7", Email: "someone-else@example.com", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultDisabled)

	// Each refusal is an audit event with its reason.
	var events hubapi.List[hubapi.AuditEvent]
	h.expect(h.do("GET", "/v1/audit?org=default&limit=200", nil), 200, "", &events)
	reasons := map[string]int{}
	for _, e := range events.Items {
		if e.Action == "auth.oauth.login" && e.Outcome == "denied" {
			reasons[e.Target[strings.LastIndex(e.Target, " ")+1:]]++
		}
	}
	want := map[string]int{"error": 4, "denied": 1, "unverified_email": 3, "unknown_email": 1, "disabled": 2}
	for k, n := range want {
		if reasons[k] != n {
			t.Fatalf("audit refusals %v, want %v", reasons, want)
		}
	}
}

// The GitHub type: the numeric user id and the primary verified email
// from the API (against testoidc's GitHub fake).
func TestOAuthGitHub(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "4242", Email: adminEmail, EmailVerified: true, Name: "Octo"})
	tok := newCLI().tokens(t, h, "gh")
	if who := whoami(t, h, tok.AccessToken); who.Email != adminEmail {
		t.Fatalf("github login as %s", who.Email)
	}
	prov.SetUser(testoidc.User{Subject: "4343", Email: "x@example.com", EmailVerified: false, Name: "Unverified"})
	newCLI().refusal(t, h, "gh", hubapi.ResultUnverifiedEmail)
	prov.SetUser(testoidc.User{Subject: "4444", Email: "y@example.com", EmailVerified: true})
	prov.SetFaults(testoidc.Faults{NoEmail: true}) // only a non-primary decoy
	newCLI().refusal(t, h, "gh", hubapi.ResultUnverifiedEmail)
}

// What the Hub logged over a whole run holds no client secret, code,
// verifier or token.
func TestOAuthLogsHoldNoSecret(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	var secrets []string
	c := newCLI()
	cb := c.toCallback(t, h, "corp")
	secrets = append(secrets, cb.Query().Get("code"), cb.Query().Get("state"))
	back := follow(t, cb.String())
	var tok hubapi.Tokens
	h.expect(c.exchange(h, back.Query().Get("code")), 200, "", &tok)
	secrets = append(secrets, back.Query().Get("code"), c.verifier, tok.AccessToken, tok.RefreshToken)
	var dc hubapi.DeviceCode
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: "corp"}), 200, "", &dc)
	h.as("").do("POST", "/v1/auth/device/token", hubapi.DeviceToken{DeviceCode: dc.DeviceCode})
	secrets = append(secrets, dc.DeviceCode, dc.UserCode, strings.ReplaceAll(dc.UserCode, "-", ""))
	prov.SetFaults(testoidc.Faults{WrongNonce: true}) // a rejection is logged: without the token
	newCLI().refusal(t, h, "corp", hubapi.ResultError)
	logs := h.logs.String()
	if !strings.Contains(logs, "oauth login rejected") || !strings.Contains(logs, `"oauth providers"`) {
		t.Fatalf("expected log lines missing:\n%s", logs)
	}
	for _, s := range append(secrets, clientSecret) {
		if s == "" || strings.Contains(logs, s) {
			t.Fatalf("the Hub's logs hold %q (or it is empty):\n%s", s, logs)
		}
	}
}

// readBody reads and closes a response's body.
func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
