package service

import (
	"context"
	"errors"

	"github.com/santokit/santokit/packages/core/accessdiff"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// ReleaseDiff compares the access two releases of the project allow (SPEC
// §9): the releases may belong to any envs of the project, so that what a
// promotion would change can be read before promoting. A release of another
// project is not found, as an unknown one.
func (s *Service) ReleaseDiff(ctx context.Context, p auth.Principal, project, from, to string) (hubapi.ReleaseDiff, error) {
	prj, err := s.project(ctx, p, auth.ReleaseRead, project)
	if err != nil {
		return hubapi.ReleaseDiff{}, err
	}
	var sides [2]accessdiff.Release
	for i, q := range []struct{ field, id string }{{"from", from}, {"to", to}} {
		rel, err := s.projectRelease(ctx, prj, q.field, q.id)
		if err != nil {
			return hubapi.ReleaseDiff{}, err
		}
		if sides[i], err = s.accessOf(ctx, rel); err != nil {
			return hubapi.ReleaseDiff{}, err
		}
	}
	return hubapi.ReleaseDiff{From: from, To: to, Changes: accessdiff.Diff(sides[0], sides[1])}, nil
}

// projectRelease loads release id, named by the query field, and checks
// that it belongs to an env of prj.
func (s *Service) projectRelease(ctx context.Context, prj store.Project, field, id string) (store.Release, error) {
	if id == "" {
		return store.Release{}, apierr.New(apierr.BadRequest, "%s is required: a release id (rel_…)", field).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "required"}})
	}
	if !ids.Valid(ids.Release, id) {
		return store.Release{}, apierr.New(apierr.BadRequest, "%s %q is not a release id: want rel_…", field, clip(id)).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "must be a release id"}})
	}
	notFound := apierr.New(apierr.NotFound, "release %s not found in project %q", id, prj.Name)
	rel, err := s.store.GetRelease(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Release{}, notFound
	} else if err != nil {
		return store.Release{}, storeErr(err, "release "+id)
	}
	// A deleted env's releases are gone with it (GetEnvByID skips it).
	env, err := s.store.GetEnvByID(ctx, rel.EnvID)
	if errors.Is(err, store.ErrNotFound) || err == nil && env.ProjectID != prj.ID {
		return store.Release{}, notFound
	} else if err != nil {
		return store.Release{}, storeErr(err, "env of release "+id)
	}
	return rel, nil
}

// accessOf loads what a release froze, for a diff.
func (s *Service) accessOf(ctx context.Context, rel store.Release) (accessdiff.Release, error) {
	_, doc, snaps, err := s.releaseContent(ctx, rel)
	if err != nil {
		return accessdiff.Release{}, err
	}
	return accessdiff.Release{Permissions: doc, Snapshots: snaps}, nil
}

// stagedDiff is what releasing the staged version (with the latest
// snapshots) would change from the env's current release; nil when the env
// has no release yet (SPEC §9: permissions apply prints it).
func (s *Service) stagedDiff(ctx context.Context, sc scope, staged accessdiff.Release, stagedID string) (*hubapi.ReleaseDiff, error) {
	if sc.env.CurrentReleaseID == "" {
		return nil, nil
	}
	cur, err := s.store.GetRelease(ctx, sc.env.CurrentReleaseID)
	if err != nil {
		return nil, storeErr(err, "current release")
	}
	from, err := s.accessOf(ctx, cur)
	if err != nil {
		return nil, err
	}
	return &hubapi.ReleaseDiff{From: cur.ID, To: stagedID, Changes: accessdiff.Diff(from, staged)}, nil
}
