package hubapi

// Operator login through an OAuth/OIDC provider (SPEC §7.1, §15; issue 14;
// decision 0026): the loopback browser flow with PKCE and the device flow
// (RFC 8628). The Hub's answers are the same Tokens as a password login.

// Provider is one item of GET /v1/auth/providers (public).
type Provider struct {
	// Name as in STK_OAUTH_PROVIDERS, lower case; it is the {provider} of
	// the /v1/auth/oauth routes and stk login's --provider.
	Name string `json:"name"`
	// Type is ProviderOIDC or ProviderGitHub.
	Type string `json:"type"`
}

// Provider types (STK_OAUTH_<NAME>_TYPE).
const (
	ProviderOIDC   = "oidc"
	ProviderGitHub = "github"
)

// OAuthToken is the body of POST /v1/auth/oauth/token: the one-time code
// the Hub put on the loopback redirect and the PKCE verifier of the
// code_challenge the CLI sent to /start.
type OAuthToken struct {
	Code         string `json:"code"`
	CodeVerifier string `json:"codeVerifier"`
}

// DeviceCodeRequest is the body of POST /v1/auth/device/code. Provider may
// be empty when the Hub has exactly one.
type DeviceCodeRequest struct {
	Provider string `json:"provider,omitempty"`
}

// DeviceCode is the answer of POST /v1/auth/device/code (RFC 8628 §3.2).
type DeviceCode struct {
	DeviceCode              string `json:"deviceCode"`
	UserCode                string `json:"userCode"`
	VerificationURI         string `json:"verificationUri"`
	VerificationURIComplete string `json:"verificationUriComplete"`
	// ExpiresIn and Interval are seconds.
	ExpiresIn int `json:"expiresIn"`
	Interval  int `json:"interval"`
}

// DeviceToken is the body of POST /v1/auth/device/token.
type DeviceToken struct {
	DeviceCode string `json:"deviceCode"`
}

// Reasons a device-token poll is not answered with tokens, carried in the
// §3 envelope's details.reason (RFC 8628 §3.5 names):
//   - authorization_pending: 400 BAD_REQUEST, poll again after the interval;
//   - slow_down: 429 TOO_MANY_REQUESTS with Retry-After and
//     details.interval, the new interval in seconds;
//   - expired_token: 401 UNAUTHORIZED, the device code expired (or is
//     unknown, or was already exchanged);
//   - access_denied: 403 FORBIDDEN, the login was refused (the message
//     says why, e.g. an unknown email).
const (
	DeviceAuthorizationPending = "authorization_pending"
	DeviceSlowDown             = "slow_down"
	DeviceExpiredToken         = "expired_token"
	DeviceAccessDenied         = "access_denied"
)

// Results of a browser login, the `result` query parameter of the Hub's
// page GET /v1/auth/oauth/done, where the CLI's loopback listener sends
// the browser once it has exchanged the code (or learned of a refusal):
// the Hub renders fixed text for each, never text taken from the URL.
const (
	ResultSuccess         = "success"
	ResultUnknownEmail    = "unknown_email"    // no user with that email, domain not allowed
	ResultUnverifiedEmail = "unverified_email" // the provider does not vouch for the email
	ResultDisabled        = "disabled"         // the user is disabled
	ResultDenied          = "denied"           // the provider or the user cancelled
	ResultExpired         = "expired"          // the login took too long or its link was reused
	ResultError           = "error"            // anything else: try again, see the terminal
)
