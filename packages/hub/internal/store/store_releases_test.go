package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/santokit/santokit/internal/testpg"
)

func mustSnap(t *testing.T, s *Store, envID, id, conn string, at time.Time) Snapshot {
	t.Helper()
	sn := Snapshot{ID: id, EnvID: envID, Connection: conn, Engine: "postgres", Hash: "h-" + id,
		Content: []byte(`[{"name":"` + id + `"}]`), CreatedAt: at}
	if err := s.CreateSnapshot(t.Context(), sn); err != nil {
		t.Fatalf("CreateSnapshot(%s): %v", id, err)
	}
	sn.CreatedAt = stored(at)
	return sn
}

func mustPerm(t *testing.T, s *Store, envID, id string, at time.Time) PermissionSet {
	t.Helper()
	ps := PermissionSet{ID: id, EnvID: envID, Hash: "h-" + id, Source: []byte("tables:\n  " + id + ": {}\n"),
		Warnings: []byte(`[{"code":"w"}]`), CreatedAt: at, CreatedBy: "alice"}
	if err := s.CreatePermissionSet(t.Context(), ps); err != nil {
		t.Fatalf("CreatePermissionSet(%s): %v", id, err)
	}
	ps.CreatedAt = stored(at)
	return ps
}

func mustRelease(t *testing.T, s *Store, r Release) int64 {
	t.Helper()
	rev, err := s.CreateRelease(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateRelease(%s): %v", r.ID, err)
	}
	return rev
}

func mustRevision(t *testing.T, s *Store, envID string) int64 {
	t.Helper()
	rev, err := s.EnvRevision(t.Context(), envID)
	if err != nil {
		t.Fatalf("EnvRevision(%s): %v", envID, err)
	}
	return rev
}

func wantRevision(t *testing.T, s *Store, envID string, want int64) {
	t.Helper()
	if got := mustRevision(t, s, envID); got != want {
		t.Errorf("revision of %s = %d, want %d", envID, got, want)
	}
}

func releaseIDs(rs []Release) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return strings.Join(ids, " ")
}

func TestPermissionSets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")

		_, err := s.LatestPermissionSet(ctx, dev.ID)
		wantErr(t, "LatestPermissionSet(none)", err, ErrNotFound)

		first := mustPerm(t, s, dev.ID, "perm_01", t0)
		mustPerm(t, s, dev.ID, "perm_03", t0.Add(-time.Minute)) // older, created later
		second := mustPerm(t, s, dev.ID, "perm_02", t0.Add(time.Minute))
		mustPerm(t, s, prod.ID, "perm_04", t0.Add(time.Hour))
		wantRevision(t, s, dev.ID, 1) // staging does not bump (SPEC §8.1)

		got, err := s.LatestPermissionSet(ctx, dev.ID)
		if err != nil || !reflect.DeepEqual(got, second) {
			t.Errorf("LatestPermissionSet = %+v, %v; want %+v", got, err, second)
		}
		// Same time: the greater id is the newer.
		tie := mustPerm(t, s, dev.ID, "perm_05", t0.Add(time.Minute))
		if got, err := s.LatestPermissionSet(ctx, dev.ID); err != nil || got.ID != tie.ID {
			t.Errorf("LatestPermissionSet after tie = %s, %v; want %s", got.ID, err, tie.ID)
		}

		// By id, whatever the env.
		got, err = s.GetPermissionSet(ctx, "perm_01")
		if err != nil || !reflect.DeepEqual(got, first) {
			t.Errorf("GetPermissionSet = %+v, %v; want %+v", got, err, first)
		}
		if got, err := s.GetPermissionSet(ctx, "perm_04"); err != nil || got.EnvID != prod.ID {
			t.Errorf("GetPermissionSet(prod's) = %+v, %v", got, err)
		}

		// Nil warnings are stored as an empty JSON list; nil source as empty.
		if err := s.CreatePermissionSet(ctx, PermissionSet{ID: "perm_06", EnvID: prod.ID, Hash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetPermissionSet(ctx, "perm_06"); err != nil || string(got.Warnings) != "[]" || len(got.Source) != 0 {
			t.Errorf("GetPermissionSet(nil warnings) = %+v, %v", got, err)
		}

		_, err = s.GetPermissionSet(ctx, "perm_missing")
		wantErr(t, "GetPermissionSet(missing)", err, ErrNotFound)
		_, err = s.LatestPermissionSet(ctx, "env_missing")
		wantErr(t, "LatestPermissionSet(unknown env)", err, ErrNotFound)
		err = s.CreatePermissionSet(ctx, PermissionSet{ID: "perm_01", EnvID: dev.ID, Hash: "h", CreatedAt: t0})
		wantErr(t, "duplicate permission set", err, ErrConflict)
		err = s.CreatePermissionSet(ctx, PermissionSet{ID: "perm_99", EnvID: "env_missing", Hash: "h", CreatedAt: t0})
		wantErr(t, "permission set of unknown env", err, ErrNotFound)
		wantRevision(t, s, dev.ID, 1)
		wantRevision(t, s, prod.ID, 1)
	})
}

