package hubclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// Operator login through an OAuth/OIDC provider (SPEC §7.1, §15; issue 14):
// every call here is public (no bearer token), since it is how a
// credential is obtained in the first place.

// Providers calls GET /v1/auth/providers: the Hub's OAuth providers,
// sorted by name.
func (c *Client) Providers(ctx context.Context) (hubapi.List[hubapi.Provider], error) {
	var out hubapi.List[hubapi.Provider]
	_, err := c.send(ctx, http.MethodGet, "/v1/auth/providers", "", nil, &out, false)
	return out, err
}

// OAuthToken calls POST /v1/auth/oauth/token: the one-time code of the
// loopback redirect and the PKCE verifier, exchanged for the tokens of a
// login.
func (c *Client) OAuthToken(ctx context.Context, in hubapi.OAuthToken) (hubapi.Tokens, error) {
	var out hubapi.Tokens
	_, err := c.postNoAuth(ctx, "/v1/auth/oauth/token", in, &out)
	return out, err
}

// DeviceCode calls POST /v1/auth/device/code (RFC 8628 §3.1).
func (c *Client) DeviceCode(ctx context.Context, provider string) (hubapi.DeviceCode, error) {
	var out hubapi.DeviceCode
	_, err := c.postNoAuth(ctx, "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: provider}, &out)
	return out, err
}

// DeviceToken calls POST /v1/auth/device/token once. Until the login is
// approved the Hub answers an *Error whose reason DevicePoll reads.
func (c *Client) DeviceToken(ctx context.Context, deviceCode string) (hubapi.Tokens, error) {
	var out hubapi.Tokens
	_, err := c.postNoAuth(ctx, "/v1/auth/device/token", hubapi.DeviceToken{DeviceCode: deviceCode}, &out)
	return out, err
}

// DevicePoll reads a device-token poll answered without tokens: reason is
// its details.reason (one of hubapi.Device*; "" for any other error) and
// interval the new poll interval a slow_down asks for (details.interval,
// else Retry-After; zero when neither says).
func DevicePoll(err error) (reason string, interval time.Duration) {
	var he *Error
	if !errors.As(err, &he) {
		return "", 0
	}
	reason, _ = he.Details["reason"].(string)
	// JSON numbers decode as float64.
	if n, ok := he.Details["interval"].(float64); ok && n > 0 {
		interval = time.Duration(n * float64(time.Second))
	}
	if interval == 0 {
		interval = he.RetryAfter
	}
	return reason, interval
}

// OAuthStartURL is the Hub page that starts a browser login with provider
// (GET /v1/auth/oauth/{provider}/start), for the user's browser: the
// loopback redirectURI, the S256 challenge of the CLI's PKCE verifier and
// the CLI's state.
func (c *Client) OAuthStartURL(provider, redirectURI, codeChallenge, state string) string {
	q := url.Values{
		"redirect_uri":          {redirectURI},
		"code_challenge":        {codeChallenge},
		"code_challenge_method": {"S256"},
		"state":                 {state},
	}
	return c.pageURL("/v1/auth/oauth/"+seg(provider)+"/start", q)
}

// OAuthDoneURL is the Hub's result page of a browser login
// (GET /v1/auth/oauth/done?result=…), where the loopback listener sends
// the browser once the login is over.
func (c *Client) OAuthDoneURL(result string) string {
	return c.pageURL("/v1/auth/oauth/done", url.Values{"result": {result}})
}

// pageURL is a Hub URL for a browser: the base without user info (a
// browser must never be handed the Hub's credentials), path and query.
func (c *Client) pageURL(path string, q url.Values) string {
	u := *c.base
	u.User = nil
	return u.String() + path + "?" + q.Encode()
}
