package store

import (
	"reflect"
	"testing"
	"time"
)

func mustAuth(t *testing.T, s *Store, envID, id string, at time.Time) AuthConfig {
	t.Helper()
	a := AuthConfig{ID: id, EnvID: envID, Hash: "h-" + id,
		Source: []byte("version: 1\nissuers: [] # " + id + "\n"), CreatedAt: at, CreatedBy: "alice"}
	if err := s.CreateAuthConfig(t.Context(), a); err != nil {
		t.Fatalf("CreateAuthConfig(%s): %v", id, err)
	}
	a.CreatedAt = stored(at)
	return a
}

// TestAuthConfigs covers staging auth configs and freezing one into a
// release, on both engines (SPEC §7.3, §9).
func TestAuthConfigs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")

		_, err := s.LatestAuthConfig(ctx, dev.ID)
		wantErr(t, "LatestAuthConfig(none)", err, ErrNotFound)

		first := mustAuth(t, s, dev.ID, "authcfg_01", t0)
		mustAuth(t, s, dev.ID, "authcfg_03", t0.Add(-time.Minute)) // older, created later
		second := mustAuth(t, s, dev.ID, "authcfg_02", t0.Add(time.Minute))
		mustAuth(t, s, prod.ID, "authcfg_04", t0.Add(time.Hour))
		wantRevision(t, s, dev.ID, 1) // staging does not bump (SPEC §9)

		if got, err := s.LatestAuthConfig(ctx, dev.ID); err != nil || !reflect.DeepEqual(got, second) {
			t.Errorf("LatestAuthConfig = %+v, %v; want %+v", got, err, second)
		}
		tie := mustAuth(t, s, dev.ID, "authcfg_05", t0.Add(time.Minute))
		if got, err := s.LatestAuthConfig(ctx, dev.ID); err != nil || got.ID != tie.ID {
			t.Errorf("LatestAuthConfig after tie = %s, %v; want %s", got.ID, err, tie.ID)
		}
		if got, err := s.GetAuthConfig(ctx, "authcfg_01"); err != nil || !reflect.DeepEqual(got, first) {
			t.Errorf("GetAuthConfig = %+v, %v; want %+v", got, err, first)
		}
		_, err = s.GetAuthConfig(ctx, "authcfg_missing")
		wantErr(t, "GetAuthConfig(missing)", err, ErrNotFound)
		err = s.CreateAuthConfig(ctx, AuthConfig{ID: "authcfg_01", EnvID: dev.ID, Hash: "h", CreatedAt: t0})
		wantErr(t, "duplicate auth config", err, ErrConflict)
		err = s.CreateAuthConfig(ctx, AuthConfig{ID: "authcfg_99", EnvID: "env_missing", Hash: "h", CreatedAt: t0})
		wantErr(t, "auth config of unknown env", err, ErrNotFound)

		// A release records the version it froze, or none.
		mustSnap(t, s, dev.ID, "snap_01", "main", t0)
		mustPerm(t, s, dev.ID, "perm_01", t0)
		with := Release{ID: "rel_01", EnvID: dev.ID, Ref: "a", Hash: "h1", PermissionsID: "perm_01", AuthID: tie.ID,
			Snapshots: map[string]string{"main": "snap_01"}, CreatedAt: t0, CreatedBy: "alice"}
		mustRelease(t, s, with)
		without := with
		without.ID, without.AuthID = "rel_02", ""
		mustRelease(t, s, without)
		if got, err := s.GetRelease(ctx, "rel_01"); err != nil || got.AuthID != tie.ID {
			t.Errorf("GetRelease(with auth) = %+v, %v", got, err)
		}
		if got, err := s.GetRelease(ctx, "rel_02"); err != nil || got.AuthID != "" {
			t.Errorf("GetRelease(without auth) = %+v, %v", got, err)
		}
		bad := with
		bad.ID, bad.AuthID = "rel_03", "authcfg_missing"
		_, err = s.CreateRelease(ctx, bad)
		wantErr(t, "release with unknown auth config", err, ErrNotFound)

		// An env's tombstone keeps its auth configs (its releases refer to
		// them); a project delete removes them all.
		if _, err := s.DeleteEnv(ctx, dev.ID, t0, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAuthConfig(ctx, tie.ID); err != nil {
			t.Errorf("auth config of a deleted env: %v", err)
		}
		if _, _, err := s.DeleteProject(ctx, p.ID, true); err != nil {
			t.Fatalf("DeleteProject: %v", err)
		}
		for _, id := range []string{tie.ID, "authcfg_04"} {
			_, err := s.GetAuthConfig(ctx, id)
			wantErr(t, "auth config after project delete", err, ErrNotFound)
		}
	})
}
