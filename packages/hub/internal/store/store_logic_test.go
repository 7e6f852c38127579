package store

import (
	"reflect"
	"testing"
	"time"
)

func mustLogicSet(t *testing.T, s *Store, envID, id string, at time.Time) LogicSet {
	t.Helper()
	l := LogicSet{ID: id, EnvID: envID, Hash: "h-" + id, Files: []byte(`{"a.sql":"---\nauth: public\n---\nSELECT 1"}`),
		Logics: []byte(`[{"name":"a"}]`), CreatedAt: at, CreatedBy: "alice"}
	if err := s.CreateLogicSet(t.Context(), l); err != nil {
		t.Fatalf("CreateLogicSet(%s): %v", id, err)
	}
	l.CreatedAt = stored(at)
	return l
}

// TestLogicSets covers staging logic sets, freezing one into a release and
// the deletes, on both engines (SPEC §6, §9).
func TestLogicSets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		dev := mustEnv(t, s, p, "dev")
		prod := mustEnv(t, s, p, "prod")

		_, err := s.LatestLogicSet(ctx, dev.ID)
		wantErr(t, "LatestLogicSet(none)", err, ErrNotFound)
		first := mustLogicSet(t, s, dev.ID, "logic_01", t0)
		second := mustLogicSet(t, s, dev.ID, "logic_02", t0.Add(time.Minute))
		mustLogicSet(t, s, prod.ID, "logic_03", t0.Add(time.Hour))
		wantRevision(t, s, dev.ID, 1) // staging does not bump (SPEC §9)
		if got, err := s.LatestLogicSet(ctx, dev.ID); err != nil || !reflect.DeepEqual(got, second) {
			t.Errorf("LatestLogicSet = %+v, %v; want %+v", got, err, second)
		}
		if got, err := s.GetLogicSet(ctx, first.ID); err != nil || !reflect.DeepEqual(got, first) {
			t.Errorf("GetLogicSet = %+v, %v; want %+v", got, err, first)
		}
		err = s.CreateLogicSet(ctx, LogicSet{ID: "logic_01", EnvID: dev.ID, Files: []byte("{}"), Logics: []byte("[]"), CreatedAt: t0})
		wantErr(t, "duplicate logic set", err, ErrConflict)
		err = s.CreateLogicSet(ctx, LogicSet{ID: "logic_99", EnvID: "env_missing", Files: []byte("{}"), Logics: []byte("[]"), CreatedAt: t0})
		wantErr(t, "logic set of unknown env", err, ErrNotFound)

		mustSnap(t, s, dev.ID, "snap_01", "main", t0)
		mustPerm(t, s, dev.ID, "perm_01", t0)
		rel := Release{ID: "rel_01", EnvID: dev.ID, Ref: "a", Hash: "h1", PermissionsID: "perm_01", LogicID: second.ID,
			Snapshots: map[string]string{"main": "snap_01"}, CreatedAt: t0, CreatedBy: "alice"}
		mustRelease(t, s, rel)
		// A promoted release refers to the source env's set.
		promoted := rel
		promoted.ID, promoted.EnvID, promoted.PromotedFrom = "rel_02", prod.ID, rel.ID
		mustRelease(t, s, promoted)
		none := rel
		none.ID, none.LogicID = "rel_03", ""
		mustRelease(t, s, none)
		for id, want := range map[string]string{"rel_01": second.ID, "rel_02": second.ID, "rel_03": ""} {
			if got, err := s.GetRelease(ctx, id); err != nil || got.LogicID != want {
				t.Errorf("GetRelease(%s).LogicID = %q, %v; want %q", id, got.LogicID, err, want)
			}
		}
		bad := rel
		bad.ID, bad.LogicID = "rel_04", "logic_missing"
		_, err = s.CreateRelease(ctx, bad)
		wantErr(t, "release with unknown logic set", err, ErrNotFound)

		if _, err := s.DeleteEnv(ctx, dev.ID, t0, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetLogicSet(ctx, second.ID); err != nil {
			t.Errorf("logic set of a deleted env (prod's release refers to it): %v", err)
		}
		if _, _, err := s.DeleteProject(ctx, p.ID, true); err != nil {
			t.Fatalf("DeleteProject: %v", err)
		}
		for _, id := range []string{first.ID, second.ID, "logic_03"} {
			_, err := s.GetLogicSet(ctx, id)
			wantErr(t, "logic set after project delete", err, ErrNotFound)
		}
	})
}
