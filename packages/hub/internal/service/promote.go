package service

import (
	"context"
	"fmt"
	"sort"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Promote creates a release in env `to` with the content of a release of
// env `from` — its current one, its newest with `ref`, or the named one —
// keeping `to`'s own connections and freezing `to`'s own staged auth config
// (SPEC §9: a source release with one and none staged in `to` → 409).
// Unless forced, `to`'s databases are introspected first: an exposed table
// or column that is missing there or has another normalized type, or a
// connection `to` lacks, or a logic statement that does not prepare on
// `to`'s connection, refuses the promotion with 409 SCHEMA_DRIFT listing
// each.
func (s *Service) Promote(ctx context.Context, p auth.Principal, project string, in hubapi.Promote) (hubapi.Release, error) {
	if err := names.Resource("from", in.From); err != nil {
		return hubapi.Release{}, err
	}
	if err := names.Resource("to", in.To); err != nil {
		return hubapi.Release{}, err
	}
	if in.From == in.To {
		return hubapi.Release{}, apierr.New(apierr.BadRequest, "from and to are both %q: promote between two envs", in.From)
	}
	if in.Ref != "" && in.ReleaseID != "" {
		return hubapi.Release{}, apierr.New(apierr.BadRequest, "give ref or releaseId, not both")
	}
	if err := checkRef(in.Ref); err != nil {
		return hubapi.Release{}, err
	}
	src, err := s.env(ctx, p, auth.ReleaseRead, project, in.From)
	if err != nil {
		return hubapi.Release{}, err
	}
	dst, err := s.env(ctx, p, auth.ReleasePromote, project, in.To)
	if err != nil {
		return hubapi.Release{}, err
	}
	rel, err := s.promotedRelease(ctx, src, in)
	if err != nil {
		return hubapi.Release{}, err
	}
	authCfg, err := s.promotedAuthConfig(ctx, dst, rel)
	if err != nil {
		return hubapi.Release{}, err
	}
	hash, err := s.promotedHash(ctx, rel, authCfg.Hash)
	if err != nil {
		return hubapi.Release{}, err
	}
	next := store.Release{ID: ids.New(ids.Release), EnvID: dst.env.ID, Ref: rel.Ref, Hash: hash,
		PermissionsID: rel.PermissionsID, AuthID: authCfg.ID, LogicID: rel.LogicID, Snapshots: rel.Snapshots, PromotedFrom: rel.ID,
		CreatedAt: s.now(), CreatedBy: p.Name}
	// Promoting what the target already serves changes nothing: no drift
	// check can make that worse.
	if out, ok, err := s.reuse(ctx, dst, next); ok || err != nil {
		return out, err
	}
	if !in.Force {
		_, doc, snaps, err := s.releaseContent(ctx, rel)
		if err != nil {
			return hubapi.Release{}, err
		}
		missing, err := s.drift(ctx, dst, permissions.Exposes(doc, snaps), snaps)
		if err != nil {
			return hubapi.Release{}, err
		}
		logics, _, err := s.releaseLogics(ctx, rel)
		if err != nil {
			return hubapi.Release{}, err
		}
		logicMissing, err := s.logicDrift(ctx, dst, logics)
		if err != nil {
			return hubapi.Release{}, err
		}
		missing = append(missing, logicMissing...)
		if len(missing) > 0 {
			return hubapi.Release{}, apierr.New(apierr.SchemaDrift,
				"the databases of %s do not match release %s (details.missing lists each difference): fix them or promote with --force", dst.target(), rel.ID).
				WithDetail("missing", missing)
		}
	}
	return s.switchTo(ctx, p, dst, next, auth.ReleasePromote)
}

// promotedHash is the content hash of rel's permissions, snapshots and
// logic set with the target's auth config in place of rel's own.
func (s *Service) promotedHash(ctx context.Context, rel store.Release, authHash string) (string, error) {
	perms, err := s.store.GetPermissionSet(ctx, rel.PermissionsID)
	if err != nil {
		return "", storeErr(err, "permissions of release "+rel.ID)
	}
	snaps := make([]store.Snapshot, 0, len(rel.Snapshots))
	for _, id := range rel.Snapshots {
		row, err := s.store.GetSnapshotByID(ctx, id)
		if err != nil {
			return "", storeErr(err, "snapshot "+id)
		}
		snaps = append(snaps, row)
	}
	_, logicHash, err := s.releaseLogics(ctx, rel)
	if err != nil {
		return "", err
	}
	return releaseHash(perms.Hash, snaps, authHash, logicHash), nil
}

// promotedRelease picks the release of the source env to promote.
func (s *Service) promotedRelease(ctx context.Context, src scope, in hubapi.Promote) (store.Release, error) {
	switch {
	case in.ReleaseID != "":
		return s.envRelease(ctx, src, in.ReleaseID)
	case in.Ref != "":
		rel, err := s.store.LatestReleaseByRef(ctx, src.env.ID, in.Ref)
		if err != nil {
			return rel, storeErr(err, fmt.Sprintf("release with ref %q in %s", in.Ref, src.target()))
		}
		return rel, nil
	case src.env.CurrentReleaseID == "":
		return store.Release{}, apierr.New(apierr.NotFound, "%s has no release to promote", src.target())
	default:
		rel, err := s.store.GetRelease(ctx, src.env.CurrentReleaseID)
		return rel, storeErr(err, "release")
	}
}

// drift compares what a release exposes with the target env's databases.
func (s *Service) drift(ctx context.Context, dst scope, exposed []permissions.Exposure, snaps map[string]*schema.Snapshot) ([]apierr.Missing, error) {
	byConn := map[string][]permissions.Exposure{}
	for _, e := range exposed {
		byConn[e.Connection] = append(byConn[e.Connection], e)
	}
	conns := make([]string, 0, len(byConn))
	for c := range byConn {
		conns = append(conns, c)
	}
	sort.Strings(conns)
	missing := []apierr.Missing{}
	for _, connName := range conns {
		conn, err := s.store.GetConnection(ctx, dst.env.ID, connName)
		if err != nil {
			if err := storeErr(err, ""); apierr.As(err).Code != apierr.NotFound {
				return nil, err
			}
			for _, e := range byConn[connName] {
				missing = append(missing, apierr.Missing{Connection: connName, Table: e.Table,
					Reason: fmt.Sprintf("connection %s does not exist in %s", connName, dst.target())})
			}
			continue
		}
		tables, err := s.liveTables(ctx, dst.prj.Name, dst.env.Name, conn)
		if err != nil {
			return nil, err
		}
		live := schema.Snapshot{Tables: tables}
		released := snaps[connName]
		for _, e := range byConn[connName] {
			missing = append(missing, tableDrift(connName, e, released, &live)...)
		}
	}
	return missing, nil
}

// tableDrift lists the exposed columns of one table that the live schema
// lacks or types differently.
func tableDrift(conn string, e permissions.Exposure, released, live *schema.Snapshot) []apierr.Missing {
	lt, ok := live.Table(e.Table)
	if !ok {
		return []apierr.Missing{{Connection: conn, Table: e.Table, Reason: "table missing"}}
	}
	var rt *schema.Table
	if released != nil {
		rt, _ = released.Table(e.Table)
	}
	var out []apierr.Missing
	for _, col := range e.Columns {
		lc, ok := lt.Column(col)
		if !ok {
			out = append(out, apierr.Missing{Connection: conn, Table: e.Table, Column: col, Reason: "column missing"})
			continue
		}
		if rt == nil {
			continue
		}
		if rc, ok := rt.Column(col); ok && rc.Type != lc.Type {
			out = append(out, apierr.Missing{Connection: conn, Table: e.Table, Column: col,
				Reason: fmt.Sprintf("type changed from %s to %s", rc.Type, lc.Type)})
		}
	}
	return out
}
