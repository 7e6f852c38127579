package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/oauth"
	"github.com/santokit/santokit/packages/hub/internal/store"
	"golang.org/x/oauth2"
)

// Operator login through OAuth/OIDC providers (SPEC §7.1, decision 0026):
// the loopback browser flow with PKCE, its one-time code exchange, and the
// device flow (RFC 8628). Both end in openSession, as a password login.

// Lifetimes and prefixes of the OAuth login (decision 0026).
const (
	// FlowTTL bounds a login at the provider (start → callback).
	FlowTTL = 10 * time.Minute
	// OneTimeCodeTTL bounds the loopback's code (callback → token).
	OneTimeCodeTTL = 60 * time.Second
	// SlowDownStep is what a too-early device poll adds to its interval.
	SlowDownStep = 5 * time.Second
	// DefaultDeviceInterval and DefaultDeviceTTL are the defaults of
	// STK_OAUTH_DEVICE_INTERVAL and STK_OAUTH_DEVICE_TTL.
	DefaultDeviceInterval = 5 * time.Second
	DefaultDeviceTTL      = 10 * time.Minute

	OneTimeCodePrefix = "stkoc_"
	DeviceCodePrefix  = "stkdc_"

	// userCodeLetters are RFC 8628 §6.1's: no vowels (no words), no
	// letters that read like digits.
	userCodeLetters = "BCDFGHJKLMNPQRSTVWXZ"
	// DeviceTriesPerMinute is how many wrong user codes a client address
	// may enter per minute before the device page answers 429.
	DeviceTriesPerMinute = 10
	// FlowsPerMinute is how many logins (provider flows and device codes)
	// a client address may start per minute before 429: each is a row an
	// anonymous caller makes the Hub store for up to FlowTTL/DeviceTTL.
	FlowsPerMinute = 30
)

// OAuthSettings configure operator login through providers.
type OAuthSettings struct {
	Providers []*oauth.Provider
	// PublicURL is the Hub's external base URL (STK_HUB_PUBLIC_URL),
	// without a trailing slash.
	PublicURL      string
	DeviceInterval time.Duration
	DeviceTTL      time.Duration
}

// oauthLogin is the Service's OAuth state: its providers and the limiter
// of wrong user codes.
type oauthLogin struct {
	OAuthSettings
	byName map[string]*oauth.Provider
	tries  *auth.LoginLimiter
	starts *auth.LoginLimiter
	// cookiePath and cookieSecure place the flow cookies under the
	// public URL's /v1/auth/oauth/ (a path-prefix proxy included).
	cookiePath   string
	cookieSecure bool
}

// EnableOAuth configures the providers; call it before serving.
func (s *Service) EnableOAuth(o OAuthSettings) {
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = DefaultDeviceInterval
	}
	if o.DeviceTTL <= 0 {
		o.DeviceTTL = DefaultDeviceTTL
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	s.oauth = oauthLogin{OAuthSettings: o, byName: map[string]*oauth.Provider{},
		tries:  auth.NewLoginLimiter(DeviceTriesPerMinute, time.Minute, s.now),
		starts: auth.NewLoginLimiter(FlowsPerMinute, time.Minute, s.now)}
	for _, p := range o.Providers {
		s.oauth.byName[p.Config().Name] = p
	}
	s.oauth.cookiePath = "/v1/auth/oauth/"
	if u, err := url.Parse(o.PublicURL); err == nil {
		s.oauth.cookiePath = strings.TrimSuffix(u.Path, "/") + s.oauth.cookiePath
		s.oauth.cookieSecure = u.Scheme == "https"
	}
}

// flowCookiePrefix names the cookie that binds a device login at the
// provider to the browser that entered its user code (RFC 6749 §10.12):
// the callback is honoured only in a browser holding the flow's cookie.
// Without it, an attacker could ask for a device code, enter it, send the
// provider's authorization URL to a victim already signed in at the
// provider, and poll the victim's session once the victim's browser came
// back to the callback — one click, no Santokit page seen. A browser
// (loopback) login needs no cookie: its start link is as forwardable as
// the provider's, and what it yields goes to the loopback of the machine
// that follows it, bound to the CLI's PKCE challenge. The name carries
// part of the state digest so that concurrent logins in one browser each
// keep their own.
const flowCookiePrefix = "stk_oauth_"

