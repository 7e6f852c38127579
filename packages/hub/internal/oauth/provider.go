package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/santokit/santokit/packages/core/hubapi"
	"golang.org/x/oauth2"
)

// ErrUnavailable: the provider could not be reached (OIDC discovery
// failed). The Hub answers 503 and tries again on the next login.
var ErrUnavailable = errors.New("the identity provider is unreachable")

// ErrRejected: what the provider answered does not prove an identity (the
// code exchange failed, the ID token does not verify, its nonce differs).
// Its wrapped text is safe to log: never a code, token or secret.
var ErrRejected = errors.New("the identity provider's answer was rejected")

// Identity is who the provider vouches for.
type Identity struct {
	// Subject is the provider's stable user id (OIDC sub; GitHub's
	// numeric user id).
	Subject       string
	Email         string
	EmailVerified bool
}

// DiscoveryTimeout bounds the OIDC discovery attempted at start.
const DiscoveryTimeout = 5 * time.Second

// Provider is a client of one identity provider.
type Provider struct {
	cfg         Config
	redirectURL string
	client      *http.Client

	mu       sync.Mutex
	endpoint oauth2.Endpoint
	verifier *oidc.IDTokenVerifier // nil until discovery succeeded (OIDC)
	apiBase  string                // GitHub API base
}

// New returns the client of cfg, whose callback (registered with the
// provider) is redirectURL. client carries its requests (timeouts).
func New(cfg Config, redirectURL string, client *http.Client) *Provider {
	p := &Provider{cfg: cfg, redirectURL: redirectURL, client: client}
	if cfg.Type == hubapi.ProviderGitHub {
		base, api := "https://github.com", "https://api.github.com"
		if cfg.Issuer != "" {
			base, api = cfg.Issuer, cfg.Issuer+"/api/v3"
		}
		p.endpoint = oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}
		p.apiBase = api
	}
	return p
}

// Config is the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// RedirectURL is the callback URL registered with the provider.
func (p *Provider) RedirectURL() string { return p.redirectURL }

// Discover fetches the OIDC discovery document once it succeeds; later
// calls return at once. GitHub needs none.
func (p *Provider) Discover(ctx context.Context) error {
	if p.cfg.Type == hubapi.ProviderGitHub {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifier != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), DiscoveryTimeout)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("%w: discovery at %s: %s", ErrUnavailable, p.cfg.Issuer, safeText(err))
	}
	p.endpoint = op.Endpoint()
	// The verifier fetches the JWKS with a context of its own (the
	// request's would end its cached key set): it uses p.client.
	p.verifier = op.VerifierContext(oidc.ClientContext(context.Background(), p.client), &oidc.Config{ClientID: p.cfg.ClientID})
	return nil
}

func (p *Provider) oauth2Config() oauth2.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: p.endpoint,
		RedirectURL: p.redirectURL, Scopes: p.cfg.Scopes}
}

// AuthURL is the provider's authorization URL for the Hub's state, nonce
// and PKCE verifier (sent as its S256 challenge).
func (p *Provider) AuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if err := p.Discover(ctx); err != nil {
		return "", err
	}
	conf := p.oauth2Config()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.cfg.Type == hubapi.ProviderOIDC {
		opts = append(opts, oidc.Nonce(nonce))
	}
	return conf.AuthCodeURL(state, opts...), nil
}

// Exchange trades the provider's code (with the client secret and the
// PKCE verifier) for the identity it proves: for OIDC, the ID token's,
// verified with nonce; for GitHub, the API's user id and primary email.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if err := p.Discover(ctx); err != nil {
		return Identity{}, err
	}
	conf := p.oauth2Config()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %s", ErrRejected, safeText(err))
	}
	if p.cfg.Type == hubapi.ProviderGitHub {
		return p.github(ctx, conf.Client(ctx, tok))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: the token response has no id_token", ErrRejected)
	}
	p.mu.Lock()
	v := p.verifier
	p.mu.Unlock()
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: ID token: %s", ErrRejected, safeText(err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: ID token: the nonce does not match this login", ErrRejected)
	}
	// go-oidc checks neither: an empty sub would be one identity shared by
	// every token without one, and a token issued to another party (OIDC
	// Core §3.1.3.7 items 4-5) is not ours to accept.
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: ID token: no sub", ErrRejected)
	}
	var claims struct {
		Email    string          `json:"email"`
		Verified json.RawMessage `json:"email_verified"`
		AZP      string          `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: ID token claims: %s", ErrRejected, safeText(err))
	}
	if (claims.AZP != "" || len(idt.Audience) > 1) && claims.AZP != p.cfg.ClientID {
		return Identity{}, fmt.Errorf("%w: ID token: azp is not this client (several audiences need azp = the client id)", ErrRejected)
	}
	// Some providers send email_verified as the string "true".
	verified := string(claims.Verified) == "true" || string(claims.Verified) == `"true"`
	return Identity{Subject: idt.Subject, Email: claims.Email, EmailVerified: verified}, nil
}

// github reads the user id and the primary email (with whether GitHub
// verified it) from GitHub's API.
func (p *Provider) github(ctx context.Context, client *http.Client) (Identity, error) {
	var user struct {
		ID int64 `json:"id"`
	}
	if err := getJSON(ctx, client, p.apiBase+"/user", &user); err != nil {
		return Identity{}, err
	}
	if user.ID == 0 {
		return Identity{}, fmt.Errorf("%w: GitHub /user has no id", ErrRejected)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, client, p.apiBase+"/user/emails", &emails); err != nil {
		return Identity{}, err
	}
	id := Identity{Subject: strconv.FormatInt(user.ID, 10)}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}

func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRejected, safeText(err))
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %s", ErrRejected, url, safeText(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: status %d", ErrRejected, url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("%w: GET %s: bad JSON", ErrRejected, url)
	}
	return nil
}

// safeText is err's text with what could carry a secret removed: an
// oauth2 token endpoint error keeps only its error code (its body may echo
// the request), and anything else is cut to its first line.
func safeText(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return "the provider answered " + re.ErrorCode
		}
		return "the provider answered status " + strconv.Itoa(re.Response.StatusCode)
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// AuthOrigin is the origin (scheme://host) of the provider's authorization
// endpoint, discovering it first if needed.
func (p *Provider) AuthOrigin(ctx context.Context) (string, error) {
	if err := p.Discover(ctx); err != nil {
		return "", err
	}
	p.mu.Lock()
	auth := p.endpoint.AuthURL
	p.mu.Unlock()
	u, err := url.Parse(auth)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: authorization endpoint is not an absolute URL", ErrRejected)
	}
	return u.Scheme + "://" + u.Host, nil
}
