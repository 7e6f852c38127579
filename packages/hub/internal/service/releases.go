package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// maxRefLen bounds --ref (a git sha or tag).
const maxRefLen = 200

// CreateRelease freezes the env's staged snapshots, permissions, auth
// config and logic set (if any) into an immutable release and makes it current (SPEC §9).
// The staged permissions are re-validated against the snapshots being
// frozen. A release with the same content hash and ref as the current one
// is returned, Reused, and nothing changes.
func (s *Service) CreateRelease(ctx context.Context, p auth.Principal, project, env string, in hubapi.CreateRelease) (hubapi.Release, error) {
	if err := checkRef(in.Ref); err != nil {
		return hubapi.Release{}, err
	}
	sc, err := s.env(ctx, p, auth.ReleaseCreate, project, env)
	if err != nil {
		return hubapi.Release{}, err
	}
	snapRows, err := s.store.LatestSnapshots(ctx, sc.env.ID)
	if err != nil {
		return hubapi.Release{}, storeErr(err, "snapshots")
	}
	if snapRows, err = s.liveSnapshots(ctx, sc.env.ID, snapRows); err != nil {
		return hubapi.Release{}, err
	}
	if len(snapRows) == 0 {
		return hubapi.Release{}, apierr.New(apierr.BadRequest,
			"nothing staged in %s: take a schema snapshot first (stk schema snapshot --project %s --env %s --connection main)", sc.target(), project, env)
	}
	perms, err := s.store.LatestPermissionSet(ctx, sc.env.ID)
	if errors.Is(err, store.ErrNotFound) {
		return hubapi.Release{}, apierr.New(apierr.BadRequest,
			"nothing staged in %s: apply permissions first (stk permissions apply --project %s --env %s --file config/permissions.yaml)", sc.target(), project, env)
	} else if err != nil {
		return hubapi.Release{}, storeErr(err, "permissions")
	}
	snaps, err := snapshotMap(snapRows)
	if err != nil {
		return hubapi.Release{}, err
	}
	if _, err := validatePermissions(perms.Source, snaps); err != nil {
		return hubapi.Release{}, err
	}
	authCfg, err := s.stagedAuthConfig(ctx, sc.env.ID)
	if err != nil {
		return hubapi.Release{}, err
	}
	logicSet, err := s.stagedLogicSet(ctx, sc.env.ID)
	if err != nil {
		return hubapi.Release{}, err
	}
	snapIDs := make(map[string]string, len(snapRows))
	for _, r := range snapRows {
		snapIDs[r.Connection] = r.ID
	}
	rel := store.Release{ID: ids.New(ids.Release), EnvID: sc.env.ID, Ref: in.Ref,
		Hash: releaseHash(perms.Hash, snapRows, authCfg.Hash, logicSet.Hash), PermissionsID: perms.ID, AuthID: authCfg.ID,
		LogicID:   logicSet.ID,
		Snapshots: snapIDs, CreatedAt: s.now(), CreatedBy: p.Name}
	return s.switchTo(ctx, p, sc, rel, auth.ReleaseCreate)
}

// liveSnapshots keeps the snapshots of connections the env has now, taken
// since the connection was created: a deleted connection's snapshots stay
// as history (decision 0016) but must not be frozen into a release, nor
// revived by a new connection of the same name (SPEC §9).
func (s *Service) liveSnapshots(ctx context.Context, envID string, rows []store.Snapshot) ([]store.Snapshot, error) {
	conns, err := s.store.ListConnections(ctx, envID)
	if err != nil {
		return nil, storeErr(err, "connections")
	}
	created := make(map[string]time.Time, len(conns))
	for _, c := range conns {
		created[c.Name] = c.CreatedAt
	}
	out := rows[:0:0]
	for _, r := range rows {
		if at, ok := created[r.Connection]; ok && !r.CreatedAt.Before(at) {
			out = append(out, r)
		}
	}
	return out, nil
}

// switchTo makes rel the env's current release unless the current one has
// the same content hash and ref (then that one is returned, Reused).
func (s *Service) switchTo(ctx context.Context, p auth.Principal, sc scope, rel store.Release, action auth.Action) (hubapi.Release, error) {
	if out, ok, err := s.reuse(ctx, sc, rel); ok || err != nil {
		return out, err
	}
	if _, err := s.store.CreateRelease(ctx, rel); err != nil {
		return hubapi.Release{}, storeErr(err, "release")
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, action, sc.target()+" "+rel.ID)
	return releaseOut(sc, rel, true), nil
}