func flowCookieName(stateHash string) string { return flowCookiePrefix + stateHash[:16] }

// flowCookie is the binding cookie of a flow (maxAge < 0 deletes it).
// SameSite=Lax: it comes back on the provider's top-level redirect to the
// callback, never on a cross-site subrequest.
func (s *Service) flowCookie(stateHash, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: flowCookieName(stateHash), Value: value, Path: s.oauth.cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.oauth.cookieSecure, SameSite: http.SameSiteLaxMode}
}

// AuthorizationOrigins are the origins (scheme://host) of the providers'
// authorization endpoints that are known (discovery done, or GitHub). The
// device page's Content-Security-Policy lists them in form-action: a
// browser enforces form-action on the redirects that follow a form post,
// and the device form's post is redirected to the provider.
func (s *Service) AuthorizationOrigins(ctx context.Context) []string {
	var out []string
	for _, p := range s.oauth.Providers {
		if o, err := p.AuthOrigin(ctx); err == nil && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// ResultMessage is the fixed text of a login result (hubapi.Result*):
// the Hub's pages, the loopback's error_description and the device poll's
// refusal say only this, never text taken from a request or a provider.
func ResultMessage(result string) string {
	switch result {
	case hubapi.ResultSuccess:
		return "You are logged in to the Santokit Hub. You can close this tab and return to your terminal."
	case hubapi.ResultUnknownEmail:
		return "No operator account has this email address. Ask an org owner or admin to create one " +
			"(stk user create --email …) or to add you to an org (stk member add …), then run stk login again."
	case hubapi.ResultUnverifiedEmail:
		return "Your identity provider does not vouch for this email address (it is not verified): verify it with the provider, then run stk login again."
	case hubapi.ResultDisabled:
		return "This operator account is disabled. Ask an org owner or admin."
	case hubapi.ResultDenied:
		return "The login was cancelled at the identity provider. Run stk login again to retry."
	case hubapi.ResultExpired:
		return "This login link is invalid or has expired: run stk login again."
	}
	return "The login failed. Run stk login again; if it keeps failing, ask the Hub's operator to check its log."
}

// Providers lists the configured providers, sorted by name.
func (s *Service) Providers() []hubapi.Provider {
	out := []hubapi.Provider{}
	for _, p := range s.oauth.Providers {
		out = append(out, hubapi.Provider{Name: p.Config().Name, Type: p.Config().Type})
	}
	return out
}

func (s *Service) provider(name string) (*oauth.Provider, error) {
	p, ok := s.oauth.byName[name]
	switch {
	case !ok && !oauth.ValidName(name):
		// Not quoted: the Hub's pages show this message, and text of the
		// URL must not read as the Hub's own words there.
		return nil, apierr.New(apierr.NotFound, "OAuth provider not found (provider names are lower-case letters, digits and _)")
	case !ok:
		return nil, apierr.New(apierr.NotFound, "OAuth provider %q not found", name)
	}
	return p, nil
}

// BrowserStart is what the CLI sends to GET /v1/auth/oauth/{provider}/start.
type BrowserStart struct {
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	State               string
}

var challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43,128}$`)

// badParam is a 400 naming the query parameter that is wrong.
func badParam(name, why string) error {
	return apierr.New(apierr.BadRequest, "%s %s", name, why).
		WithDetail("problems", []apierr.Problem{{Path: name, Message: why}})
}

// checkBrowserStart enforces RFC 8252's loopback redirect (so the Hub is
// never an open redirector) and the CLI's PKCE and state.
func checkBrowserStart(in BrowserStart) error {
	u, err := url.Parse(in.RedirectURI)
	switch {
	case in.RedirectURI == "":
		return badParam("redirect_uri", "is required")
	case err != nil || u.Scheme != "http" || u.Opaque != "":
		return badParam("redirect_uri", "must be http://127.0.0.1:PORT/… or http://[::1]:PORT/… (a loopback address of this machine)")
	case u.User != nil:
		return badParam("redirect_uri", "must not carry user info")
	case u.Fragment != "" || strings.Contains(in.RedirectURI, "#"):
		return badParam("redirect_uri", "must not carry a fragment")
	case u.Hostname() != "127.0.0.1" && u.Hostname() != "::1":
		return badParam("redirect_uri", "must be http://127.0.0.1:PORT/… or http://[::1]:PORT/… (a loopback IP; localhost is not accepted)")
	case u.Port() == "":
		return badParam("redirect_uri", "must name its port")
	case len(in.RedirectURI) > 2048:
		return badParam("redirect_uri", "is too long")
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return badParam("redirect_uri", "has an invalid port")
	}
	switch {
	case in.CodeChallenge == "":
		return badParam("code_challenge", "is required")
	case !challengeRE.MatchString(in.CodeChallenge):
		return badParam("code_challenge", "must be 43 to 128 base64url characters (the S256 of the PKCE verifier)")
	case in.CodeChallengeMethod != "S256":
		return badParam("code_challenge_method", "must be S256")
	case in.State == "":
		return badParam("state", "is required")
	case len(in.State) > 256:
		return badParam("state", "must be at most 256 characters")
	}
	for i := 0; i < len(in.State); i++ {
		if in.State[i] < 0x20 || in.State[i] > 0x7e {
			return badParam("state", "must be printable ASCII")
		}
	}
	return nil
}

// limitStarts counts a login started from clientAddr and answers 429 past
// FlowsPerMinute a minute, so that anonymous callers cannot fill the store
// with flows and device codes faster than the sweep empties it.
func (s *Service) limitStarts(clientAddr string) error {
	key := "start:" + addressKey(clientAddr)
	if wait := s.oauth.starts.Blocked(key); wait > 0 {
		return apierr.New(apierr.TooManyRequests, "too many logins started from this address: try again in %d seconds", retryAfter(wait)).
			WithHeader("Retry-After", strconv.Itoa(retryAfter(wait)))
	}
	s.oauth.starts.Fail(key)
	return nil
}

// addressKey is the rate-limit key of a client address: an IPv6 address
// by its /64 (one host commonly holds the whole /64), others as they are.
func addressKey(addr string) string {
	if ip, err := netip.ParseAddr(addr); err == nil && ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return addr
}

// flowSecrets are the Hub's PKCE verifier and OIDC nonce toward the
// provider, sealed in the flow record.
type flowSecrets struct {
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	// Binding is the value of a device flow's browser cookie.
	Binding string `json:"b,omitempty"`
}

// Started is a login sent to its provider: the browser goes to URL and
// keeps Cookie (device logins), which binds the login to it.
type Started struct {
	URL    string
	Cookie *http.Cookie
}

func flowAAD(stateHash string) []byte { return []byte("oauth-flow:" + stateHash) }

// beginFlow stores a login at p (browser: the CLI's redirect, state and
// challenge; device: its device code digest) and returns the provider's
// authorization URL, with the cookie binding a device login to this
// browser.
func (s *Service) beginFlow(ctx context.Context, p *oauth.Provider, f store.OAuthFlow) (Started, error) {
	if err := s.store.SweepOAuth(ctx, s.now()); err != nil {
		return Started{}, storeErr(err, "oauth flows")
	}
	state, nonce := randomText(32), randomText(24)
	sec := flowSecrets{Verifier: oauth2.GenerateVerifier(), Nonce: nonce}
	if f.DeviceHash != "" {
		sec.Binding = randomText(32)
	}
	authURL, err := p.AuthURL(ctx, state, sec.Nonce, sec.Verifier)
	if err != nil {
		s.log.Warn("oauth provider unavailable", "requestId", requestid.From(ctx), "provider", p.Config().Name, "error", err.Error())
		return Started{}, apierr.Wrap(apierr.ServiceUnavailable, err, "the identity provider %s is unreachable: try again later", p.Config().Name)
	}
	plain, _ := json.Marshal(sec)
	f.StateHash = auth.HashSecret(state)
	f.Provider = p.Config().Name
	f.KeyVersion, f.Ciphertext, err = s.ring.Seal(plain, flowAAD(f.StateHash))
	if err != nil {
		return Started{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	f.CreatedAt = s.now()
	f.ExpiresAt = f.CreatedAt.Add(FlowTTL)
	if err := s.store.CreateOAuthFlow(ctx, f); err != nil {
		return Started{}, storeErr(err, "oauth flow")
	}
	out := Started{URL: authURL}
	if sec.Binding != "" {
		out.Cookie = s.flowCookie(f.StateHash, sec.Binding, int(FlowTTL/time.Second))
	}
	return out, nil
}

// StartBrowserLogin checks the CLI's request and answers the provider's
// authorization URL for a new flow.
func (s *Service) StartBrowserLogin(ctx context.Context, provider string, in BrowserStart, clientAddr string) (Started, error) {
	p, err := s.provider(provider)
	if err != nil {
		return Started{}, err
	}
	if err := checkBrowserStart(in); err != nil {
		return Started{}, err
	}
	if err := s.limitStarts(clientAddr); err != nil {
		return Started{}, err
	}
	return s.beginFlow(ctx, p, store.OAuthFlow{RedirectURI: in.RedirectURI, CLIState: in.State, CodeChallenge: in.CodeChallenge})
}

// Callback is the outcome of a provider's redirect to the Hub.
type Callback struct {
	// Redirect, when set, is where the browser goes: the CLI's loopback
	// with a one-time code or a refusal.
	Redirect string
	// Result is the page to show otherwise (device flow, or
	// hubapi.ResultExpired for a state the Hub does not know).
	Result string
	// Cookie, when set, deletes the flow's binding cookie.
	Cookie *http.Cookie
}

// OAuthCallback finishes a login at the provider: query is the callback's,
// cookies the browser's. An unknown, reused, expired or tampered state has
// no flow, so no redirect: its Result is ResultExpired; so has a device
// flow presented by a browser without its binding cookie (the flow is
// spent).
func (s *Service) OAuthCallback(ctx context.Context, provider string, query url.Values, cookies []*http.Cookie) (Callback, error) {
	if _, err := s.provider(provider); err != nil {
		return Callback{}, err
	}
	invalid := Callback{Result: hubapi.ResultExpired}
	state := query.Get("state")
	if state == "" || len(state) > 512 {
		return invalid, nil
	}
	f, err := s.store.TakeOAuthFlow(ctx, auth.HashSecret(state), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return invalid, nil
	}
	if err != nil {
		return Callback{}, storeErr(err, "oauth flow")
	}
	p, ok := s.oauth.byName[f.Provider]
	if !ok || f.Provider != provider {
		return invalid, nil
	}
	plain, err := s.ring.Open(f.KeyVersion, f.Ciphertext, flowAAD(f.StateHash))
	var sec flowSecrets
	if err == nil {
		err = json.Unmarshal(plain, &sec)
	}
	if err != nil {
		s.log.Warn("oauth flow unreadable (key ring changed?)", "requestId", requestid.From(ctx), "provider", provider)
		return invalid, nil
	}
	if f.DeviceHash != "" {
		invalid.Cookie = s.flowCookie(f.StateHash, "", -1)
		if !boundTo(cookies, flowCookieName(f.StateHash), sec.Binding) {
			s.log.Warn("oauth callback refused: this browser did not enter the device code (a forwarded provider link?)",
				"requestId", requestid.From(ctx), "provider", provider)
			return invalid, nil
		}
	}
	u, result := s.loginAt(ctx, p, query, sec)
	if f.DeviceHash != "" {
		settled, err := s.settleDevice(ctx, f.DeviceHash, u, result)
		if !settled {
			result = hubapi.ResultExpired
		}
		return Callback{Result: result, Cookie: invalid.Cookie}, err
	}
	back, err := url.Parse(f.RedirectURI)
	if err != nil {
		return Callback{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	q := back.Query()
	if result == hubapi.ResultSuccess {
		code, hash, err := auth.NewSecret(OneTimeCodePrefix)
		if err != nil {
			return Callback{}, apierr.Wrap(apierr.Internal, err, "internal error")
		}
		now := s.now()
		if err := s.store.CreateOAuthCode(ctx, store.OAuthCode{Hash: hash, UserID: u.ID, Provider: provider,
			CodeChallenge: f.CodeChallenge, CreatedAt: now, ExpiresAt: now.Add(OneTimeCodeTTL)}); err != nil {
			return Callback{}, storeErr(err, "oauth code")
		}
		q.Set("code", code)
	} else {
		q.Set("error", "access_denied")
		q.Set("error_description", ResultMessage(result))
		q.Set("result", result)
	}
	q.Set("state", f.CLIState)
	back.RawQuery = q.Encode()
	return Callback{Redirect: back.String()}, nil
}

// boundTo reports whether cookies hold name with value (constant time).
func boundTo(cookies []*http.Cookie, name, value string) bool {
	for _, c := range cookies {
		if c.Name == name && value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(value)) == 1 {
			return true
		}
	}
	return false
}

// loginAt turns the provider's answer into a user, or a refusal's result.
func (s *Service) loginAt(ctx context.Context, p *oauth.Provider, query url.Values, sec flowSecrets) (store.User, string) {
	name := p.Config().Name
	switch e := query.Get("error"); {
	case e == "access_denied":
		s.refuse(ctx, name, "", hubapi.ResultDenied)
		return store.User{}, hubapi.ResultDenied
	case e != "" || query.Get("code") == "":
		s.log.Warn("oauth login failed at the provider", "requestId", requestid.From(ctx), "provider", name, "error", clipText(e))
		s.refuse(ctx, name, "", hubapi.ResultError)
		return store.User{}, hubapi.ResultError
	}
	id, err := p.Exchange(ctx, query.Get("code"), sec.Verifier, sec.Nonce)
	if err != nil {
		s.log.Warn("oauth login rejected", "requestId", requestid.From(ctx), "provider", name, "error", err.Error())
		s.refuse(ctx, name, "", hubapi.ResultError)
		return store.User{}, hubapi.ResultError
	}
	u, result, err := s.resolveAccount(ctx, p.Config(), id)
	if err != nil {
		s.log.Error("oauth login: account resolution failed", "requestId", requestid.From(ctx), "provider", name, "error", err.Error())
		return store.User{}, hubapi.ResultError
	}
	return u, result
}

// resolveAccount maps an identity to an operator user (decision 0026): by
// its link, else by a verified email equal to a user's (which links it),
// else — when the email's domain is allowed — a new member of the default
// org. Refusals are audited with their reason.
func (s *Service) resolveAccount(ctx context.Context, cfg oauth.Config, id oauth.Identity) (store.User, string, error) {
	now := s.now()
	email := oauth.FoldEmail(id.Email)
	link, err := s.store.GetIdentity(ctx, cfg.Name, id.Subject)
	switch {
	case err == nil:
		u, err := s.store.GetUser(ctx, link.UserID)
		if err != nil {
			return store.User{}, "", err
		}
		u, result, err := s.admit(ctx, cfg.Name, u, now)
		if err == nil && result == hubapi.ResultSuccess {
			// The link's last login, for operators' records; a failure
			// to note it does not fail the login.
			if err := s.store.TouchIdentity(ctx, cfg.Name, id.Subject, now); err != nil {
				s.log.Warn("oauth: could not record the identity's last login", "requestId", requestid.From(ctx), "provider", cfg.Name, "error", err.Error())
			}
		}
		return u, result, err
	case !errors.Is(err, store.ErrNotFound):
		return store.User{}, "", err
	}
	if email == "" || !id.EmailVerified {
		s.refuse(ctx, cfg.Name, email, hubapi.ResultUnverifiedEmail)
		return store.User{}, hubapi.ResultUnverifiedEmail, nil
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Created only in the spelling the rest of the Hub normalizes
		// emails to (names.Email), or `stk user disable` and the like
		// could not name the user: "JOSÉ@…" would be stored as is.
		if norm, bad := names.Email("email", email); bad != nil || norm != email || !cfg.DomainAllowed(email) {
			s.refuse(ctx, cfg.Name, email, hubapi.ResultUnknownEmail)
			return store.User{}, hubapi.ResultUnknownEmail, nil
		}
		org, err := s.store.GetOrg(ctx, store.DefaultOrg)
		if err != nil {
			return store.User{}, "", err
		}
		u = store.User{ID: ids.New(ids.User), Email: email, Status: store.UserActive, CreatedAt: now}
		if err := s.store.CreateUser(ctx, u, org.ID, auth.OrgMember); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				return store.User{}, "", err
			}
			// Created by a concurrent login: use it.
			if u, err = s.store.GetUserByEmail(ctx, email); err != nil {
				return store.User{}, "", err
			}
		} else {
			s.append(ctx, auth.Principal{Name: "oauth " + cfg.Name}, org.ID, "", auth.UserCreate,
				"user "+email+" as member of org "+store.DefaultOrg+" (allowed domain)", outcomeSuccess)
		}
	case err != nil:
		return store.User{}, "", err
	}
	if u.Status != store.UserActive {
		return s.admit(ctx, cfg.Name, u, now)
	}
	err = s.store.LinkIdentity(ctx, store.Identity{Provider: cfg.Name, Subject: id.Subject, UserID: u.ID, Email: email,
		CreatedAt: now, LastLoginAt: now})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return store.User{}, "", err
	}
	if err == nil {
		s.recordOrg(ctx, auth.Principal{Name: u.Email}, store.DefaultOrg, auth.OAuthLink,
			"identity "+id.Subject+" at "+cfg.Name+" linked to user "+u.Email)
	}
	return s.admit(ctx, cfg.Name, u, now)
}

// admit lets u in unless it is disabled, and audits the outcome.
func (s *Service) admit(ctx context.Context, provider string, u store.User, now time.Time) (store.User, string, error) {
	if u.Status != store.UserActive {
		s.refuse(ctx, provider, u.Email, hubapi.ResultDisabled)
		return store.User{}, hubapi.ResultDisabled, nil
	}
	s.recordOrg(ctx, auth.Principal{Name: u.Email}, store.DefaultOrg, auth.OAuthLogin, "user "+u.Email+" via "+provider)
	return u, hubapi.ResultSuccess, nil
}

// refuse audits a refused OAuth login with its reason (never a code,
// token or secret).
func (s *Service) refuse(ctx context.Context, provider, email, result string) {
	target := "login via " + provider + " refused: " + result
	if email != "" {
		target = "login of " + clipText(email) + " via " + provider + " refused: " + result
	}
	org, err := s.store.GetOrg(ctx, store.DefaultOrg)
	if err != nil {
		return
	}
	s.append(ctx, auth.Principal{Name: "oauth " + provider}, org.ID, "", auth.OAuthLogin, target, outcomeDenied)
}

var errBadOneTimeCode = apierr.New(apierr.Unauthorized, "the login code is invalid, expired or already used")

// OAuthToken exchanges the loopback's one-time code and the CLI's PKCE
// verifier for tokens. The code is spent whatever the outcome.
func (s *Service) OAuthToken(ctx context.Context, in hubapi.OAuthToken) (hubapi.Tokens, error) {
	var problems []apierr.Problem
	if in.Code == "" {
		problems = append(problems, apierr.Problem{Path: "code", Message: "required"})
	}
	if in.CodeVerifier == "" {
		problems = append(problems, apierr.Problem{Path: "codeVerifier", Message: "required"})
	}
	if len(problems) > 0 {
		return hubapi.Tokens{}, apierr.New(apierr.BadRequest, "code and codeVerifier are required").WithDetail("problems", problems)
	}
	if !strings.HasPrefix(in.Code, OneTimeCodePrefix) || len(in.Code) > 256 {
		return hubapi.Tokens{}, errBadOneTimeCode
	}
	c, err := s.store.TakeOAuthCode(ctx, auth.HashSecret(in.Code), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return hubapi.Tokens{}, errBadOneTimeCode
	}
	if err != nil {
		return hubapi.Tokens{}, storeErr(err, "oauth code")
	}
	sum := sha256.Sum256([]byte(in.CodeVerifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.CodeChallenge)) != 1 {
		return hubapi.Tokens{}, errBadOneTimeCode
	}
	return s.sessionFor(ctx, c.UserID)
}

// sessionFor opens a session for userID unless the user has been disabled
// since it was let in.
func (s *Service) sessionFor(ctx context.Context, userID string) (hubapi.Tokens, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return hubapi.Tokens{}, storeErr(err, "user")
	}
	if u.Status != store.UserActive {
		return hubapi.Tokens{}, apierr.New(apierr.Unauthorized, "this user is disabled")
	}
	return s.openSession(ctx, u.ID)
}

// DeviceCode starts a device login (RFC 8628 §3.2) at the named provider,
// or the only one.
func (s *Service) DeviceCode(ctx context.Context, in hubapi.DeviceCodeRequest, clientAddr string) (hubapi.DeviceCode, error) {
	name := in.Provider
	if name == "" {
		switch len(s.oauth.Providers) {
		case 0:
			return hubapi.DeviceCode{}, apierr.New(apierr.NotFound, "this Hub has no OAuth provider: log in with an email and password")
		case 1:
			name = s.oauth.Providers[0].Config().Name
		default:
			names := make([]string, 0, len(s.oauth.Providers))
			for _, p := range s.oauth.Providers {
				names = append(names, p.Config().Name)
			}
			return hubapi.DeviceCode{}, apierr.New(apierr.BadRequest, "provider is required: this Hub has %s", strings.Join(names, ", ")).
				WithDetail("problems", []apierr.Problem{{Path: "provider", Message: "required: one of " + strings.Join(names, ", ")}})
		}
	}
	p, err := s.provider(name)
	if err != nil {
		return hubapi.DeviceCode{}, err
	}
	if err := s.limitStarts(clientAddr); err != nil {
		return hubapi.DeviceCode{}, err
	}
	now := s.now()
	if err := s.store.SweepOAuth(ctx, now); err != nil {
		return hubapi.DeviceCode{}, storeErr(err, "device codes")
	}
	device, hash, err := auth.NewSecret(DeviceCodePrefix)
	if err != nil {
		return hubapi.DeviceCode{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	for try := 0; ; try++ {
		user := newUserCode()
		err := s.store.CreateDeviceCode(ctx, store.DeviceCode{Hash: hash, UserCodeHash: auth.HashSecret(user),
			Provider: p.Config().Name, Interval: s.oauth.DeviceInterval, CreatedAt: now, ExpiresAt: now.Add(s.oauth.DeviceTTL)})
		if errors.Is(err, store.ErrConflict) && try < 5 {
			continue // a live code has this user code: draw another
		}
		if err != nil {
			return hubapi.DeviceCode{}, storeErr(err, "device code")
		}
		shown := user[:4] + "-" + user[4:]
		verify := s.oauth.PublicURL + "/v1/auth/device"
		return hubapi.DeviceCode{DeviceCode: device, UserCode: shown, VerificationURI: verify,
			VerificationURIComplete: verify + "?user_code=" + shown,
			ExpiresIn:               int(s.oauth.DeviceTTL / time.Second), Interval: seconds(s.oauth.DeviceInterval)}, nil
	}
}

// newUserCode draws 8 letters of userCodeLetters (about 34 bits).
func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		// 256 = 12*20 + 16: the bias is under 7% between letters and the
		// code lives minutes behind a rate limit.
		b[i] = userCodeLetters[int(b[i])%len(userCodeLetters)]
	}
	return string(b)
}

// NormalizeUserCode reads a typed user code: case-insensitive, with or
// without the dash and spaces. ok is false for anything that cannot be one.
func NormalizeUserCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(s) != 8 {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(userCodeLetters, r) {
			return "", false
		}
	}
	return s, true
}

var errUnknownUserCode = apierr.New(apierr.BadRequest, "unknown or expired code: check it, or run stk login --device again").
	WithDetail("problems", []apierr.Problem{{Path: "user_code", Message: "unknown or expired code"}})

// DeviceVerify takes the user code typed on the Hub's device page and
// starts the provider flow for its device code. Wrong codes count against
// the client address (429 past DeviceTriesPerMinute a minute).
func (s *Service) DeviceVerify(ctx context.Context, userCode, clientAddr string) (Started, error) {
	if len(s.oauth.Providers) == 0 {
		return Started{}, errUnknownUserCode
	}
	key := "device:" + addressKey(clientAddr)
	if wait := s.oauth.tries.Blocked(key); wait > 0 {
		return Started{}, apierr.New(apierr.TooManyRequests, "too many wrong codes: try again in %d seconds", retryAfter(wait)).
			WithHeader("Retry-After", strconv.Itoa(retryAfter(wait)))
	}
	code, ok := NormalizeUserCode(userCode)
	if !ok {
		s.oauth.tries.Fail(key)
		return Started{}, errUnknownUserCode
	}
	d, err := s.store.PendingDeviceCode(ctx, auth.HashSecret(code), s.now())
	if errors.Is(err, store.ErrNotFound) {
		s.oauth.tries.Fail(key)
		return Started{}, errUnknownUserCode
	}
	if err != nil {
		return Started{}, storeErr(err, "device code")
	}
	p, err := s.provider(d.Provider)
	if err != nil {
		return Started{}, err
	}
	if err := s.limitStarts(clientAddr); err != nil {
		return Started{}, err
	}
	return s.beginFlow(ctx, p, store.OAuthFlow{DeviceHash: d.Hash})
}

// settleDevice records a device login's outcome for its poller. settled
// is false when the code expired (or another tab settled it) meanwhile:
// the CLI then sees expired_token and the page says the link is no longer
// good, not that the login worked.
func (s *Service) settleDevice(ctx context.Context, deviceHash string, u store.User, result string) (settled bool, err error) {
	status, userID := store.DeviceDenied, ""
	if result == hubapi.ResultSuccess {
		status, userID, result = store.DeviceApproved, u.ID, ""
	}
	err = s.store.SettleDeviceCode(ctx, deviceHash, status, result, userID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, storeErr(err, "device code")
}

// devicePoll is the §3 envelope of a poll answered without tokens.
func devicePoll(code apierr.Code, reason, format string, args ...any) *apierr.Error {
	return apierr.New(code, format, args...).WithDetail("reason", reason)
}

// DeviceToken answers a device poll (RFC 8628 §3.4–3.5): tokens once
// approved (single use), else the reason in details.reason.
func (s *Service) DeviceToken(ctx context.Context, in hubapi.DeviceToken) (hubapi.Tokens, error) {
	if in.DeviceCode == "" {
		return hubapi.Tokens{}, apierr.New(apierr.BadRequest, "deviceCode is required").
			WithDetail("problems", []apierr.Problem{{Path: "deviceCode", Message: "required"}})
	}
	expired := devicePoll(apierr.Unauthorized, hubapi.DeviceExpiredToken,
		"the device code is invalid, expired or already used: run stk login --device again")
	if !strings.HasPrefix(in.DeviceCode, DeviceCodePrefix) || len(in.DeviceCode) > 256 {
		return hubapi.Tokens{}, expired
	}
	d, err := s.store.PollDeviceCode(ctx, auth.HashSecret(in.DeviceCode), s.now(), SlowDownStep)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return hubapi.Tokens{}, expired
	case errors.Is(err, store.ErrSlowDown):
		n := seconds(d.Interval)
		return hubapi.Tokens{}, devicePoll(apierr.TooManyRequests, hubapi.DeviceSlowDown,
			"polling too fast: wait %d seconds between polls", n).WithDetail("interval", n).WithHeader("Retry-After", strconv.Itoa(n))
	case err != nil:
		return hubapi.Tokens{}, storeErr(err, "device code")
	}
	switch d.Status {
	case store.DeviceApproved:
		tok, err := s.sessionFor(ctx, d.UserID)
		if apierr.As(err).Code == apierr.Unauthorized {
			return hubapi.Tokens{}, devicePoll(apierr.Forbidden, hubapi.DeviceAccessDenied, "%s", ResultMessage(hubapi.ResultDisabled)).
				WithDetail("result", hubapi.ResultDisabled)
		}
		return tok, err
	case store.DeviceDenied:
		return hubapi.Tokens{}, devicePoll(apierr.Forbidden, hubapi.DeviceAccessDenied, "%s", ResultMessage(d.Result)).
			WithDetail("result", d.Result)
	}
	return hubapi.Tokens{}, devicePoll(apierr.BadRequest, hubapi.DeviceAuthorizationPending,
		"the login is not approved yet: poll again in %d seconds", seconds(d.Interval))
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clipText keeps text from a request or provider short and printable for
// messages and logs.
func clipText(s string) string {
	const max = 64
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
