package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Access tokens (SPEC §7.1): EdDSA JWTs with iss, sub, aud, iat, exp, jti
// and sid, signed by the newest signing key.
const (
	Issuer   = "santokit-hub"
	Audience = "santokit-hub"
	// AccessTTL is the lifetime of an access token.
	AccessTTL = 15 * time.Minute
	// SigningKeyMaxAge is how long a key signs before a new one takes over.
	SigningKeyMaxAge = 30 * 24 * time.Hour
	// clockSkew is the leeway for iat/exp between Hub replicas.
	clockSkew = 30 * time.Second
	// keyReload spaces the full reloads of the keys (each a store read and
	// as many decryptions), which also drop the retired keys past their
	// grace.
	keyReload = 30 * time.Second
	// keyCheck spaces the one-row reads of the active key's id, which is
	// how a rotation made elsewhere (another replica, `stk-hub keys
	// rotate-signing` on the store) is noticed: within keyCheck, so that a
	// running Hub signs with and publishes the new key within a second.
	keyCheck = 500 * time.Millisecond
	// forcedReloadEvery spaces the reloads that a token with an unknown
	// kid asks for: anyone can send one, and each is a store read and as
	// many decryptions, under the lock that Sign and Verify need.
	forcedReloadEvery = time.Second
	// retiredGrace is how long a retired key still verifies: the tokens it
	// signed live AccessTTL, and a replica whose cache is keyReload old may
	// sign with it that much after it retired, on a clock clockSkew off.
	retiredGrace = AccessTTL + keyReload + clockSkew
)

// Claims are the claims of a Hub access token.
type Claims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

type signingKey struct {
	id      string
	public  ed25519.PublicKey
	private ed25519.PrivateKey
	created time.Time
	retired *time.Time
}

// Keys holds the signing keys: it signs with the newest, verifies with any
// key retired less than retiredGrace ago (the tokens it signed may still be
// alive), and rotates the newest after SigningKeyMaxAge. Keys live in the
// store sealed by the key ring, so every Hub replica signs and verifies
// with the same set.
type Keys struct {
	store *store.Store
	ring  *secrets.Ring
	now   func() time.Time

	mu        sync.Mutex
	keys      []signingKey // newest first
	loadedAt  time.Time
	checkedAt time.Time // the last read of the active key's id
	forcedAt  time.Time // the last reload asked for by an unknown kid
}

// NewKeys returns the signing keys of st, sealed by ring.
func NewKeys(st *store.Store, ring *secrets.Ring, now func() time.Time) *Keys {
	return &Keys{store: st, ring: ring, now: now}
}

// Rotate makes a new key the signing key at once; the previous one stays
// valid for verification for retiredGrace (stk-hub keys rotate-signing).
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rotateLocked(ctx)
}

func (k *Keys) rotateLocked(ctx context.Context) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	id := ids.New(ids.SigningKey)
	version, sealed, err := k.ring.Seal(priv.Seed(), secrets.SigningKeyAAD(id))
	if err != nil {
		return "", err
	}
	if err := k.store.AddSigningKey(ctx, store.SigningKey{ID: id, PublicKey: pub, Ciphertext: sealed,
		KeyVersion: version, CreatedAt: k.now()}); err != nil {
		return "", err
	}
	k.loadedAt = time.Time{}
	return id, k.loadLocked(ctx)
}

// load reads the live keys from the store when the cache is old, or when
// the store's active key is not the cached one (checked every keyCheck).
func (k *Keys) load(ctx context.Context, force bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if force || now.Sub(k.loadedAt) >= keyReload {
		return k.loadLocked(ctx)
	}
	if now.Sub(k.checkedAt) < keyCheck {
		return nil
	}
	k.checkedAt = now
	active, err := k.store.ActiveSigningKeyID(ctx)
	if err != nil {
		// The cached keys stay good: the next full reload reports the
		// store's failure where it matters.
		return nil
	}
	if cached := k.activeLocked(); active != cached {
		return k.loadLocked(ctx)
	}
	return nil
}

// activeLocked is the id of the cached key that signs, or "".
func (k *Keys) activeLocked() string {
	if len(k.keys) == 0 || k.keys[0].retired != nil {
		return ""
	}
	return k.keys[0].id
}