func TestGetSnapshotByID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")
		want := mustSnap(t, s, dev.ID, "snap_01", "main", t0)
		mustSnap(t, s, prod.ID, "snap_02", "main", t0)

		got, err := s.GetSnapshotByID(t.Context(), "snap_01")
		if err != nil || !equalSnap(got, want) {
			t.Errorf("GetSnapshotByID = %+v, %v; want %+v", got, err, want)
		}
		if got, err := s.GetSnapshotByID(t.Context(), "snap_02"); err != nil || got.EnvID != prod.ID {
			t.Errorf("GetSnapshotByID(prod's) = %+v, %v", got, err)
		}
		_, err = s.GetSnapshotByID(t.Context(), "snap_missing")
		wantErr(t, "GetSnapshotByID(missing)", err, ErrNotFound)
	})
}

func TestReleases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")
		if dev.CurrentReleaseID != "" {
			t.Errorf("new env has current release %q", dev.CurrentReleaseID)
		}
		if list, err := s.ListReleases(ctx, dev.ID); err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListReleases(none) = %v, %v; want []", list, err)
		}
		_, err := s.LatestReleaseByRef(ctx, dev.ID, "abc")
		wantErr(t, "LatestReleaseByRef(none)", err, ErrNotFound)

		main1 := mustSnap(t, s, dev.ID, "snap_01", "main", t0)
		audit := mustSnap(t, s, dev.ID, "snap_02", "audit", t0)
		perm := mustPerm(t, s, dev.ID, "perm_01", t0)

		r1 := Release{ID: "rel_01", EnvID: dev.ID, Ref: "abc", Hash: "hash1", PermissionsID: perm.ID,
			Snapshots: map[string]string{"main": main1.ID, "audit": audit.ID}, CreatedAt: t0, CreatedBy: "alice"}
		if rev := mustRelease(t, s, r1); rev != 2 {
			t.Errorf("CreateRelease revision = %d, want 2", rev)
		}
		want1 := r1
		want1.CreatedAt = stored(t0)
		got, err := s.GetRelease(ctx, "rel_01")
		if err != nil || !reflect.DeepEqual(got, want1) {
			t.Errorf("GetRelease = %+v, %v; want %+v", got, err, want1)
		}
		env, err := s.GetEnv(ctx, "shop", "dev")
		if err != nil || env.CurrentReleaseID != "rel_01" || env.Revision != 2 {
			t.Errorf("GetEnv after release = %+v, %v", env, err)
		}
		if byID, err := s.GetEnvByID(ctx, dev.ID); err != nil || byID != env {
			t.Errorf("GetEnvByID = %+v, %v; want %+v", byID, err, env)
		}
		if list, err := s.ListEnvs(ctx, p.ID); err != nil || list[0].CurrentReleaseID != "rel_01" || list[1].CurrentReleaseID != "" {
			t.Errorf("ListEnvs = %+v, %v", list, err)
		}

		// A new snapshot, then more releases; r3 has r2's time, so id decides.
		main2 := mustSnap(t, s, dev.ID, "snap_03", "main", t0.Add(time.Minute))
		r2 := Release{ID: "rel_02", EnvID: dev.ID, Ref: "def", Hash: "hash2", PermissionsID: perm.ID,
			Snapshots: map[string]string{"main": main2.ID}, CreatedAt: t0.Add(time.Minute), CreatedBy: "bob"}
		r3 := Release{ID: "rel_03", EnvID: dev.ID, Ref: "abc", Hash: "hash2", PermissionsID: perm.ID,
			Snapshots: map[string]string{"main": main2.ID}, CreatedAt: t0.Add(time.Minute), CreatedBy: "bob"}
		// Nil snapshots come back as an empty map.
		r0 := Release{ID: "rel_00", EnvID: dev.ID, Ref: "old", Hash: "hash0", PermissionsID: perm.ID,
			CreatedAt: t0.Add(-time.Hour), CreatedBy: "carol"}
		if rev := mustRelease(t, s, r2); rev != 3 {
			t.Errorf("revision = %d, want 3", rev)
		}
		if rev := mustRelease(t, s, r3); rev != 4 {
			t.Errorf("revision = %d, want 4", rev)
		}
		if rev := mustRelease(t, s, r0); rev != 5 {
			t.Errorf("revision = %d, want 5", rev)
		}
		// The pointer follows the latest created release, whatever its time.
		if env, err := s.GetEnvByID(ctx, dev.ID); err != nil || env.CurrentReleaseID != "rel_00" {
			t.Errorf("current after r0 = %q, %v", env.CurrentReleaseID, err)
		}
		if got, err := s.GetRelease(ctx, "rel_00"); err != nil || got.Snapshots == nil || len(got.Snapshots) != 0 {
			t.Errorf("GetRelease(nil snapshots) = %+v, %v", got, err)
		}

		list, err := s.ListReleases(ctx, dev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := releaseIDs(list), "rel_03 rel_02 rel_01 rel_00"; got != want {
			t.Errorf("ListReleases = %s, want %s", got, want)
		}
		if !reflect.DeepEqual(list[2], want1) {
			t.Errorf("ListReleases[2] = %+v, want %+v", list[2], want1)
		}
		if got, err := s.LatestReleaseByRef(ctx, dev.ID, "abc"); err != nil || got.ID != "rel_03" {
			t.Errorf("LatestReleaseByRef(abc) = %s, %v; want rel_03", got.ID, err)
		}
		if got, err := s.LatestReleaseByRef(ctx, dev.ID, "def"); err != nil || got.ID != "rel_02" {
			t.Errorf("LatestReleaseByRef(def) = %s, %v; want rel_02", got.ID, err)
		}
		_, err = s.LatestReleaseByRef(ctx, dev.ID, "nope")
		wantErr(t, "LatestReleaseByRef(nope)", err, ErrNotFound)
		_, err = s.LatestReleaseByRef(ctx, prod.ID, "abc")
		wantErr(t, "LatestReleaseByRef(other env)", err, ErrNotFound)

		// Promotion: prod's release refers to dev's snapshots and permissions.
		pr := Release{ID: "rel_10", EnvID: prod.ID, Ref: "abc", Hash: "hash2", PermissionsID: perm.ID,
			Snapshots: map[string]string{"main": main2.ID}, PromotedFrom: "rel_03", CreatedAt: t0, CreatedBy: "alice"}
		if rev := mustRelease(t, s, pr); rev != 2 {
			t.Errorf("prod revision = %d, want 2", rev)
		}
		got, err = s.GetRelease(ctx, "rel_10")
		if err != nil || got.EnvID != prod.ID || got.PromotedFrom != "rel_03" || got.Snapshots["main"] != main2.ID {
			t.Errorf("GetRelease(promoted) = %+v, %v", got, err)
		}
		if sn, err := s.GetSnapshotByID(ctx, got.Snapshots["main"]); err != nil || sn.EnvID != dev.ID {
			t.Errorf("promoted release's snapshot = %+v, %v", sn, err)
		}
		if got, err := s.ListReleases(ctx, prod.ID); err != nil || releaseIDs(got) != "rel_10" {
			t.Errorf("ListReleases(prod) = %s, %v", releaseIDs(got), err)
		}
		wantRevision(t, s, dev.ID, 5)

		// Rollback.
		rev, err := s.SetCurrentRelease(ctx, dev.ID, "rel_01")
		if err != nil || rev != 6 {
			t.Errorf("SetCurrentRelease = %d, %v; want 6", rev, err)
		}
		if env, _ := s.GetEnvByID(ctx, dev.ID); env.CurrentReleaseID != "rel_01" || env.Revision != 6 {
			t.Errorf("env after rollback = %+v", env)
		}
		// Setting the current release again still moves the pointer: bump.
		if rev, err := s.SetCurrentRelease(ctx, dev.ID, "rel_01"); err != nil || rev != 7 {
			t.Errorf("SetCurrentRelease(same) = %d, %v; want 7", rev, err)
		}
		_, err = s.SetCurrentRelease(ctx, dev.ID, "rel_10")
		wantErr(t, "SetCurrentRelease(prod's release)", err, ErrConflict)
		_, err = s.SetCurrentRelease(ctx, dev.ID, "rel_missing")
		wantErr(t, "SetCurrentRelease(unknown release)", err, ErrNotFound)
		_, err = s.SetCurrentRelease(ctx, "env_missing", "rel_01")
		wantErr(t, "SetCurrentRelease(unknown env)", err, ErrNotFound)
		wantRevision(t, s, dev.ID, 7)
		wantRevision(t, s, prod.ID, 2)

		// Failed creates change nothing.
		bad := func(mod func(r *Release)) Release {
			r := Release{ID: "rel_bad", EnvID: dev.ID, Ref: "x", Hash: "h", PermissionsID: perm.ID,
				Snapshots: map[string]string{"main": main1.ID}, CreatedAt: t0, CreatedBy: "eve"}
			mod(&r)
			return r
		}
		for _, c := range []struct {
			what string
			r    Release
			want error
		}{
			{"unknown env", bad(func(r *Release) { r.EnvID = "env_missing" }), ErrNotFound},
			{"unknown permission set", bad(func(r *Release) { r.PermissionsID = "perm_missing" }), ErrNotFound},
			{"unknown snapshot", bad(func(r *Release) { r.Snapshots["other"] = "snap_missing" }), ErrNotFound},
			{"unknown promoted-from", bad(func(r *Release) { r.PromotedFrom = "rel_missing" }), ErrNotFound},
			{"duplicate id", bad(func(r *Release) { r.ID = "rel_02" }), ErrConflict},
		} {
			_, err := s.CreateRelease(ctx, c.r)
			wantErr(t, "CreateRelease("+c.what+")", err, c.want)
		}
		if env, _ := s.GetEnvByID(ctx, dev.ID); env.CurrentReleaseID != "rel_01" || env.Revision != 7 {
			t.Errorf("env after failed creates = %+v", env)
		}
		_, err = s.GetRelease(ctx, "rel_bad")
		wantErr(t, "GetRelease(failed)", err, ErrNotFound)
		_, err = s.GetEnvByID(ctx, "env_missing")
		wantErr(t, "GetEnvByID(missing)", err, ErrNotFound)
		_, err = s.EnvRevision(ctx, "env_missing")
		wantErr(t, "EnvRevision(missing)", err, ErrNotFound)
	})
}

