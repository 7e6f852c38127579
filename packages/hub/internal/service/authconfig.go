package service

import (
	"context"
	"errors"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// ApplyAuthConfig validates an auth.yaml and stages it as a new immutable
// version of the env's end-user auth config (SPEC §7.3, §9). Staging does
// not change what Bridges serve: the next release freezes it. Text equal
// to the staged version returns that version (Reused) instead of a copy.
func (s *Service) ApplyAuthConfig(ctx context.Context, p auth.Principal, project, env string, src []byte) (hubapi.AuthConfig, error) {
	sc, err := s.env(ctx, p, auth.AuthConfigApply, project, env)
	if err != nil {
		return hubapi.AuthConfig{}, err
	}
	if strings.TrimSpace(string(src)) == "" {
		return hubapi.AuthConfig{}, apierr.New(apierr.BadRequest, "the request body must be the auth.yaml document")
	}
	doc, err := parseAuthConfig(src)
	if err != nil {
		return hubapi.AuthConfig{}, err
	}
	hash := authconfig.Hash(src)
	latest, err := s.store.LatestAuthConfig(ctx, sc.env.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return hubapi.AuthConfig{}, storeErr(err, "auth config")
	}
	if err == nil && latest.Hash == hash {
		out := authConfigOut(project, env, latest, doc, false)
		out.Reused = true
		return out, nil
	}
	row := store.AuthConfig{ID: ids.New(ids.AuthConfig), EnvID: sc.env.ID, Hash: hash, Source: src,
		CreatedAt: s.now(), CreatedBy: p.Name}
	if err := s.store.CreateAuthConfig(ctx, row); err != nil {
		return hubapi.AuthConfig{}, storeErr(err, "auth config")
	}
	s.record(ctx, p, sc.prj, auth.AuthConfigApply, sc.target()+" "+row.ID)
	return authConfigOut(project, env, row, doc, false), nil
}

// GetAuthConfig returns the env's staged auth config, parsed and as text.
func (s *Service) GetAuthConfig(ctx context.Context, p auth.Principal, project, env string) (hubapi.AuthConfig, error) {
	sc, err := s.env(ctx, p, auth.AuthConfigRead, project, env)
	if err != nil {
		return hubapi.AuthConfig{}, err
	}
	row, err := s.store.LatestAuthConfig(ctx, sc.env.ID)
	if errors.Is(err, store.ErrNotFound) {
		return hubapi.AuthConfig{}, apierr.Wrap(apierr.NotFound, err,
			"no auth config is staged in %s: stage one with %s", sc.target(), authApplyCommand(project, env))
	} else if err != nil {
		return hubapi.AuthConfig{}, storeErr(err, "auth config")
	}
	doc, err := storedAuthConfig(row)
	if err != nil {
		return hubapi.AuthConfig{}, err
	}
	return authConfigOut(project, env, row, doc, true), nil
}

// stagedAuthConfig is the env's staged auth config, or a zero row (ID "")
// when none was ever applied: a release then trusts no end-user issuer.
func (s *Service) stagedAuthConfig(ctx context.Context, envID string) (store.AuthConfig, error) {
	row, err := s.store.LatestAuthConfig(ctx, envID)
	if errors.Is(err, store.ErrNotFound) {
		return store.AuthConfig{}, nil
	}
	return row, storeErr(err, "auth config")
}

// releaseAuthConfig loads the auth config a release froze; nil when none.
func (s *Service) releaseAuthConfig(ctx context.Context, rel store.Release) (*authconfig.Document, error) {
	if rel.AuthID == "" {
		return nil, nil
	}
	row, err := s.store.GetAuthConfig(ctx, rel.AuthID)
	if err != nil {
		return nil, storeErr(err, "auth config of release "+rel.ID)
	}
	return storedAuthConfig(row)
}

// promotedAuthConfig is the auth config a promotion of rel into dst
// freezes: dst's own staged one, since issuers belong to an env (a dev
// tenant of the IdP is not the prod one, SPEC §9). A source release that
// trusts issuers while dst has none staged is refused: promoting it would
// silently turn end users away in dst.
func (s *Service) promotedAuthConfig(ctx context.Context, dst scope, rel store.Release) (store.AuthConfig, error) {
	row, err := s.stagedAuthConfig(ctx, dst.env.ID)
	if err != nil {
		return row, err
	}
	if row.ID == "" && rel.AuthID != "" {
		return row, apierr.New(apierr.Conflict,
			"release %s trusts end-user issuers but %s has no auth config of its own (issuers are per env): stage one with %s, then promote again",
			rel.ID, dst.target(), authApplyCommand(dst.prj.Name, dst.env.Name))
	}
	return row, nil
}

// authApplyCommand is the command that stages an env's auth config, for
// messages that name the fix.
func authApplyCommand(project, env string) string {
	return "stk auth apply --project " + project + " --env " + env + " --file config/auth.yaml"
}

// parseAuthConfig parses src, returning SCHEMA_VALIDATION_FAILED with
// every problem found.
func parseAuthConfig(src []byte) (*authconfig.Document, error) {
	doc, problems := authconfig.Parse(src)
	if len(problems) > 0 {
		return nil, apierr.Validation(apierr.Summary("auth config", problems), problems)
	}
	return doc, nil
}

// storedAuthConfig parses a stored version: it was valid when staged, so a
// failure is a bug.
func storedAuthConfig(row store.AuthConfig) (*authconfig.Document, error) {
	doc, problems := authconfig.Parse(row.Source)
	if len(problems) > 0 {
		return nil, apierr.New(apierr.Internal, "internal error")
	}
	return doc, nil
}

func authConfigOut(project, env string, r store.AuthConfig, doc *authconfig.Document, withSource bool) hubapi.AuthConfig {
	out := hubapi.AuthConfig{ID: r.ID, Project: project, Env: env, Hash: r.Hash, Issuers: doc.Issuers,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
	if withSource {
		out.Source = string(r.Source)
	}
	return out
}