func (k *Keys) loadLocked(ctx context.Context) error {
	now := k.now()
	rows, err := k.store.SigningKeys(ctx, now.Add(-retiredGrace))
	if err != nil {
		return err
	}
	keys := make([]signingKey, 0, len(rows))
	for _, r := range rows {
		seed, err := k.ring.Open(r.KeyVersion, r.Ciphertext, secrets.SigningKeyAAD(r.ID))
		if err != nil {
			return fmt.Errorf("open signing key %s: %w", r.ID, err)
		}
		if len(seed) != ed25519.SeedSize {
			return fmt.Errorf("signing key %s: bad seed", r.ID)
		}
		keys = append(keys, signingKey{id: r.ID, public: r.PublicKey, private: ed25519.NewKeyFromSeed(seed),
			created: r.CreatedAt, retired: r.RetiredAt})
	}
	k.keys, k.loadedAt, k.checkedAt = keys, now, now
	return nil
}

// current returns the signing key, creating the first one or rotating an
// old one as needed.
func (k *Keys) current(ctx context.Context) (signingKey, error) {
	if err := k.load(ctx, false); err != nil {
		return signingKey{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 || k.keys[0].retired != nil || k.now().Sub(k.keys[0].created) >= SigningKeyMaxAge {
		if _, err := k.rotateLocked(ctx); err != nil {
			return signingKey{}, err
		}
	}
	return k.keys[0], nil
}

// Sign returns an access token for the user's session.
func (k *Keys) Sign(ctx context.Context, userID, sessionID string) (string, time.Time, error) {
	key, err := k.current(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := k.now()
	exp := now.Add(AccessTTL)
	claims := Claims{SessionID: sessionID, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: userID, Audience: jwt.ClaimStrings{Audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp), ID: ids.New("jti_"),
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.id
	s, err := t.SignedString(key.private)
	return s, exp, err
}

// ErrInvalidToken: the access token is malformed, forged, expired or
// signed by a key that is gone. The text never includes the token.
var ErrInvalidToken = errors.New("access token is invalid or expired: log in again (stk login)")

// keyStoreError is a failure to read the signing keys while verifying: the
// token may be fine, so it is not ErrInvalidToken (a 401 would send the
// operator to log in again while the store is what is down).
type keyStoreError struct{ err error }

func (e *keyStoreError) Error() string { return "read signing keys: " + e.err.Error() }
func (e *keyStoreError) Unwrap() error { return e.err }

// Verify checks an access token's signature, algorithm, issuer, audience
// and times, and returns its claims. A bad token is ErrInvalidToken; any
// other error is the store's.
func (k *Keys) Verify(ctx context.Context, token string) (Claims, error) {
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return k.publicKey(ctx, kid)
	}, jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		// Hub replicas' clocks may differ a little.
		jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(k.now))
	if se := (*keyStoreError)(nil); errors.As(err, &se) {
		return Claims{}, se.err
	}
	if err != nil || claims.SessionID == "" || claims.Subject == "" {
		return Claims{}, ErrInvalidToken
	}
	return claims, nil
}

// publicKey finds kid's key: in the cache, reloaded when old; then, for a
// kid still unknown (perhaps another replica's new key), in one forced
// reload — at most one per forcedReloadEvery. A failed reload does not stop
// a key the cache holds.
func (k *Keys) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	loadErr := k.load(ctx, false)
	if pk, ok := k.lookup(kid); ok {
		return pk, nil
	}
	if loadErr == nil && k.mayForce() {
		loadErr = k.load(ctx, true)
		if pk, ok := k.lookup(kid); ok {
			return pk, nil
		}
	}
	if loadErr != nil {
		return nil, &keyStoreError{loadErr}
	}
	return nil, ErrInvalidToken
}

func (k *Keys) lookup(kid string) (ed25519.PublicKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keys {
		if key.id == kid {
			return key.public, true
		}
	}
	return nil, false
}

// mayForce reports whether a forced reload may run now, and counts it.
func (k *Keys) mayForce() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if now.Sub(k.forcedAt) < forcedReloadEvery {
		return false
	}
	k.forcedAt = now
	return true
}

// JWK is one public key of the JWKS (RFC 8037 OKP key).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is the body of /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys that verify live access tokens.
func (k *Keys) JWKS(ctx context.Context) (JWKS, error) {
	if _, err := k.current(ctx); err != nil {
		return JWKS{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	out := JWKS{Keys: []JWK{}}
	for _, key := range k.keys {
		out.Keys = append(out.Keys, JWK{Kty: "OKP", Crv: "Ed25519", Kid: key.id, Alg: "EdDSA", Use: "sig",
			X: base64.RawURLEncoding.EncodeToString(key.public)})
	}
	return out, nil
}
