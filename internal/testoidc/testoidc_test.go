package testoidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func start(t *testing.T) *Provider {
	t.Helper()
	p, err := Start(Options{ClientID: "hub", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize follows the provider's /authorize and returns the query it
// redirected back with.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query()
}

func TestOIDCFlow(t *testing.T) {
	p := start(t)
	ctx := context.Background()
	prov, err := oidc.NewProvider(ctx, p.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "hub", ClientSecret: "s3cret", Endpoint: prov.Endpoint(),
		RedirectURL: "http://127.0.0.1:1/cb", Scopes: []string{oidc.ScopeOpenID, "email"}}
	p.SetUser(User{Subject: "abc", Email: "a@example.com", EmailVerified: true})
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, conf.AuthCodeURL("st", oidc.Nonce("n1"), oauth2.S256ChallengeOption(verifier)))
	if q.Get("state") != "st" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	// A wrong verifier is refused, and spends the code.
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("wrong verifier accepted")
	}
	q = authorize(t, conf.AuthCodeURL("st", oidc.Nonce("n1"), oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("code reused")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&oidc.Config{ClientID: "hub"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	_ = idt.Claims(&claims)
	if idt.Subject != "abc" || idt.Nonce != "n1" || claims.Email != "a@example.com" || !claims.Verified {
		t.Fatalf("id token %+v %+v", idt, claims)
	}

	// Faults: wrong audience fails verification; wrong nonce is carried.
	p.SetFaults(Faults{WrongAudience: true, WrongNonce: true})
	q = authorize(t, conf.AuthCodeURL("st", oidc.Nonce("n2"), oauth2.S256ChallengeOption(verifier)))
	tok, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = tok.Extra("id_token").(string)
	if _, err := prov.Verifier(&oidc.Config{ClientID: "hub"}).Verify(ctx, raw); err == nil {
		t.Fatal("wrong audience verified")
	}
	idt, err = prov.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, raw)
	if err != nil || idt.Nonce == "n2" {
		t.Fatalf("wrong nonce: %v %v", idt, err)
	}
	p.SetFaults(Faults{Deny: true})
	q = authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != "st" {
		t.Fatalf("deny: %v", q)
	}
	// A bad client secret is refused.
	p.SetFaults(Faults{})
	q = authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	bad := conf
	bad.ClientSecret = "nope"
	if _, err := bad.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("bad client secret accepted")
	}
}

func TestGitHubMode(t *testing.T) {
	p := start(t)
	ctx := context.Background()
	conf := oauth2.Config{ClientID: "hub", ClientSecret: "s3cret", RedirectURL: "http://127.0.0.1:1/cb",
		Endpoint: oauth2.Endpoint{AuthURL: p.URL() + "/login/oauth/authorize", TokenURL: p.URL() + "/login/oauth/access_token"}}
	p.SetUser(User{Subject: "4242", Email: "gh@example.com", EmailVerified: true, Name: "Octo Cat"})
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("id_token") != nil {
		t.Fatal("GitHub mode issued an ID token")
	}
	client := conf.Client(ctx, tok)
	var user struct {
		ID int64 `json:"id"`
	}
	getJSON(t, client, p.URL()+"/api/v3/user", &user)
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	getJSON(t, client, p.URL()+"/api/v3/user/emails", &emails)
	if user.ID != 4242 || len(emails) != 2 || emails[1].Email != "gh@example.com" || !emails[1].Primary {
		t.Fatalf("user %+v emails %+v", user, emails)
	}
	resp, err := http.Get(p.URL() + "/api/v3/user")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
