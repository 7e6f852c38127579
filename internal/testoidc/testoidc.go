// Package testoidc is an OpenID Connect provider for tests of the
// operator OAuth login (SPEC §7.1, issue 14, decision 0026). It serves,
// on loopback only, discovery, a JWKS, an authorization endpoint that
// approves at once for the "current user" the test set (no login form),
// and a token endpoint that checks the client's id and secret, the
// redirect_uri and the PKCE verifier and answers an ID token carrying the
// request's nonce. The same server also plays a GitHub OAuth app's side of
// GitHub (Enterprise Server paths: /login/oauth/authorize,
// /login/oauth/access_token, /api/v3/user, /api/v3/user/emails), so a Hub
// provider of TYPE=github with ISSUER set to URL() logs in against it.
//
// Faults make the bad answers the Hub must refuse (a wrong nonce or
// audience, a provider-side denial). The provider logs nothing: the
// secrets, codes and tokens it handles appear in no output.
package testoidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is who the provider says logs in. For the GitHub mode, Subject is
// the numeric user id (digits).
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Faults make the provider misbehave in the ways a relying party must
// catch. The zero value is a well-behaved provider.
type Faults struct {
	// Deny answers /authorize with error=access_denied (the user
	// cancelled at the provider).
	Deny bool
	// WrongNonce puts another nonce in the ID token.
	WrongNonce bool
	// WrongAudience issues the ID token to another client id.
	WrongAudience bool
	// WrongIssuer signs the ID token with another `iss`.
	WrongIssuer bool
	// Expired issues an ID token that expired an hour ago.
	Expired bool
	// NoEmail leaves `email` out of the ID token (and, for GitHub, lists
	// no email).
	NoEmail bool
	// ExtraAudience adds another client to the ID token's `aud` (an
	// array then) with no `azp`.
	ExtraAudience bool
	// OtherParty sets `azp` to another client id.
	OtherParty bool
}

// Options configure Start.
type Options struct {
	// ClientID and ClientSecret are the only client the provider knows.
	ClientID     string
	ClientSecret string
	// Addr is the loopback address to listen on (default 127.0.0.1:0).
	Addr string
}

// Provider is a running test provider.
type Provider struct {
	opts Options
	url  string
	srv  *http.Server
	key  *ecdsa.PrivateKey
	kid  string

	mu        sync.Mutex
	user      User
	faults    Faults
	down      bool
	codes     map[string]*grant // authorization code → grant
	tokens    map[string]User   // GitHub access token → user
	authorize []url.Values      // each /authorize query, for assertions
}

type grant struct {
	clientID, redirectURI, challenge, method, nonce string
	user                                            User
	faults                                          Faults
}

// Start serves a provider on loopback. Close stops it.
func Start(opts Options) (*Provider, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, errors.New("testoidc: ClientID and ClientSecret are required")
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("testoidc: address %q is not a loopback IP", opts.Addr)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("testoidc: %w", err)
	}
	p := &Provider{
		opts: opts, key: key, kid: "test-" + random(6), url: "http://" + ln.Addr().String(),
		codes: map[string]*grant{}, tokens: map[string]User{},
		user: User{Subject: "1001", Email: "user@example.com", EmailVerified: true, Name: "Test User"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks.json", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizeOIDC)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /login/oauth/authorize", p.authorizeOIDC)
	mux.HandleFunc("POST /login/oauth/access_token", p.token)
	mux.HandleFunc("GET /api/v3/user", p.githubUser)
	mux.HandleFunc("GET /api/v3/user/emails", p.githubEmails)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the issuer identifier (no trailing slash); for the GitHub mode it
// is the Enterprise Server base URL.
func (p *Provider) URL() string { return p.url }

// Close stops serving.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

// SetUser sets who the next authorizations approve.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// SetFaults sets the faults of the next authorizations (they are fixed
// when /authorize answers, so a code keeps the faults it was issued with).
func (p *Provider) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// SetDown makes discovery and the JWKS answer 503 (true) or serve again.
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// Authorizations are the queries /authorize received, oldest first.
func (p *Provider) Authorizations() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.authorize...)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.url,
		"authorization_endpoint":                p.url + "/authorize",
		"token_endpoint":                        p.url + "/token",
		"jwks_uri":                              p.url + "/jwks.json",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	raw, _ := p.key.PublicKey.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": p.kid, "alg": "ES256", "use": "sig",
		"x": b64(raw[1:33]), "y": b64(raw[33:]),
	}}})
}

