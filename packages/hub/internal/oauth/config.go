// Package oauth holds the Hub's side of operator login through identity
// providers (SPEC §7.1, decision 0026): the providers' configuration from
// STK_OAUTH_* variables, and a client per provider that builds the
// authorization URL (the Hub's own state, nonce and PKCE) and turns the
// provider's code into a verified identity — an OIDC ID token checked
// with go-oidc (signature by the issuer's JWKS, iss, aud, exp, nonce), or
// GitHub's user id and primary verified email from its API. Account
// resolution, codes and sessions are the service's; this package knows
// nothing of users.
package oauth

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// Config is one provider. ClientSecret is a secret: LogValue leaves it out
// and no error of this package contains it.
type Config struct {
	Name           string
	Type           string // hubapi.ProviderOIDC | hubapi.ProviderGitHub
	Issuer         string // OIDC issuer; GitHub: an Enterprise Server base URL, or empty for github.com
	ClientID       string
	ClientSecret   string
	Scopes         []string
	AllowedDomains []string // lower case, without "@"
}

// LogValue is what logs show of a provider: never the client secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("type", c.Type), slog.String("issuer", c.Issuer))
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ValidName reports whether name is spelled as a provider name can be.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Default scopes per type.
var (
	oidcScopes   = []string{"openid", "email", "profile"}
	githubScopes = []string{"read:user", "user:email"}
)

// ConfigFromEnv reads STK_OAUTH_PROVIDERS and, for each NAME in it, the
// STK_OAUTH_<NAME>_* variables. Every error names the variable to fix and
// never quotes a secret.
func ConfigFromEnv(getenv func(string) string) ([]Config, error) {
	var out []Config
	seen := map[string]bool{}
	for _, name := range splitList(getenv("STK_OAUTH_PROVIDERS")) {
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("STK_OAUTH_PROVIDERS: provider name %q must match [a-z][a-z0-9_]{0,31}", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("STK_OAUTH_PROVIDERS: provider %q is listed twice", name)
		}
		seen[name] = true
		v := func(suffix string) (string, string) {
			key := "STK_OAUTH_" + strings.ToUpper(name) + "_" + suffix
			return key, strings.TrimSpace(getenv(key))
		}
		c := Config{Name: name}
		typeKey, typ := v("TYPE")
		switch c.Type = strings.ToLower(cmp.Or(typ, hubapi.ProviderOIDC)); c.Type {
		case hubapi.ProviderOIDC, hubapi.ProviderGitHub:
		default:
			return nil, fmt.Errorf("%s: unknown provider type %q (use oidc or github)", typeKey, typ)
		}
		issKey, iss := v("ISSUER")
		if iss == "" && c.Type == hubapi.ProviderOIDC {
			return nil, fmt.Errorf("%s is required for the oidc provider %s (the issuer URL, e.g. https://accounts.google.com)", issKey, name)
		}
		if iss != "" {
			var err error
			if c.Issuer, err = checkIssuer(iss); err != nil {
				return nil, fmt.Errorf("%s: %w", issKey, err)
			}
		}
		var idKey, secretKey string
		idKey, c.ClientID = v("CLIENT_ID")
		secretKey, c.ClientSecret = v("CLIENT_SECRET")
		if c.ClientID == "" {
			return nil, fmt.Errorf("%s is required (the client id the provider gave this Hub)", idKey)
		}
		if c.ClientSecret == "" {
			return nil, fmt.Errorf("%s is required (the client secret the provider gave this Hub)", secretKey)
		}
		_, scopes := v("SCOPES")
		c.Scopes = strings.FieldsFunc(scopes, func(r rune) bool { return r == ',' || r == ' ' })
		switch {
		case len(c.Scopes) == 0 && c.Type == hubapi.ProviderOIDC:
			c.Scopes = oidcScopes
		case len(c.Scopes) == 0:
			c.Scopes = githubScopes
		case c.Type == hubapi.ProviderOIDC && !slices.Contains(c.Scopes, "openid"):
			c.Scopes = append([]string{"openid"}, c.Scopes...)
		}
		domKey, domains := v("ALLOWED_DOMAINS")
		for _, d := range splitList(domains) {
			d = strings.ToLower(strings.TrimPrefix(d, "@"))
			if !validDomain(d) {
				return nil, fmt.Errorf("%s: %q is not an email domain (e.g. example.com)", domKey, d)
			}
			c.AllowedDomains = append(c.AllowedDomains, d)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Config) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// checkIssuer accepts an absolute https:// URL, or http:// to a loopback
// host, with no user info, query or fragment; it drops a trailing slash.
// The value is not quoted in errors: a URL may carry credentials.
func checkIssuer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("must be an absolute https:// URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must not carry user info, a query or a fragment")
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		return "", errors.New("must be https:// (http:// is accepted only for a loopback host: 127.0.0.0/8, [::1], localhost)")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// IsLoopbackHost reports whether host (no port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// DomainAllowed reports whether email's domain is one of c's allowed ones
// (exactly: a subdomain is another domain).
func (c Config) DomainAllowed(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return at >= 0 && slices.Contains(c.AllowedDomains, FoldEmail(email[at+1:]))
}

// FoldEmail is a provider's email as the Hub compares it: trimmed, ASCII
// letters lower-cased and nothing else folded. Unicode case mapping would
// make addresses a provider verified as distinct equal to an operator's:
// the Kelvin sign K (U+212A) lower-cases to k, so "Kim@example.com"
// would have linked the identity to kim@example.com's account.
func FoldEmail(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
