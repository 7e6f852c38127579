package auth

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// The signing key rotates by itself after SigningKeyMaxAge; the previous
// key verifies for AccessTTL more, then leaves the JWKS.
func TestSigningKeyAgesOut(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring, err := secrets.Parse("v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
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
	now = now.Add(AccessTTL + time.Minute)
	if got := kids(); len(got) != 1 || got[0] != both[0] {
		t.Fatalf("the retired key stayed past the token lifetime: %v", got)
	}
	if _, err := k.Verify(t.Context(), tok2); err == nil {
		t.Fatal("an expired token verified")
	}
}

// Another Hub replica's new key is trusted at once: an unknown kid makes
// this replica reload its keys instead of waiting for the next refresh.
func TestSigningKeyOfAnotherReplica(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring, err := secrets.Parse("v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	a, b := NewKeys(st, ring, now), NewKeys(st, ring, now)
	if _, _, err := a.Sign(t.Context(), "usr_1", "ses_1"); err != nil { // a loads the first key
		t.Fatal(err)
	}
	if _, err := b.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok, _, err := b.Sign(t.Context(), "usr_1", "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(t.Context(), tok); err != nil {
		t.Fatalf("a token signed by another replica's new key: %v", err)
	}
}
