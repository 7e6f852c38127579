package auth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// The signing key rotates by itself after SigningKeyMaxAge; the previous
// key verifies for retiredGrace more (a token's lifetime, plus a stale
// replica's and a clock's margins), then leaves the JWKS.
func TestSigningKeyAgesOut(t *testing.T) {
	st, ring := keyStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := NewKeys(st, ring, func() time.Time { return now })
	kids := func() []string {
		set, err := k.JWKS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range set.Keys {
			out = append(out, j.Kid)
		}
		return out
	}
	tok1, _, err := k.Sign(t.Context(), "usr_1", "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	first := kids()
	if len(first) != 1 {
		t.Fatalf("jwks %v", first)
	}
	if _, err := k.Verify(t.Context(), tok1); err != nil {
		t.Fatalf("fresh token: %v", err)
	}

	now = now.Add(SigningKeyMaxAge - time.Minute)
	if got := kids(); len(got) != 1 || got[0] != first[0] {
		t.Fatalf("rotated early: %v", got)
	}
	now = now.Add(2 * time.Minute)
	tok2, _, err := k.Sign(t.Context(), "usr_1", "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	both := kids()
	if len(both) != 2 || both[1] != first[0] || both[0] == first[0] {
		t.Fatalf("after 30 days: %v (first %v)", both, first)
	}
	if _, err := k.Verify(t.Context(), tok2); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	now = now.Add(retiredGrace - time.Second)
	if got := kids(); len(got) != 2 {
		t.Fatalf("the retired key left before its grace ended: %v", got)
	}
	now = now.Add(keyReload + time.Second) // past the grace, and the cache's age
	if got := kids(); len(got) != 1 || got[0] != both[0] {
		t.Fatalf("the retired key stayed past the token lifetime: %v", got)
	}
	if _, err := k.Verify(t.Context(), tok2); err == nil {
		t.Fatal("an expired token verified")
	}
}

// Another Hub replica's new key is trusted at once: an unknown kid makes
// this replica reload its keys instead of waiting for the next refresh —
// but not more than once per forcedReloadEvery, whoever sends such kids.
func TestSigningKeyOfAnotherReplica(t *testing.T) {
	st, ring := keyStore(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	a, b := NewKeys(st, ring, now), NewKeys(st, ring, now)
	if _, _, err := a.Sign(t.Context(), "usr_1", "ses_1"); err != nil { // a loads the first key
		t.Fatal(err)
	}
	// A stranger's kid spends a's forced reload.
	if _, err := a.Verify(t.Context(), foreignToken(t, at)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of an unknown key: %v, want ErrInvalidToken", err)
	}
	if _, err := b.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok, _, err := b.Sign(t.Context(), "usr_1", "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a second forced reload within %v: %v, want none (ErrInvalidToken)", forcedReloadEvery, err)
	}
	at = at.Add(forcedReloadEvery)
	if _, err := a.Verify(t.Context(), tok); err != nil {
		t.Fatalf("a token signed by another replica's new key: %v", err)
	}
}

// The store down while verifying: a key the cache holds still verifies
// after the cache has aged; an unknown one is the store's error, not
// ErrInvalidToken (which would be a 401 sending the operator to log in).
func TestVerifyStoreDown(t *testing.T) {
	st, ring := keyStore(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := NewKeys(st, ring, func() time.Time { return at })
	tok, _, err := k.Sign(t.Context(), "usr_1", "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	at = at.Add(keyReload + time.Second)
	if _, err := k.Verify(t.Context(), tok); err != nil {
		t.Fatalf("a cached key with the store down: %v", err)
	}
	if _, err := k.Verify(t.Context(), foreignToken(t, at)); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("an unknown key with the store down: %v, want the store's error", err)
	}
}

func keyStore(t *testing.T) (*store.Store, *secrets.Ring) {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring, err := secrets.Parse("v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return st, ring
}

// foreignToken is a well-formed access token signed by a key no Hub has.
func foreignToken(t *testing.T, now time.Time) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{SessionID: "ses_1", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: "usr_1", Audience: jwt.ClaimStrings{Audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(AccessTTL))}})
	tok.Header["kid"] = "sig_01JD3W7V4T9Q8X2M5N6P7R8S9T"
	s, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