func TestConcurrentCreateRelease(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		snap := mustSnap(t, s, dev.ID, "snap_01", "main", t0)
		perm := mustPerm(t, s, dev.ID, "perm_01", t0)
		const n = 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			revs = map[int64]bool{}
			errs = make(chan error, n)
		)
		for i := range n {
			wg.Go(func() {
				rev, err := s.CreateRelease(t.Context(), Release{ID: fmt.Sprintf("rel_%02d", i), EnvID: dev.ID,
					PermissionsID: perm.ID, Snapshots: map[string]string{"main": snap.ID}, CreatedAt: t0})
				mu.Lock()
				revs[rev] = true
				mu.Unlock()
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("CreateRelease: %v", err)
			}
		}
		// Each transaction saw the revision its own bump made.
		for rev := int64(2); rev <= 1+n; rev++ {
			if !revs[rev] {
				t.Errorf("no CreateRelease returned revision %d: %v", rev, revs)
			}
		}
		env, err := s.GetEnvByID(t.Context(), dev.ID)
		if err != nil || env.Revision != 1+n {
			t.Fatalf("env = %+v, %v; want revision %d", env, err, 1+n)
		}
		if r, err := s.GetRelease(t.Context(), env.CurrentReleaseID); err != nil || r.EnvID != dev.ID {
			t.Errorf("current release %q: %+v, %v", env.CurrentReleaseID, r, err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")
		if list, err := s.ListAPIKeys(ctx, dev.ID); err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListAPIKeys(none) = %v, %v; want []", list, err)
		}

		expires := t0.Add(90 * 24 * time.Hour)
		k1 := APIKey{ID: "key_01", EnvID: dev.ID, Name: "server", Roles: []string{"writer", "reader"},
			SecretHash: strings.Repeat("ab", 32), Status: KeyActive, CreatedAt: t0, ExpiresAt: &expires}
		if rev, err := s.CreateAPIKey(ctx, k1); err != nil || rev != 2 {
			t.Fatalf("CreateAPIKey = %d, %v; want 2", rev, err)
		}
		exp := stored(expires)
		want1 := k1
		want1.CreatedAt, want1.ExpiresAt = stored(t0), &exp
		got, loc, err := s.GetAPIKey(ctx, "key_01")
		if err != nil || !reflect.DeepEqual(got, want1) {
			t.Errorf("GetAPIKey = %+v, %v; want %+v", got, err, want1)
		}
		if want := (EnvLocation{ProjectName: "shop", EnvName: "dev", EnvID: dev.ID}); loc != want {
			t.Errorf("GetAPIKey location = %+v, want %+v", loc, want)
		}

		// Same time as key_02: id decides. Empty status means active; nil
		// roles come back as [].
		k2 := APIKey{ID: "key_02", EnvID: dev.ID, Name: "ci", Roles: []string{"reader"}, SecretHash: "h2", CreatedAt: t0.Add(time.Minute)}
		k3 := APIKey{ID: "key_03", EnvID: dev.ID, Name: "server", SecretHash: "h3", Status: KeyActive, CreatedAt: t0.Add(time.Minute)}
		k4 := APIKey{ID: "key_04", EnvID: prod.ID, Name: "server", Roles: []string{"reader"}, SecretHash: "h4", Status: KeyActive, CreatedAt: t0}
		for i, k := range []APIKey{k2, k3, k4} {
			rev, err := s.CreateAPIKey(ctx, k)
			if want := []int64{3, 4, 2}[i]; err != nil || rev != want {
				t.Errorf("CreateAPIKey(%s) = %d, %v; want %d", k.ID, rev, err, want)
			}
		}
		list, err := s.ListAPIKeys(ctx, dev.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range list {
			ids = append(ids, k.ID)
		}
		if got, want := strings.Join(ids, " "), "key_03 key_02 key_01"; got != want {
			t.Errorf("ListAPIKeys = %s, want %s", got, want)
		}
		if !reflect.DeepEqual(list[2], want1) {
			t.Errorf("ListAPIKeys[2] = %+v, want %+v", list[2], want1)
		}
		if list[1].Status != KeyActive || list[0].Roles == nil || len(list[0].Roles) != 0 || list[0].ExpiresAt != nil {
			t.Errorf("ListAPIKeys defaults: %+v / %+v", list[1], list[0])
		}

		// Revoke: status, time, bump.
		at := t0.Add(time.Hour + 999*time.Nanosecond)
		got, rev, err := s.RevokeAPIKey(ctx, dev.ID, "key_01", at)
		want := want1
		revokedAt := stored(at)
		want.Status, want.RevokedAt = KeyRevoked, &revokedAt
		if err != nil || rev != 5 || !reflect.DeepEqual(got, want) {
			t.Errorf("RevokeAPIKey = %+v, %d, %v; want %+v, 5", got, rev, err, want)
		}
		// Again: unchanged (first revocation time kept), no bump.
		got, rev, err = s.RevokeAPIKey(ctx, dev.ID, "key_01", at.Add(time.Hour))
		if err != nil || rev != 5 || !reflect.DeepEqual(got, want) {
			t.Errorf("RevokeAPIKey(again) = %+v, %d, %v; want %+v, 5", got, rev, err, want)
		}
		wantRevision(t, s, dev.ID, 5)
		// Revoked keys are still found.
		if got, loc, err := s.GetAPIKey(ctx, "key_01"); err != nil || !reflect.DeepEqual(got, want) || loc.EnvID != dev.ID {
			t.Errorf("GetAPIKey(revoked) = %+v, %+v, %v", got, loc, err)
		}
		if list, err := s.ListAPIKeys(ctx, dev.ID); err != nil || len(list) != 3 || list[2].Status != KeyRevoked {
			t.Errorf("ListAPIKeys after revoke = %+v, %v", list, err)
		}

		_, _, err = s.RevokeAPIKey(ctx, dev.ID, "key_04", at) // prod's key
		wantErr(t, "RevokeAPIKey(other env's key)", err, ErrNotFound)
		_, _, err = s.RevokeAPIKey(ctx, dev.ID, "key_missing", at)
		wantErr(t, "RevokeAPIKey(unknown key)", err, ErrNotFound)
		_, _, err = s.RevokeAPIKey(ctx, "env_missing", "key_01", at)
		wantErr(t, "RevokeAPIKey(unknown env)", err, ErrNotFound)
		if got, _, err := s.GetAPIKey(ctx, "key_04"); err != nil || got.Status != KeyActive {
			t.Errorf("prod's key after a revoke through dev = %+v, %v", got, err)
		}
		_, _, err = s.GetAPIKey(ctx, "key_missing")
		wantErr(t, "GetAPIKey(unknown)", err, ErrNotFound)
		_, err = s.CreateAPIKey(ctx, APIKey{ID: "key_01", EnvID: dev.ID, Name: "x", SecretHash: "h", CreatedAt: t0})
		wantErr(t, "CreateAPIKey(duplicate id)", err, ErrConflict)
		_, err = s.CreateAPIKey(ctx, APIKey{ID: "key_09", EnvID: "env_missing", Name: "x", SecretHash: "h", CreatedAt: t0})
		wantErr(t, "CreateAPIKey(unknown env)", err, ErrNotFound)
		wantRevision(t, s, dev.ID, 5)
		wantRevision(t, s, prod.ID, 2)
	})
}

func TestConcurrentRevokeAPIKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		if _, err := s.CreateAPIKey(t.Context(), APIKey{ID: "key_01", EnvID: dev.ID, Name: "k", SecretHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if _, _, err := s.RevokeAPIKey(t.Context(), dev.ID, "key_01", t0.Add(time.Duration(i)*time.Second)); err != nil {
					t.Errorf("RevokeAPIKey: %v", err)
				}
			})
		}
		wg.Wait()
		wantRevision(t, s, dev.ID, 3) // one create, one effective revoke
	})
}

func TestEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		org, err := s.GetOrg(ctx, DefaultOrg)
		if err != nil {
			t.Fatal(err)
		}
		acme, err := s.EnsureOrg(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		shop := mustProject(t, s, "shop")
		blog := mustProject(t, s, "blog")
		if list, err := s.ListEvents(ctx, EventFilter{OrgID: org.ID}); err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListEvents(none) = %v, %v; want []", list, err)
		}

		ev := func(id, orgID, projectID string) Event {
			return Event{ID: id, OrgID: orgID, ProjectID: projectID, Time: t0, Actor: "alice",
				Action: "release.create", Target: "shop/dev", Outcome: "success", RequestID: "req_" + id}
		}
		// Appended out of id order: the id is the order.
		for _, e := range []Event{
			ev("evt_03", org.ID, shop.ID),
			ev("evt_01", org.ID, shop.ID),
			ev("evt_02", org.ID, ""),
			ev("evt_05", org.ID, shop.ID),
			ev("evt_04", org.ID, blog.ID),
			ev("evt_06", acme.ID, ""),
			ev("evt_07", org.ID, ""),
		} {
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatalf("AppendEvent(%s): %v", e.ID, err)
			}
		}
		ids := func(f EventFilter) string {
			t.Helper()
			list, err := s.ListEvents(ctx, f)
			if err != nil {
				t.Fatalf("ListEvents(%+v): %v", f, err)
			}
			out := make([]string, len(list))
			for i, e := range list {
				out[i] = e.ID
			}
			return strings.Join(out, " ")
		}
		for _, c := range []struct {
			f    EventFilter
			want string
		}{
			{EventFilter{OrgID: org.ID, ProjectID: shop.ID}, "evt_05 evt_03 evt_01"},
			{EventFilter{ProjectID: shop.ID}, "evt_05 evt_03 evt_01"},
			{EventFilter{OrgID: org.ID, ProjectID: shop.ID, Limit: 2}, "evt_05 evt_03"},
			{EventFilter{OrgID: org.ID, ProjectID: shop.ID, Limit: 2, Before: "evt_03"}, "evt_01"},
			{EventFilter{OrgID: org.ID, ProjectID: shop.ID, Before: "evt_04"}, "evt_03 evt_01"},
			{EventFilter{OrgID: org.ID, ProjectID: shop.ID, Before: "evt_01"}, ""},
			{EventFilter{OrgID: org.ID, ProjectID: blog.ID}, "evt_04"},
			{EventFilter{OrgID: org.ID}, "evt_07 evt_02"},
			{EventFilter{OrgID: org.ID, Before: "evt_07"}, "evt_02"},
			{EventFilter{OrgID: acme.ID}, "evt_06"},
			{EventFilter{OrgID: "org_missing"}, ""},
			{EventFilter{ProjectID: "prj_missing"}, ""},
		} {
			if got := ids(c.f); got != c.want {
				t.Errorf("ListEvents(%+v) = %q, want %q", c.f, got, c.want)
			}
		}

		list, err := s.ListEvents(ctx, EventFilter{ProjectID: shop.ID, Limit: 1})
		want := ev("evt_05", org.ID, shop.ID)
		want.Time = stored(t0)
		if err != nil || len(list) != 1 || list[0] != want {
			t.Errorf("ListEvents row = %+v, %v; want %+v", list, err, want)
		}
		if list, _ := s.ListEvents(ctx, EventFilter{OrgID: org.ID, Limit: 1}); len(list) != 1 || list[0].ProjectID != "" {
			t.Errorf("org-level event = %+v", list)
		}

		err = s.AppendEvent(ctx, ev("evt_01", org.ID, ""))
		wantErr(t, "AppendEvent(duplicate)", err, ErrConflict)
		err = s.AppendEvent(ctx, ev("evt_90", "org_missing", ""))
		wantErr(t, "AppendEvent(unknown org)", err, ErrNotFound)
		err = s.AppendEvent(ctx, ev("evt_91", org.ID, "prj_missing"))
		wantErr(t, "AppendEvent(unknown project)", err, ErrNotFound)

		// Limit: default 50, at most 500. Bulk rows in one transaction.
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			for i := range 600 {
				if _, err := s.exec(ctx, tx, `INSERT INTO audit_events
    (id, org_id, project_id, at, actor, action, target, outcome, request_id) VALUES (?, ?, ?, ?, '', '', '', '', '')`,
					fmt.Sprintf("evt_b%03d", i), org.ID, blog.ID, micros(t0)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {7, 7}, {500, 500}, {501, 500}, {10000, 500}} {
			list, err := s.ListEvents(ctx, EventFilter{ProjectID: blog.ID, Limit: c.limit})
			if err != nil || len(list) != c.want {
				t.Errorf("ListEvents(limit %d) = %d events, %v; want %d", c.limit, len(list), err, c.want)
			}
		}
		if got := ids(EventFilter{ProjectID: blog.ID, Limit: 3, Before: "evt_b100"}); got != "evt_b099 evt_b098 evt_b097" {
			t.Errorf("page before evt_b100 = %s", got)
		}
	})
}

