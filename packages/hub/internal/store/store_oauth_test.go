package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestIdentities(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "")
		id := Identity{Provider: "corp", Subject: "sub-1", UserID: u.ID, Email: u.Email, CreatedAt: t0, LastLoginAt: t0}
		if _, err := s.GetIdentity(ctx, "corp", "sub-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before link: %v", err)
		}
		if err := s.LinkIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkIdentity(ctx, id); !errors.Is(err, ErrConflict) {
			t.Fatalf("second link: %v", err)
		}
		bad := id
		bad.Subject, bad.UserID = "sub-2", "usr_missing"
		if err := s.LinkIdentity(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Fatalf("link to a missing user: %v", err)
		}
		later := t0.Add(time.Hour)
		if err := s.TouchIdentity(ctx, "corp", "sub-1", later); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetIdentity(ctx, "corp", "sub-1")
		if err != nil || got.UserID != u.ID || !got.LastLoginAt.Equal(stored(later)) || !got.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("identity %+v %v", got, err)
		}
		// The same subject at another provider is another identity.
		if _, err := s.GetIdentity(ctx, "github", "sub-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other provider: %v", err)
		}
		list, err := s.ListIdentities(ctx, u.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("list %v %v", list, err)
		}
	})
}

func TestOAuthFlowsAndCodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "")
		f := OAuthFlow{StateHash: "h1", Provider: "corp", RedirectURI: "http://127.0.0.1:5/cb", CLIState: "cs",
			CodeChallenge: "ch", KeyVersion: "v1", Ciphertext: []byte{0, 1, 2}, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.CreateOAuthFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		dev := OAuthFlow{StateHash: "h2", Provider: "corp", DeviceHash: "dh", KeyVersion: "v1", Ciphertext: []byte{3},
			CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := s.CreateOAuthFlow(ctx, dev); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakeOAuthFlow(ctx, "h1", t0.Add(time.Minute))
		if err != nil || got.RedirectURI != f.RedirectURI || got.CLIState != "cs" || got.CodeChallenge != "ch" ||
			got.DeviceHash != "" || string(got.Ciphertext) != string(f.Ciphertext) {
			t.Fatalf("take: %+v %v", got, err)
		}
		if _, err := s.TakeOAuthFlow(ctx, "h1", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second take: %v", err)
		}
		// Expired: not given, and gone all the same.
		if _, err := s.TakeOAuthFlow(ctx, "h2", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired take: %v", err)
		}

		c := OAuthCode{Hash: "c1", UserID: u.ID, Provider: "corp", CodeChallenge: "ch", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := s.CreateOAuthCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TakeOAuthCode(ctx, "c1", t0.Add(time.Second)); err != nil || got.UserID != u.ID || got.CodeChallenge != "ch" {
			t.Fatalf("take code: %+v %v", got, err)
		}
		if _, err := s.TakeOAuthCode(ctx, "c1", t0.Add(time.Second)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("replayed code: %v", err)
		}
		c.Hash = "c2"
		if err := s.CreateOAuthCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeOAuthCode(ctx, "c2", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired code: %v", err)
		}

		// Two racing takes of one code: exactly one wins.
		c.Hash = "c3"
		if err := s.CreateOAuthCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wins := make(chan bool, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.TakeOAuthCode(ctx, "c3", t0.Add(time.Second))
				wins <- err == nil
			}()
		}
		wg.Wait()
		close(wins)
		n := 0
		for w := range wins {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d takes of one code won", n)
		}
	})
}

func TestDeviceCodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "")
		d := DeviceCode{Hash: "d1", UserCodeHash: "u1", Provider: "corp", Interval: 5 * time.Second, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.CreateDeviceCode(ctx, d); err != nil {
			t.Fatal(err)
		}
		dup := d
		dup.Hash = "d2"
		if err := s.CreateDeviceCode(ctx, dup); !errors.Is(err, ErrConflict) {
			t.Fatalf("same user code: %v", err)
		}
		if got, err := s.PendingDeviceCode(ctx, "u1", t0); err != nil || got.Hash != "d1" || got.Status != DevicePending {
			t.Fatalf("pending: %+v %v", got, err)
		}
		// First poll: pending. A poll 1 s later: slow down, interval 10 s.
		if got, err := s.PollDeviceCode(ctx, "d1", t0, 5*time.Second); err != nil || got.Status != DevicePending {
			t.Fatalf("first poll: %+v %v", got, err)
		}
		got, err := s.PollDeviceCode(ctx, "d1", t0.Add(time.Second), 5*time.Second)
		if !errors.Is(err, ErrSlowDown) || got.Interval != 10*time.Second {
			t.Fatalf("fast poll: %+v %v", got, err)
		}
		// 6 s after the fast poll is still sooner than the new 10 s.
		if _, err := s.PollDeviceCode(ctx, "d1", t0.Add(7*time.Second), 5*time.Second); !errors.Is(err, ErrSlowDown) {
			t.Fatalf("second fast poll: %v", err)
		}
		if err := s.SettleDeviceCode(ctx, "d1", DeviceApproved, "", u.ID, t0.Add(8*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.SettleDeviceCode(ctx, "d1", DeviceDenied, "disabled", "", t0.Add(8*time.Second)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("settled twice: %v", err)
		}
		if _, err := s.PendingDeviceCode(ctx, "u1", t0.Add(8*time.Second)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("approved still pending: %v", err)
		}
		got, err = s.PollDeviceCode(ctx, "d1", t0.Add(30*time.Second), 5*time.Second)
		if err != nil || got.Status != DeviceApproved || got.UserID != u.ID {
			t.Fatalf("approved poll: %+v %v", got, err)
		}
		if _, err := s.PollDeviceCode(ctx, "d1", t0.Add(60*time.Second), 5*time.Second); !errors.Is(err, ErrNotFound) {
			t.Fatalf("exchanged twice: %v", err)
		}

		// Denied, then expiry and the sweep.
		d3 := DeviceCode{Hash: "d3", UserCodeHash: "u3", Provider: "corp", Interval: time.Second, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := s.CreateDeviceCode(ctx, d3); err != nil {
			t.Fatal(err)
		}
		if err := s.SettleDeviceCode(ctx, "d3", DeviceDenied, "unknown_email", "", t0); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PollDeviceCode(ctx, "d3", t0.Add(time.Second), time.Second); err != nil || got.Status != DeviceDenied || got.Result != "unknown_email" {
			t.Fatalf("denied poll: %+v %v", got, err)
		}
		if _, err := s.PollDeviceCode(ctx, "d3", t0.Add(time.Minute), time.Second); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired poll: %v", err)
		}
		if err := s.CreateOAuthFlow(ctx, OAuthFlow{StateHash: "f", Provider: "corp", KeyVersion: "v1", Ciphertext: []byte{1},
			CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SweepOAuth(ctx, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var n int
		for _, table := range []string{"oauth_flows", "oauth_codes", "device_codes"} {
			var c int
			if err := s.queryRow(ctx, s.db, `SELECT COUNT(*) FROM `+table).Scan(&c); err != nil {
				t.Fatal(err)
			}
			n += c
		}
		if n != 0 {
			t.Fatalf("%d rows left after the sweep", n)
		}
	})
}

// Polls racing on one device code: one is answered, the others are told
// to slow down (they polled too fast as well), on both engines.
func TestDevicePollRace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "")
		d := DeviceCode{Hash: "d1", UserCodeHash: "u1", Provider: "corp", Interval: 5 * time.Second, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.CreateDeviceCode(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.SettleDeviceCode(ctx, "d1", DeviceApproved, "", u.ID, t0); err != nil {
			t.Fatal(err)
		}
		const n = 4
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PollDeviceCode(ctx, "d1", t0.Add(time.Second), 5*time.Second)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		approved := 0
		for err := range errs {
			switch {
			case err == nil:
				approved++
			case errors.Is(err, ErrSlowDown), errors.Is(err, ErrNotFound):
			default:
				t.Fatalf("racing poll: %v", err)
			}
		}
		if approved != 1 {
			t.Fatalf("%d racing polls got the approval", approved)
		}
	})
}
