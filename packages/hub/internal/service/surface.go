package service

import (
	"context"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/surface"
	"github.com/santokit/santokit/packages/hub/internal/auth"
)

// CurrentSurface is what the env's current release lets callers reach
// (SPEC §13, `stk gen types`; decision 0029): computed from the release's
// frozen permissions, snapshots and logic set, never from what is staged,
// so the types match what the Bridge serves.
func (s *Service) CurrentSurface(ctx context.Context, p auth.Principal, project, env string) (surface.Surface, error) {
	sc, err := s.env(ctx, p, auth.ReleaseRead, project, env)
	if err != nil {
		return surface.Surface{}, err
	}
	if sc.env.CurrentReleaseID == "" {
		return surface.Surface{}, apierr.New(apierr.NotFound, "%s has no release yet: stk release create --project %s --env %s",
			sc.target(), sc.prj.Name, sc.env.Name)
	}
	rel, err := s.store.GetRelease(ctx, sc.env.CurrentReleaseID)
	if err != nil {
		return surface.Surface{}, storeErr(err, "release")
	}
	_, doc, snaps, err := s.releaseContent(ctx, rel)
	if err != nil {
		return surface.Surface{}, err
	}
	logics, _, err := s.releaseLogics(ctx, rel)
	if err != nil {
		return surface.Surface{}, err
	}
	return surface.Of(rel.ID, sc.prj.Name, sc.env.Name, doc, snaps, logics), nil
}
