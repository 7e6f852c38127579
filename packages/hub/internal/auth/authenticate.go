package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Prefixes of the Hub's opaque secrets.
const (
	TokenPrefix   = "stkpat_" // CI tokens
	RefreshPrefix = "stkrt_"  // refresh tokens
)

// NewSecret returns prefix + 32 random bytes in base62 and the hash to
// store (hex SHA-256: the secret is high-entropy, SPEC §7.2 reasoning).
func NewSecret(prefix string) (secret, hash string, err error) {
	s, err := apikey.Secret()
	if err != nil {
		return "", "", err
	}
	return prefix + s, apikey.Hash(prefix + s), nil
}

// HashSecret is the stored form of a presented opaque secret.
func HashSecret(secret string) string { return apikey.Hash(secret) }

// Authenticator turns the Authorization header of a request into a
// Principal. Every call reads the store: a disabled user, a revoked session
// or token stops working at once, not when its token expires.
type Authenticator struct {
	Store *store.Store
	Keys  *Keys
	Now   func() time.Time
}

// Authenticate resolves header ("Bearer <access token | stkpat_…>"). A
// missing or unusable credential gives an anonymous Principal whose Problem
// says why; err is only for a store failure.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	if header == "" {
		return Principal{}, nil
	}
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return Principal{Problem: "the Authorization header must be Bearer <access token or CI token>"}, nil
	}
	cred = strings.TrimSpace(cred)
	if strings.HasPrefix(cred, TokenPrefix) {
		return a.ciToken(ctx, cred)
	}
	return a.accessToken(ctx, cred)
}

func (a *Authenticator) ciToken(ctx context.Context, cred string) (Principal, error) {
	const bad = "CI token is invalid, expired or revoked"
	t, err := a.Store.GetTokenByHash(ctx, HashSecret(cred))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{Problem: bad}, nil
	}
	if err != nil {
		return Principal{}, err
	}
	if t.Status != store.KeyActive || (t.ExpiresAt != nil && !a.Now().Before(*t.ExpiresAt)) {
		return Principal{Problem: bad}, nil
	}
	u, err := a.Store.GetUser(ctx, t.UserID)
	if err != nil {
		return Principal{}, err
	}
	if u.Status != store.UserActive {
		return Principal{Problem: bad}, nil
	}
	return Principal{Kind: KindToken, ID: t.ID, Name: "token " + t.Name + " (" + u.Email + ")", UserID: t.UserID,
		TokenProjectID: t.ProjectID, TokenProject: t.ProjectName, TokenRole: t.Role, ExpiresAt: t.ExpiresAt}, nil
}

func (a *Authenticator) accessToken(ctx context.Context, cred string) (Principal, error) {
	claims, err := a.Keys.Verify(ctx, cred)
	if errors.Is(err, ErrInvalidToken) {
		return Principal{Problem: ErrInvalidToken.Error()}, nil
	}
	if err != nil {
		return Principal{}, err // the store: 503, not a 401 that sends the operator to log in
	}
	sess, err := a.Store.GetSession(ctx, claims.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{Problem: ErrInvalidToken.Error()}, nil
	}
	if err != nil {
		return Principal{}, err
	}
	if sess.RevokedAt != nil || sess.UserID != claims.Subject || !a.Now().Before(sess.ExpiresAt) {
		return Principal{Problem: "session ended (logged out or revoked): log in again (stk login)"}, nil
	}
	u, err := a.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return Principal{}, err
	}
	if u.Status != store.UserActive {
		return Principal{Problem: "this user is disabled"}, nil
	}
	exp := claims.ExpiresAt.Time
	return Principal{Kind: KindUser, ID: u.ID, Name: u.Email, UserID: u.ID, SessionID: sess.ID, ExpiresAt: &exp}, nil
}