// TestRevisionBumps asserts SPEC §8.1: exactly release pointer moves,
// connection set/rotate and API key create/revoke bump the revision, by one
// each, and only of their own env.
func TestRevisionBumps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		org, err := s.GetOrg(ctx, DefaultOrg)
		if err != nil {
			t.Fatal(err)
		}
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")
		var snap Snapshot
		var perm PermissionSet

		steps := []struct {
			what string
			bump int64
			do   func() error
		}{
			{"snapshot", 0, func() error { snap = mustSnap(t, s, dev.ID, "snap_01", "main", t0); return nil }},
			{"permission set", 0, func() error { perm = mustPerm(t, s, dev.ID, "perm_01", t0); return nil }},
			{"audit event", 0, func() error {
				return s.AppendEvent(ctx, Event{ID: "evt_01", OrgID: org.ID, ProjectID: p.ID, Time: t0})
			}},
			{"connection set", 1, func() error {
				_, _, err := s.PutConnection(ctx, Connection{ID: "conn_1", EnvID: dev.ID, Name: "main", Engine: "postgres",
					Ciphertext: []byte("c"), KeyVersion: "v1", UpdatedAt: t0})
				return err
			}},
			{"connection rotate", 1, func() error {
				_, _, err := s.PutConnection(ctx, Connection{ID: "conn_2", EnvID: dev.ID, Name: "main", Engine: "postgres",
					Ciphertext: []byte("d"), KeyVersion: "v1", UpdatedAt: t0})
				return err
			}},
			{"release create", 1, func() error {
				_, err := s.CreateRelease(ctx, Release{ID: "rel_01", EnvID: dev.ID, PermissionsID: perm.ID,
					Snapshots: map[string]string{"main": snap.ID}, CreatedAt: t0})
				return err
			}},
			{"second release", 1, func() error {
				_, err := s.CreateRelease(ctx, Release{ID: "rel_02", EnvID: dev.ID, PermissionsID: perm.ID,
					Snapshots: map[string]string{"main": snap.ID}, CreatedAt: t0})
				return err
			}},
			{"rollback", 1, func() error { _, err := s.SetCurrentRelease(ctx, dev.ID, "rel_01"); return err }},
			{"API key create", 1, func() error {
				_, err := s.CreateAPIKey(ctx, APIKey{ID: "key_01", EnvID: dev.ID, Name: "k", SecretHash: "h", CreatedAt: t0})
				return err
			}},
			{"API key revoke", 1, func() error { _, _, err := s.RevokeAPIKey(ctx, dev.ID, "key_01", t0); return err }},
			{"API key revoke again", 0, func() error { _, _, err := s.RevokeAPIKey(ctx, dev.ID, "key_01", t0); return err }},
			{"another snapshot", 0, func() error { mustSnap(t, s, dev.ID, "snap_02", "main", t0); return nil }},
			{"another permission set", 0, func() error { mustPerm(t, s, dev.ID, "perm_02", t0); return nil }},
			{"reads", 0, func() error {
				_, err1 := s.GetRelease(ctx, "rel_01")
				_, err2 := s.ListReleases(ctx, dev.ID)
				_, _, err3 := s.GetAPIKey(ctx, "key_01")
				_, err4 := s.ListAPIKeys(ctx, dev.ID)
				_, err5 := s.GetEnvByID(ctx, dev.ID)
				_, err6 := s.LatestPermissionSet(ctx, dev.ID)
				_, err7 := s.ListEvents(ctx, EventFilter{ProjectID: p.ID})
				return errors.Join(err1, err2, err3, err4, err5, err6, err7)
			}},
			{"failed rollback", 0, func() error {
				if _, err := s.SetCurrentRelease(ctx, dev.ID, "rel_missing"); !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("err = %v", err)
				}
				return nil
			}},
			{"failed release create", 0, func() error {
				if _, err := s.CreateRelease(ctx, Release{ID: "rel_01", EnvID: dev.ID, PermissionsID: perm.ID,
					CreatedAt: t0}); !errors.Is(err, ErrConflict) {
					return fmt.Errorf("err = %v", err)
				}
				return nil
			}},
			{"failed key create", 0, func() error {
				if _, err := s.CreateAPIKey(ctx, APIKey{ID: "key_01", EnvID: dev.ID, Name: "k", SecretHash: "h",
					CreatedAt: t0}); !errors.Is(err, ErrConflict) {
					return fmt.Errorf("err = %v", err)
				}
				return nil
			}},
			{"failed revoke", 0, func() error {
				if _, _, err := s.RevokeAPIKey(ctx, dev.ID, "key_missing", t0); !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("err = %v", err)
				}
				return nil
			}},
		}
		want := mustRevision(t, s, dev.ID)
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.what, err)
			}
			want += st.bump
			if got := mustRevision(t, s, dev.ID); got != want {
				t.Errorf("after %s: revision %d, want %d", st.what, got, want)
				want = got
			}
		}
		wantRevision(t, s, prod.ID, 1)
	})
}

