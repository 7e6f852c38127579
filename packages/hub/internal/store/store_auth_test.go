package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func mustUser(t *testing.T, s *Store, id, email, orgRole string) User {
	t.Helper()
	u := User{ID: id, Email: email, PasswordHash: "$argon2id$x", Status: UserActive, CreatedAt: t0}
	orgID := ""
	if orgRole != "" {
		org, err := s.GetOrg(t.Context(), DefaultOrg)
		if err != nil {
			t.Fatal(err)
		}
		orgID = org.ID
	}
	if err := s.CreateUser(t.Context(), u, orgID, orgRole); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsersAndMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		if n, _ := s.CountUsers(ctx); n != 0 {
			t.Fatalf("fresh store has %d users", n)
		}
		owner := mustUser(t, s, "usr_1", "owner@example.com", "owner")
		if err := s.CreateUser(ctx, User{ID: "usr_2", Email: "owner@example.com", PasswordHash: "x", Status: UserActive, CreatedAt: t0}, "", ""); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate email: %v", err)
		}
		got, err := s.GetUserByEmail(ctx, "owner@example.com")
		if err != nil || got.ID != owner.ID || !got.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("get %+v %v", got, err)
		}
		org, _ := s.GetOrg(ctx, DefaultOrg)
		if role, _ := s.Role(ctx, OrgMembers, org.ID, owner.ID); role != "owner" {
			t.Fatalf("owner role %q", role)
		}
		prj := mustProject(t, s, "demo")
		dev := mustUser(t, s, "usr_3", "dev@example.com", "")
		created, err := s.PutMember(ctx, ProjectMembers, Member{Scope: prj.ID, UserID: dev.ID, Role: "viewer", CreatedAt: t0})
		if err != nil || !created {
			t.Fatalf("add %v %v", created, err)
		}
		if created, err = s.PutMember(ctx, ProjectMembers, Member{Scope: prj.ID, UserID: dev.ID, Role: "deployer", CreatedAt: t0}); err != nil || created {
			t.Fatalf("set %v %v", created, err)
		}
		ms, err := s.ListMembers(ctx, ProjectMembers, prj.ID)
		if err != nil || len(ms) != 1 || ms[0].Role != "deployer" || ms[0].Email != "dev@example.com" || ms[0].ScopeName != "demo" {
			t.Fatalf("members %+v %v", ms, err)
		}
		if _, err := s.PutMember(ctx, ProjectMembers, Member{Scope: prj.ID, UserID: "usr_ghost", Role: "viewer", CreatedAt: t0}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		// A disabled user has no role anywhere, and its sessions end.
		sess := Session{ID: "ses_1", UserID: dev.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess, "h1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DisableUser(ctx, dev.ID, t0); err != nil {
			t.Fatal(err)
		}
		if role, _ := s.Role(ctx, ProjectMembers, prj.ID, dev.ID); role != "" {
			t.Fatalf("disabled user keeps role %q", role)
		}
		if got, _ := s.GetSession(ctx, "ses_1"); got.RevokedAt == nil {
			t.Fatal("disabling did not revoke the session")
		}
		if err := s.DeleteMember(ctx, ProjectMembers, prj.ID, dev.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMember(ctx, ProjectMembers, prj.ID, dev.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

// Refresh tokens rotate once; a second presentation revokes the session,
// and of two concurrent exchanges of one token exactly one wins.
func TestRotateRefresh(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "")
		now := t0
		if err := s.CreateSession(ctx, Session{ID: "ses_1", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}, "r0", now.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "nope", "x", now, now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		sess, err := s.RotateRefresh(ctx, "r0", "r1", now, now.Add(time.Hour))
		if err != nil || sess.ID != "ses_1" || sess.UserID != u.ID {
			t.Fatalf("rotate %+v %v", sess, err)
		}
		if _, err := s.RotateRefresh(ctx, "r1", "r2", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// r1 again: theft. The session is gone, r2 with it.
		if _, err := s.RotateRefresh(ctx, "r1", "r3", now, now.Add(time.Hour)); !errors.Is(err, ErrRefreshReused) {
			t.Fatalf("reuse: %v", err)
		}
		if got, _ := s.GetSession(ctx, "ses_1"); got.RevokedAt == nil {
			t.Fatal("reuse did not revoke the session")
		}
		if _, err := s.RotateRefresh(ctx, "r2", "r4", now, now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("token of a revoked session: %v", err)
		}

		// Expiry.
		if err := s.CreateSession(ctx, Session{ID: "ses_2", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "e0", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "e0", "e1", now.Add(2*time.Minute), now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired token: %v", err)
		}

		// Concurrent exchanges of one token: one wins, and the other is a
		// reuse that revokes the session (SPEC §7.1), whichever engine
		// interleaves them how. Two at a time, many times: with more, a
		// late loser revokes anyway and hides a loser that does not.
		for round := range 20 {
			id, tok := fmt.Sprintf("ses_c%d", round), fmt.Sprintf("c%d", round)
			if err := s.CreateSession(ctx, Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, tok, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			results := make([]error, 2)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, results[i] = s.RotateRefresh(ctx, tok, fmt.Sprintf("%s-%d", tok, i), now, now.Add(time.Hour))
				}()
			}
			wg.Wait()
			wins, reuses := 0, 0
			for _, err := range results {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, ErrRefreshReused):
					reuses++
				}
			}
			if wins != 1 || reuses != 1 {
				t.Fatalf("round %d: two concurrent exchanges of one refresh token gave %v; want one win and one reuse", round, results)
			}
			if sess, err := s.GetSession(ctx, id); err != nil || sess.RevokedAt == nil {
				t.Fatalf("round %d: session after a concurrent reuse: %+v, %v; want it revoked", round, sess, err)
			}
		}
	})
}

func TestCITokensAndSigningKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "owner")
		prj := mustProject(t, s, "demo")
		exp := t0.Add(time.Hour)
		tok := CIToken{ID: "tok_1", Name: "ci", UserID: u.ID, ProjectID: prj.ID, Role: "viewer", SecretHash: "h1", CreatedAt: t0, ExpiresAt: &exp}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, CIToken{ID: "tok_2", Name: "all", UserID: u.ID, SecretHash: "h2", CreatedAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTokenByHash(ctx, "h1")
		if err != nil || got.ProjectName != "demo" || got.UserEmail != "a@example.com" || got.Role != "viewer" || got.Status != KeyActive || got.ExpiresAt == nil {
			t.Fatalf("token %+v %v", got, err)
		}
		list, _ := s.ListTokens(ctx, u.ID)
		if len(list) != 2 || list[0].ID != "tok_2" {
			t.Fatalf("newest first: %+v", list)
		}
		if other, _ := s.ListTokens(ctx, "usr_other"); len(other) != 0 {
			t.Fatalf("another user's list: %+v", other)
		}
		rev, err := s.RevokeToken(ctx, "tok_1", t0)
		if err != nil || rev.Status != KeyRevoked || rev.RevokedAt == nil {
			t.Fatalf("revoke %+v %v", rev, err)
		}

		// Signing keys: the newest signs; a retired one is listed until the
		// cutoff passes.
		for i, id := range []string{"sig_1", "sig_2"} {
			k := SigningKey{ID: id, PublicKey: []byte{1}, Ciphertext: []byte{2}, KeyVersion: "v1", CreatedAt: t0.Add(time.Duration(i) * time.Hour)}
			if err := s.AddSigningKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		keys, err := s.SigningKeys(ctx, t0)
		if err != nil || len(keys) != 2 || keys[0].ID != "sig_2" || keys[0].RetiredAt != nil || keys[1].RetiredAt == nil {
			t.Fatalf("keys %+v %v", keys, err)
		}
		if keys, _ = s.SigningKeys(ctx, t0.Add(2*time.Hour)); len(keys) != 1 || keys[0].ID != "sig_2" {
			t.Fatalf("after the cutoff: %+v", keys)
		}
	})
}
