package store

import (
	"errors"
	"testing"
	"time"
)

// mustConn stores a connection row (the ciphertext is opaque to the store).
func mustConn(t *testing.T, s *Store, envID, name string) Connection {
	t.Helper()
	c, _, err := s.PutConnection(t.Context(), Connection{ID: "con_" + envID + name, EnvID: envID, Name: name,
		Engine: "postgres", Ciphertext: []byte{1}, KeyVersion: "v1", RedactedURL: "postgres://x", UpdatedAt: t0})
	if err != nil {
		t.Fatalf("PutConnection(%s): %v", name, err)
	}
	return c
}

// wantInUse checks that err is an *InUseError naming exactly want.
func wantInUse(t *testing.T, what string, err error, want map[string]string) {
	t.Helper()
	var iu *InUseError
	if !errors.As(err, &iu) || !errors.Is(err, ErrInUse) {
		t.Fatalf("%s: err = %v, want an InUseError", what, err)
	}
	if len(iu.Current) != len(want) {
		t.Fatalf("%s: in use by %v, want %v", what, iu.Current, want)
	}
	for env, rel := range want {
		if iu.Current[env] != rel {
			t.Fatalf("%s: in use by %v, want %v", what, iu.Current, want)
		}
	}
}

func TestDeleteConnection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		prj := mustProject(t, s, "demo")
		dev := mustEnv(t, s, prj, "dev")
		mustConn(t, s, dev.ID, "main")
		mustConn(t, s, dev.ID, "spare")
		mustSnap(t, s, dev.ID, "snap_1", "main", t0)
		mustPerm(t, s, dev.ID, "perm_1", t0)
		mustRelease(t, s, Release{ID: "rel_1", EnvID: dev.ID, PermissionsID: "perm_1",
			Snapshots: map[string]string{"main": "snap_1"}, CreatedAt: t0, CreatedBy: "alice"})

		before := mustRevision(t, s, dev.ID)
		_, _, err := s.DeleteConnection(ctx, dev.ID, "main", false)
		wantInUse(t, "delete a connection the current release uses", err, map[string]string{"dev": "rel_1"})
		wantRevision(t, s, dev.ID, before) // refused: nothing changed
		if _, err := s.GetConnection(ctx, dev.ID, "main"); err != nil {
			t.Fatalf("refused delete removed the connection: %v", err)
		}

		// A connection no release uses goes without force.
		c, rev, err := s.DeleteConnection(ctx, dev.ID, "spare", false)
		if err != nil || c.Name != "spare" || rev != before+1 {
			t.Fatalf("DeleteConnection(spare) = %+v, %d, %v; want it at revision %d", c, rev, err, before+1)
		}
		_, err = s.GetConnection(ctx, dev.ID, "spare")
		wantErr(t, "get a deleted connection", err, ErrNotFound)
		_, _, err = s.DeleteConnection(ctx, dev.ID, "spare", false)
		wantErr(t, "delete it again", err, ErrNotFound)
		_, _, err = s.DeleteConnection(ctx, "env_nope", "main", true)
		wantErr(t, "delete in an unknown env", err, ErrNotFound)

		if _, _, err := s.DeleteConnection(ctx, dev.ID, "main", true); err != nil {
			t.Fatalf("forced delete: %v", err)
		}
		if list, _ := s.ListConnections(ctx, dev.ID); len(list) != 0 {
			t.Fatalf("connections left: %+v", list)
		}
		// The release stays readable: it froze the snapshot, not the URL.
		if _, err := s.GetRelease(ctx, "rel_1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteEnv(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		prj := mustProject(t, s, "demo")
		dev, prod := mustEnv(t, s, prj, "dev"), mustEnv(t, s, prj, "prod")
		mustConn(t, s, dev.ID, "main")
		mustSnap(t, s, dev.ID, "snap_1", "main", t0)
		mustPerm(t, s, dev.ID, "perm_1", t0)
		mustRelease(t, s, Release{ID: "rel_1", EnvID: dev.ID, PermissionsID: "perm_1",
			Snapshots: map[string]string{"main": "snap_1"}, CreatedAt: t0, CreatedBy: "alice"})
		// prod's release was promoted from dev's: it refers to dev's rows.
		mustRelease(t, s, Release{ID: "rel_2", EnvID: prod.ID, PermissionsID: "perm_1", PromotedFrom: "rel_1",
			Snapshots: map[string]string{"main": "snap_1"}, CreatedAt: t0, CreatedBy: "alice"})
		if _, err := s.CreateAPIKey(ctx, APIKey{ID: "key_1", EnvID: dev.ID, Name: "k", SecretHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}

		_, err := s.DeleteEnv(ctx, dev.ID, t0, false)
		wantInUse(t, "delete an env with a current release", err, map[string]string{"dev": "rel_1"})
		if _, err := s.GetEnv(ctx, "demo", "dev"); err != nil {
			t.Fatalf("refused delete removed the env: %v", err)
		}

		before := mustRevision(t, s, dev.ID)
		got, err := s.DeleteEnv(ctx, dev.ID, t0, true)
		if err != nil || got.Name != "dev" || got.CurrentReleaseID != "rel_1" {
			t.Fatalf("DeleteEnv = %+v, %v", got, err)
		}
		// Long polls see the change; the env is gone from every lookup.
		wantRevision(t, s, dev.ID, before+1)
		_, err = s.GetEnv(ctx, "demo", "dev")
		wantErr(t, "GetEnv after delete", err, ErrNotFound)
		_, err = s.GetEnvByID(ctx, dev.ID)
		wantErr(t, "GetEnvByID after delete", err, ErrNotFound)
		_, err = s.GetEnv(ctx, "demo", dev.ID)
		wantErr(t, "GetEnv by the tombstone's name", err, ErrNotFound)
		envs, err := s.ListEnvs(ctx, prj.ID)
		if err != nil || len(envs) != 1 || envs[0].Name != "prod" {
			t.Fatalf("ListEnvs = %+v, %v; want prod only", envs, err)
		}
		_, err = s.DeleteEnv(ctx, dev.ID, t0, true)
		wantErr(t, "delete it again", err, ErrNotFound)
		// Its secrets and keys are gone.
		_, _, err = s.GetAPIKey(ctx, "key_1")
		wantErr(t, "API key of a deleted env", err, ErrNotFound)
		_, err = s.GetConnection(ctx, dev.ID, "main")
		wantErr(t, "connection of a deleted env", err, ErrNotFound)
		// prod's release, which shares dev's rows, is intact.
		if _, err := s.GetPermissionSet(ctx, "perm_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSnapshotByID(ctx, "snap_1"); err != nil {
			t.Fatal(err)
		}
		// The name is free again.
		again := Env{ID: "env_demo_dev2", ProjectID: prj.ID, Name: "dev", CreatedAt: t0}
		if err := s.CreateEnv(ctx, again); err != nil {
			t.Fatalf("CreateEnv(dev) after delete: %v", err)
		}
		if e, err := s.GetEnv(ctx, "demo", "dev"); err != nil || e.ID != again.ID || e.CurrentReleaseID != "" {
			t.Fatalf("new dev = %+v, %v", e, err)
		}
	})
}