// releaseChildEnv tells a re-executed test binary to act as the child of
// TestReleasesSurviveKill9; its value is the store URL.
const releaseChildEnv = "STK_STORE_RELEASE_CHILD_URL"

// releaseChild creates releases of shop/dev as fast as it can, printing
// each id once its transaction has committed, until it is killed.
func releaseChild(url string) {
	ctx := context.Background()
	fail := func(what string, err error) {
		fmt.Fprintln(os.Stderr, "child", what+":", err)
		os.Exit(2)
	}
	s, err := Open(ctx, url)
	if err != nil {
		fail("open", err)
	}
	env, err := s.GetEnv(ctx, "shop", "dev")
	if err != nil {
		fail("get env", err)
	}
	perm, err := s.LatestPermissionSet(ctx, env.ID)
	if err != nil {
		fail("permission set", err)
	}
	snaps, err := s.LatestSnapshots(ctx, env.ID)
	if err != nil {
		fail("snapshots", err)
	}
	m := map[string]string{}
	for _, sn := range snaps {
		m[sn.Connection] = sn.ID
	}
	for {
		id := "rel_" + ulid.Make().String()
		if _, err := s.CreateRelease(ctx, Release{ID: id, EnvID: env.ID, Ref: "sha", Hash: "h",
			PermissionsID: perm.ID, Snapshots: m, CreatedAt: time.Now(), CreatedBy: "child"}); err != nil {
			fail("create release", err)
		}
		fmt.Println(id) // one write: a line is whole or absent
	}
}

