package server

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// `stk-hub keys rotate-signing` writes the store while a Hub runs (issue 11
// item 12): the running Hub publishes the new key and signs with it within
// a second, on both store engines.
func TestOfflineSigningRotationReachesRunningHub(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		ctx := context.Background()
		var before auth.JWKS
		h.expect(h.as("").do("GET", "/.well-known/jwks.json", nil), 200, "", &before)

		// As the command does: its own store handle and key ring.
		st, err := store.Open(ctx, h.srv.cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ring, err := secrets.Parse(h.srv.cfg.MasterKeys)
		if err != nil {
			t.Fatal(err)
		}
		id, err := auth.NewKeys(st, ring, func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }).Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rotated := time.Now()

		var after auth.JWKS
		for {
			h.expect(h.as("").do("GET", "/.well-known/jwks.json", nil), 200, "", &after)
			if len(after.Keys) > 0 && after.Keys[0].Kid == id {
				break
			}
			if time.Since(rotated) > time.Second {
				t.Fatalf("the running Hub still publishes %+v a second after the rotation to %s (before: %+v)", after.Keys, id, before.Keys)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("new key published %s after the rotation", time.Since(rotated).Round(time.Millisecond))
		if len(after.Keys) != len(before.Keys)+1 {
			t.Fatalf("JWKS %+v: want the new key and the previous ones (%+v)", after.Keys, before.Keys)
		}
		// And it signs with it.
		tok := h.login(adminEmail, adminPassword).AccessToken
		parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
		if err != nil || parsed.Header["kid"] != id {
			t.Fatalf("a token issued after the rotation is signed by %v, want %s (%v)", parsed.Header["kid"], id, err)
		}
		h.expect(h.as(tok).do("GET", "/v1/projects", nil), 200, "", nil)
	})
}
