// Package enduser verifies end-user JWTs for the Bridge (SPEC §4.2 step 3,
// §7.3) against an env's released auth config: the token's `iss` picks the
// trusted issuer, whose JWKS (found by OIDC discovery or its jwksUrl) is
// cached per issuer (keys.go); the signature, algorithm, `exp`/`nbf`,
// `aud` and `sub` are checked, and the verified identity is cached by the
// token's digest until it expires, so a repeat call costs a hash and a map
// lookup. JWS parsing and signature checks are golang-jwt's; key caching,
// JWKS parsing and the key-type rules are ours (docs/decisions/0018).
//
// Token values are never logged nor put in errors: a failure's Reason says
// what is wrong with the token, not what it holds.
package enduser

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/packages/core/authconfig"
)

// Limits and defaults of SPEC §7.3.
const (
	// MaxTokenBytes: longer tokens are refused unparsed.
	MaxTokenBytes = 8 << 10
	// Skew is the clock skew allowed on exp and nbf.
	Skew = 60 * time.Second
	// DefaultMaxTokens bounds the verified-token cache.
	DefaultMaxTokens = 10_000
)

// Algorithms is the allow-list (never none, never HMAC).
var algorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// Identity is a verified end user. It is shared by every call that
// presents the same token: read it, never modify it.
type Identity struct {
	// IssuerName is the auth config's name of the issuer (for logs).
	IssuerName string
	// Subject is `sub`.
	Subject string
	// Roles are the roles claim's values, plus "authenticated".
	Roles []string
	// Claims are the token's other claims, JSON-decoded (string,
	// json.Number, bool, nil, []any, map[string]any): everything but sub and
	// the roles claim. Numbers keep their text: a 64-bit id decoded as a
	// float64 would become another id.
	Claims map[string]any
}

// Error is a token that does not verify (→ 401), or, when Unavailable, an
// issuer whose keys cannot be had at all (→ 503). Reason is safe to show.
type Error struct {
	Reason      string
	Unavailable bool
}

func (e *Error) Error() string { return e.Reason }

func invalid(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Config configures a Verifier.
type Config struct {
	// Client fetches discovery documents and JWKS; nil means a client with
	// timeouts that refuses plain HTTP beyond loopback.
	Client *http.Client
	// Now is the clock (time.Now when nil): token times, key cache ages
	// and refresh intervals all read it, so tests can move it.
	Now func() time.Time
	// MaxTokens bounds the verified-token cache (DefaultMaxTokens).
	MaxTokens int
	Log       *slog.Logger
}

// Verifier verifies tokens for every env of a Bridge. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser

	mu     sync.Mutex
	issuer map[issuerKey]*keySet

	tokMu  sync.RWMutex
	tokens map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	issuer authconfig.Issuer
	id     *Identity
	exp    time.Time
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = NewClient()
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{cfg: cfg, issuer: map[issuerKey]*keySet{}, tokens: map[[sha256.Size]byte]cachedToken{}}
	v.parser = jwt.NewParser(jwt.WithValidMethods(algorithms), jwt.WithLeeway(Skew),
		jwt.WithTimeFunc(cfg.Now), jwt.WithExpirationRequired(), jwt.WithJSONNumber())
	return v
}

// Verify checks token against the issuers of doc (an env's released auth
// config; nil trusts nobody) and returns who it names.
func (v *Verifier) Verify(ctx context.Context, doc *authconfig.Document, token string) (*Identity, error) {
	if len(token) > MaxTokenBytes {
		return nil, invalid("the token is larger than %d bytes", MaxTokenBytes)
	}
	if doc == nil || len(doc.Issuers) == 0 {
		return nil, invalid("this env's release trusts no token issuer (stk auth apply, then a release)")
	}
	now := v.cfg.Now()
	digest := sha256.Sum256([]byte(token))
	v.tokMu.RLock()
	c, ok := v.tokens[digest]
	v.tokMu.RUnlock()
	if ok && now.Before(c.exp) {
		// The cached verification holds only while the env still trusts
		// the same issuer on the same terms.
		if iss := find(doc, c.issuer.Issuer); iss != nil && sameIssuer(iss, &c.issuer) {
			return c.id, nil
		}
	}

	var matched *authconfig.Issuer
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		if matched = find(doc, iss); matched == nil {
			return nil, invalid("the token's issuer is not trusted by this env")
		}
		kid, _ := t.Header["kid"].(string)
		return v.keys(matched).lookup(ctx, v, kid, t.Method.Alg())
	})
	if err != nil {
		return nil, classify(err)
	}
	if matched.Audience != "" {
		aud, _ := claims.GetAudience()
		if !contains(aud, matched.Audience) {
			return nil, invalid("the token's audience does not include %s", matched.Audience)
		}
	}
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return nil, invalid("the token has no sub (subject) string")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, invalid("the token has no valid exp")
	}
	id := identity(matched, sub, claims)
	v.remember(digest, cachedToken{issuer: *matched, id: id, exp: exp.Time}, now)
	return id, nil
}

// identity builds the caller of §7.3 from verified claims.
func identity(iss *authconfig.Issuer, sub string, claims jwt.MapClaims) *Identity {
	rolesClaim := iss.RolesClaim
	if rolesClaim == "" {
		rolesClaim = "roles"
		if _, ok := claims[rolesClaim]; !ok {
			rolesClaim = "role"
		}
	}
	var roles []string
	switch r := claims[rolesClaim].(type) {
	case string:
		roles = append(roles, r)
	case []any:
		for _, x := range r {
			if s, ok := x.(string); ok {
				roles = append(roles, s)
			}
		}
	}
	if !contains(roles, "authenticated") {
		roles = append(roles, "authenticated")
	}
	delete(claims, "sub")
	delete(claims, rolesClaim)
	return &Identity{IssuerName: iss.Name, Subject: sub, Roles: roles, Claims: claims}
}

// remember caches a verified token until its exp, keeping the cache
// bounded: expired entries go first, then arbitrary ones.
func (v *Verifier) remember(digest [sha256.Size]byte, c cachedToken, now time.Time) {
	v.tokMu.Lock()
	defer v.tokMu.Unlock()
	if len(v.tokens) >= v.cfg.MaxTokens {
		for d, old := range v.tokens {
			if !now.Before(old.exp) {
				delete(v.tokens, d)
			}
		}
		for d := range v.tokens {
			if len(v.tokens) < v.cfg.MaxTokens*3/4 {
				break
			}
			delete(v.tokens, d)
		}
	}
	v.tokens[digest] = c
}

// classify turns a parse failure into an Error whose reason names the
// problem without quoting the token.
func classify(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("the token is malformed")
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalid("the token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("the token is not valid yet")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return invalid("the token has no exp")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("the token's signature does not verify or its algorithm is not accepted (RS256, PS256, ES256, EdDSA)")
	}
	return invalid("the token does not verify")
}

// find returns the issuer of doc whose identifier is exactly iss.
func find(doc *authconfig.Document, iss string) *authconfig.Issuer {
	if iss == "" {
		return nil
	}
	for i := range doc.Issuers {
		if doc.Issuers[i].Issuer == iss {
			return &doc.Issuers[i]
		}
	}
	return nil
}

func sameIssuer(a, b *authconfig.Issuer) bool {
	return a.Name == b.Name && a.Issuer == b.Issuer && a.Audience == b.Audience &&
		a.JWKSURL == b.JWKSURL && a.RolesClaim == b.RolesClaim
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