// waitForOtherBackends waits until no other session of the database is
// busy: a COMMIT the killed child sent just before SIGKILL is still carried
// out by its server process, and reading the env before and the releases
// after it lands would see a release the revision does not count yet (the
// flake this test had).
func waitForOtherBackends(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND backend_type = 'client backend' AND state <> 'idle'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d other sessions still busy 10s after the kill", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReleasesSurviveKill9 kills a child process with SIGKILL while it
// commits releases in a loop, then checks that every release it reported is
// whole, the env's pointer and revision agree with the releases stored, and
// (SQLite) the file is intact.
func TestReleasesSurviveKill9(t *testing.T) {
	if url := os.Getenv(releaseChildEnv); url != "" {
		releaseChild(url)
		return
	}
	engines := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", sqliteURL},
		{"postgres", func(t *testing.T) string { return testpg.New(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			url := e.url(t)
			setupRev := setUpKillEnv(t, url)
			printed := runReleaseChild(t, url)
			if len(printed) == 0 {
				t.Fatal("the child committed no release before being killed")
			}
			t.Logf("%s: child reported %d releases before SIGKILL", e.name, len(printed))

			s := openStore(t, url)
			ctx := t.Context()
			if s.Engine() == "postgres" {
				waitForOtherBackends(t, s)
			}
			env, err := s.GetEnv(ctx, "shop", "dev")
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range printed {
				r, err := s.GetRelease(ctx, id)
				if err != nil {
					t.Fatalf("release %s reported committed is gone: %v", id, err)
				}
				if r.EnvID != env.ID || r.CreatedBy != "child" || len(r.Snapshots) != 2 {
					t.Errorf("release %s = %+v", id, r)
				}
				for conn, snapID := range r.Snapshots {
					if sn, err := s.GetSnapshotByID(ctx, snapID); err != nil || sn.Connection != conn {
						t.Errorf("release %s: snapshot %s: %+v, %v", id, snapID, sn, err)
					}
				}
				if _, err := s.GetPermissionSet(ctx, r.PermissionsID); err != nil {
					t.Errorf("release %s: permission set: %v", id, err)
				}
			}
			list, err := s.ListReleases(ctx, env.ID)
			if err != nil {
				t.Fatal(err)
			}
			// At most one commit can have landed without being reported.
			if extra := len(list) - len(printed); extra < 0 || extra > 1 {
				t.Errorf("%d releases stored, %d reported", len(list), len(printed))
			}
			if env.CurrentReleaseID != list[0].ID {
				t.Errorf("current release %q, want the newest, %s", env.CurrentReleaseID, list[0].ID)
			}
			if cur, err := s.GetRelease(ctx, env.CurrentReleaseID); err != nil || cur.EnvID != env.ID {
				t.Errorf("current release %q: %+v, %v", env.CurrentReleaseID, cur, err)
			}
			if want := setupRev + int64(len(list)); env.Revision != want {
				t.Errorf("revision %d, want %d (setup) + %d releases", env.Revision, setupRev, len(list))
			}
			if s.Engine() == "sqlite" {
				var check string
				if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
					t.Errorf("integrity_check = %q, %v", check, err)
				}
				rows, err := s.db.QueryContext(ctx, "PRAGMA foreign_key_check")
				if err != nil {
					t.Fatal(err)
				}
				if rows.Next() {
					t.Error("foreign_key_check reports violations")
				}
				rows.Close()
			}
			// The store keeps working.
			rev, err := s.CreateRelease(ctx, Release{ID: "rel_after", EnvID: env.ID, PermissionsID: list[0].PermissionsID,
				Snapshots: list[0].Snapshots, CreatedAt: time.Now()})
			if err != nil || rev != env.Revision+1 {
				t.Errorf("CreateRelease after the crash = %d, %v; want %d", rev, err, env.Revision+1)
			}
		})
	}
}