// reuse returns the env's current release, Reused, when it has rel's
// content hash and ref (SPEC §9).
func (s *Service) reuse(ctx context.Context, sc scope, rel store.Release) (hubapi.Release, bool, error) {
	if sc.env.CurrentReleaseID == "" {
		return hubapi.Release{}, false, nil
	}
	cur, err := s.store.GetRelease(ctx, sc.env.CurrentReleaseID)
	if err != nil {
		return hubapi.Release{}, false, storeErr(err, "current release")
	}
	if cur.Hash != rel.Hash || cur.Ref != rel.Ref {
		return hubapi.Release{}, false, nil
	}
	out := releaseOut(sc, cur, true)
	out.Reused = true
	return out, true, nil
}

// releaseHash is the content hash of a release: its permissions, the schema
// of every connection, its auth config and its logic set (authHash or
// logicHash "" for none, which leaves the hash of a release without one as
// it always was), independent of ids and times.
func releaseHash(permissionsHash string, snaps []store.Snapshot, authHash, logicHash string) string {
	conns := make([]string, 0, len(snaps))
	byConn := map[string]string{}
	for _, s := range snaps {
		conns = append(conns, s.Connection)
		byConn[s.Connection] = s.Hash
	}
	sort.Strings(conns)
	h := sha256.New()
	fmt.Fprintf(h, "permissions %s\n", permissionsHash)
	for _, c := range conns {
		fmt.Fprintf(h, "snapshot %s %s\n", c, byConn[c])
	}
	if authHash != "" {
		fmt.Fprintf(h, "auth %s\n", authHash)
	}
	if logicHash != "" {
		fmt.Fprintf(h, "logic %s\n", logicHash)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ListReleases lists an env's releases, newest first.
func (s *Service) ListReleases(ctx context.Context, p auth.Principal, project, env string) ([]hubapi.Release, error) {
	sc, err := s.env(ctx, p, auth.ReleaseRead, project, env)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListReleases(ctx, sc.env.ID)
	if err != nil {
		return nil, storeErr(err, "releases")
	}
	out := make([]hubapi.Release, 0, len(rows))
	for _, r := range rows {
		out = append(out, releaseOut(sc, r, r.ID == sc.env.CurrentReleaseID))
	}
	return out, nil
}

// CurrentRelease returns the env's current release (404 when none).
func (s *Service) CurrentRelease(ctx context.Context, p auth.Principal, project, env string) (hubapi.Release, error) {
	sc, err := s.env(ctx, p, auth.ReleaseRead, project, env)
	if err != nil {
		return hubapi.Release{}, err
	}
	if sc.env.CurrentReleaseID == "" {
		return hubapi.Release{}, apierr.New(apierr.NotFound, "%s has no release yet", sc.target())
	}
	rel, err := s.store.GetRelease(ctx, sc.env.CurrentReleaseID)
	if err != nil {
		return hubapi.Release{}, storeErr(err, "release")
	}
	return releaseOut(sc, rel, true), nil
}

// GetRelease returns one release of the env with what it exposes.
func (s *Service) GetRelease(ctx context.Context, p auth.Principal, project, env, id string) (hubapi.Release, error) {
	sc, err := s.env(ctx, p, auth.ReleaseRead, project, env)
	if err != nil {
		return hubapi.Release{}, err
	}
	rel, err := s.envRelease(ctx, sc, id)
	if err != nil {
		return hubapi.Release{}, err
	}
	_, doc, snaps, err := s.releaseContent(ctx, rel)
	if err != nil {
		return hubapi.Release{}, err
	}
	out := releaseOut(sc, rel, rel.ID == sc.env.CurrentReleaseID)
	for _, e := range permissions.Exposes(doc, snaps) {
		out.Exposes = append(out.Exposes, hubapi.Exposure{Connection: e.Connection, Table: e.Table, Columns: e.Columns,
			Ops: exposedOps(doc, e.Connection, e.Table)})
	}
	return out, nil
}

// exposedOps maps each op that has rules for the table to the roles those
// rules name (first appearance order): who may do what, at a glance, in
// stk release show.
func exposedOps(doc *permissions.Document, conn, table string) map[string][]string {
	out := map[string][]string{}
	for _, op := range permissions.Ops() {
		rules, _ := doc.Rules(conn, table, op)
		var roles []string
		for _, r := range rules {
			for _, role := range r.Roles {
				if !slices.Contains(roles, role) {
					roles = append(roles, role)
				}
			}
		}
		if len(roles) > 0 {
			out[string(op)] = roles
		}
	}
	return out
}

// Rollback moves the env's current pointer to an earlier release of the
// same env (SPEC §9: another env's release → 409, unknown → 404).
func (s *Service) Rollback(ctx context.Context, p auth.Principal, project, env string, in hubapi.Rollback) (hubapi.Release, error) {
	sc, err := s.env(ctx, p, auth.ReleaseRollback, project, env)
	if err != nil {
		return hubapi.Release{}, err
	}
	rel, err := s.envRelease(ctx, sc, in.To)
	if err != nil {
		return hubapi.Release{}, err
	}
	if _, err := s.store.SetCurrentRelease(ctx, sc.env.ID, rel.ID); err != nil {
		return hubapi.Release{}, storeErr(err, "release "+rel.ID)
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, auth.ReleaseRollback, sc.target()+" "+rel.ID)
	return releaseOut(sc, rel, true), nil
}

// envRelease loads release id and checks that it belongs to the env.
func (s *Service) envRelease(ctx context.Context, sc scope, id string) (store.Release, error) {
	if !ids.Valid(ids.Release, id) {
		return store.Release{}, apierr.New(apierr.BadRequest, "release id %q is malformed: want rel_…", clip(id)).
			WithDetail("problems", []apierr.Problem{{Path: "to", Message: "must be a release id"}})
	}
	rel, err := s.store.GetRelease(ctx, id)
	if err != nil {
		return store.Release{}, storeErr(err, "release "+id)
	}
	if rel.EnvID != sc.env.ID {
		return store.Release{}, apierr.New(apierr.Conflict, "release %s belongs to another env, not %s", id, sc.target())
	}
	return rel, nil
}

// releaseContent loads what a release froze: its permission set (parsed)
// and its snapshots by connection.
func (s *Service) releaseContent(ctx context.Context, rel store.Release) (store.PermissionSet, *permissions.Document, map[string]*schema.Snapshot, error) {
	perms, err := s.store.GetPermissionSet(ctx, rel.PermissionsID)
	if err != nil {
		return perms, nil, nil, storeErr(err, "permissions of release "+rel.ID)
	}
	snaps := make(map[string]*schema.Snapshot, len(rel.Snapshots))
	for conn, id := range rel.Snapshots {
		row, err := s.store.GetSnapshotByID(ctx, id)
		if err != nil {
			return perms, nil, nil, storeErr(err, "snapshot "+id)
		}
		snap, err := decodeSnapshot(row)
		if err != nil {
			return perms, nil, nil, err
		}
		snaps[conn] = &snap
	}
	// Compiled again against the release's own snapshots, so that the
	// conditions a bundle carries are those trees (SPEC §5.2).
	doc, problems := condition.Document(perms.Source, snaps)
	if len(problems) > 0 {
		// Validated when staged and when released: a failure here is a bug.
		return perms, nil, nil, apierr.New(apierr.Internal, "internal error")
	}
	return perms, doc, snaps, nil
}

func checkRef(ref string) error {
	if len(ref) > maxRefLen {
		return apierr.New(apierr.BadRequest, "ref is longer than %d characters", maxRefLen)
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] <= 0x20 || ref[i] > 0x7e {
			return apierr.New(apierr.BadRequest, "ref must be printable ASCII without spaces (a git sha or tag)")
		}
	}
	return nil
}

func releaseOut(sc scope, r store.Release, current bool) hubapi.Release {
	snaps := r.Snapshots
	if snaps == nil {
		snaps = map[string]string{}
	}
	return hubapi.Release{ID: r.ID, Ref: r.Ref, Project: sc.prj.Name, Env: sc.env.Name, Current: current,
		Hash: r.Hash, PermissionsID: r.PermissionsID, AuthID: r.AuthID, LogicID: r.LogicID, Snapshots: snaps, PromotedFrom: r.PromotedFrom,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}