// authorizeOIDC approves at once: 302 to redirect_uri with a code and the
// state (or error=access_denied under Faults.Deny). Requests it cannot
// trust (unknown client, no redirect_uri, no PKCE) get a 400 page, as a
// real provider would show instead of redirecting.
func (p *Provider) authorizeOIDC(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.authorize = append(p.authorize, q)
	user, faults := p.user, p.faults
	p.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != p.opts.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case err != nil || redirect.Scheme == "" || redirect.Host == "":
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		http.Error(w, "PKCE (S256) is required", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	if faults.Deny {
		back.Set("error", "access_denied")
		back.Set("error_description", "The user denied the request")
	} else {
		code := random(24)
		p.mu.Lock()
		p.codes[code] = &grant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
			nonce: q.Get("nonce"), user: user, faults: faults}
		p.mu.Unlock()
		back.Set("code", code)
	}
	if s := q.Get("state"); s != "" {
		back.Set("state", s)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token exchanges an authorization code (single use) for an access token
// and, on the OIDC path, an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.opts.ClientID || secret != p.opts.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case g == nil || g.clientID != id:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "unknown or used code"})
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	access := "testat_" + random(24)
	p.mu.Lock()
	p.tokens[access] = g.user
	p.mu.Unlock()
	body := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	if !strings.HasPrefix(r.URL.Path, "/login/oauth/") {
		idToken, err := p.idToken(g)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		body["id_token"] = idToken
		body["scope"] = "openid email profile"
	} else {
		body["scope"] = "read:user,user:email"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

func (p *Provider) idToken(g *grant) (string, error) {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": p.url, "sub": g.user.Subject, "aud": p.opts.ClientID,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"nonce": g.nonce, "name": g.user.Name,
	}
	if !g.faults.NoEmail {
		c["email"], c["email_verified"] = g.user.Email, g.user.EmailVerified
	}
	if g.faults.WrongNonce {
		c["nonce"] = "not-" + g.nonce
	}
	if g.faults.WrongAudience {
		c["aud"] = "another-client"
	}
	if g.faults.ExtraAudience {
		c["aud"] = []string{p.opts.ClientID, "another-client"}
	}
	if g.faults.OtherParty {
		c["azp"] = "another-client"
	}
	if g.faults.WrongIssuer {
		c["iss"] = p.url + "/other"
	}
	if g.faults.Expired {
		c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = p.kid
	return tok.SignedString(p.key)
}

// githubUser is GitHub's GET /user for the bearer of an access token.
func (p *Provider) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := p.bearer(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	id, err := strconv.ParseInt(u.Subject, 10, 64)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "testoidc: GitHub mode needs a numeric Subject"})
		return
	}
	login := strings.ToLower(strings.ReplaceAll(u.Name, " ", "-"))
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "login": login, "name": u.Name, "email": nil})
}

// githubEmails is GitHub's GET /user/emails: the user's email as the
// primary one, verified as User.EmailVerified says, plus an unverified,
// non-primary decoy the client must not pick.
func (p *Provider) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := p.bearer(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	p.mu.Lock()
	noEmail := p.faults.NoEmail
	p.mu.Unlock()
	list := []map[string]any{{"email": "decoy-" + u.Subject + "@users.noreply.example", "primary": false, "verified": true, "visibility": nil}}
	if !noEmail {
		list = append(list, map[string]any{"email": u.Email, "primary": true, "verified": u.EmailVerified, "visibility": "private"})
	}
	writeJSON(w, http.StatusOK, list)
}

func (p *Provider) bearer(r *http.Request) (User, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	if !ok {
		return User{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.tokens[tok]
	return u, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