// setUpKillEnv creates shop/dev with two snapshots, a permission set and a
// connection, closes the store and returns the env's revision.
func setUpKillEnv(t *testing.T, url string) int64 {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := mustProject(t, s, "shop")
	dev := mustEnv(t, s, p, "dev")
	mustSnap(t, s, dev.ID, "snap_01", "main", t0)
	mustSnap(t, s, dev.ID, "snap_02", "audit", t0)
	mustPerm(t, s, dev.ID, "perm_01", t0)
	if _, _, err := s.PutConnection(t.Context(), Connection{ID: "conn_1", EnvID: dev.ID, Name: "main",
		Engine: "postgres", Ciphertext: []byte("c"), KeyVersion: "v1", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return mustRevision(t, s, dev.ID)
}

// runReleaseChild runs releaseChild on url, lets it commit for about 300 ms
// after its first release, kills it with SIGKILL and returns the ids it
// printed on whole lines.
func runReleaseChild(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReleasesSurviveKill9$")
	cmd.Env = append(os.Environ(), releaseChildEnv+"="+url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		ids   []string
		first = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a partial last line is not a reported commit
			}
			line = strings.TrimSuffix(line, "\n")
			if !strings.HasPrefix(line, "rel_") {
				continue // not ours (the test framework prints nothing here)
			}
			ids = append(ids, line)
			if len(ids) == 1 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-done:
		_ = cmd.Wait()
		t.Fatalf("child exited without committing: %s", stderr.String())
	case <-ctx.Done():
		t.Fatal("child committed nothing within a minute")
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done // the pipe closes when the child dies; read it all before Wait
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v; stderr: %s", err, stderr.String())
	}
	return ids
}