func TestDeleteProject(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "usr_1", "a@example.com", "owner")
		prj := mustProject(t, s, "demo")
		other := mustProject(t, s, "other")
		dev, prod := mustEnv(t, s, prj, "dev"), mustEnv(t, s, prj, "prod")
		gone := mustEnv(t, s, prj, "gone")
		keep := mustEnv(t, s, other, "dev")
		for _, e := range []Env{dev, prod, keep} {
			mustConn(t, s, e.ID, "main")
			mustSnap(t, s, e.ID, "snap_"+e.ID, "main", t0)
			mustPerm(t, s, e.ID, "perm_"+e.ID, t0)
		}
		mustRelease(t, s, Release{ID: "rel_1", EnvID: dev.ID, PermissionsID: "perm_" + dev.ID,
			Snapshots: map[string]string{"main": "snap_" + dev.ID}, CreatedAt: t0, CreatedBy: "alice"})
		mustRelease(t, s, Release{ID: "rel_2", EnvID: prod.ID, PermissionsID: "perm_" + dev.ID, PromotedFrom: "rel_1",
			Snapshots: map[string]string{"main": "snap_" + dev.ID}, CreatedAt: t0, CreatedBy: "alice"})
		mustRelease(t, s, Release{ID: "rel_3", EnvID: keep.ID, PermissionsID: "perm_" + keep.ID,
			Snapshots: map[string]string{"main": "snap_" + keep.ID}, CreatedAt: t0, CreatedBy: "alice"})
		if _, err := s.CreateAPIKey(ctx, APIKey{ID: "key_1", EnvID: prod.ID, Name: "k", SecretHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteEnv(ctx, gone.ID, t0, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutMember(ctx, ProjectMembers, Member{Scope: prj.ID, UserID: u.ID, Role: "viewer", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []CIToken{
			{ID: "tok_1", Name: "scoped", UserID: u.ID, ProjectID: prj.ID, Role: "deployer", SecretHash: "h1", CreatedAt: t0},
			{ID: "tok_2", Name: "other", UserID: u.ID, ProjectID: other.ID, SecretHash: "h2", CreatedAt: t0},
		} {
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		for i, pid := range []string{prj.ID, other.ID} {
			ev := Event{ID: "evt_" + string(rune('a'+i)), OrgID: prj.OrgID, ProjectID: pid, Time: t0, Actor: "alice",
				Action: "env.create", Target: "x", Outcome: "success", RequestID: "req_1"}
			if err := s.AppendEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}

		_, _, err := s.DeleteProject(ctx, prj.ID, false)
		wantInUse(t, "delete a project with current releases", err, map[string]string{"dev": "rel_1", "prod": "rel_2"})
		if _, err := s.GetProject(ctx, "demo"); err != nil {
			t.Fatalf("refused delete removed the project: %v", err)
		}

		got, envs, err := s.DeleteProject(ctx, prj.ID, true)
		if err != nil || got.Name != "demo" || len(envs) != 2 || envs[0].Name != "dev" || envs[1].Name != "prod" {
			t.Fatalf("DeleteProject = %+v, %+v, %v; want demo with dev and prod", got, envs, err)
		}
		_, err = s.GetProject(ctx, "demo")
		wantErr(t, "GetProject after delete", err, ErrNotFound)
		_, _, err = s.DeleteProject(ctx, prj.ID, true)
		wantErr(t, "delete it again", err, ErrNotFound)
		for _, id := range []string{"rel_1", "rel_2"} {
			_, err = s.GetRelease(ctx, id)
			wantErr(t, "release "+id, err, ErrNotFound)
		}
		_, _, err = s.GetAPIKey(ctx, "key_1")
		wantErr(t, "API key", err, ErrNotFound)
		_, err = s.GetToken(ctx, "tok_1")
		wantErr(t, "CI token scoped to the project", err, ErrNotFound)
		if ms, _ := s.ListMemberships(ctx, ProjectMembers, u.ID); len(ms) != 0 {
			t.Fatalf("memberships left: %+v", ms)
		}
		// The project's audit trail is now org-level; the other project's
		// stays its own.
		orgEvents, err := s.ListEvents(ctx, EventFilter{OrgID: prj.OrgID})
		if err != nil || len(orgEvents) != 1 || orgEvents[0].ID != "evt_a" {
			t.Fatalf("org events = %+v, %v; want evt_a", orgEvents, err)
		}
		if evs, _ := s.ListEvents(ctx, EventFilter{ProjectID: other.ID}); len(evs) != 1 || evs[0].ID != "evt_b" {
			t.Fatalf("other project's events = %+v", evs)
		}
		// The other project is untouched.
		if _, err := s.GetRelease(ctx, "rel_3"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, "tok_2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetConnection(ctx, keep.ID, "main"); err != nil {
			t.Fatal(err)
		}
		// The name is free again.
		p := Project{ID: "prj_again", OrgID: prj.OrgID, Name: "demo", CreatedAt: t0.Add(time.Second)}
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(demo) after delete: %v", err)
		}
	})
}
