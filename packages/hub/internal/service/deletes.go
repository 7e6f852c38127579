package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Deleting connections, envs and projects (SPEC §9, §15; decision 0016).
// Each delete must be confirmed by naming what it deletes — the API's
// ?confirm=NAME, stk's --confirm NAME — so that a script cannot delete by
// accident (checked once the caller may delete it and it exists: an
// unknown name is 404, a refused caller 403), and refuses (409) what a
// current release still needs unless forced. The store makes each delete one transaction; here the env's long
// polls are woken, so Bridges learn within a moment that the env's bundle
// is gone (404) or changed, and the delete is audited.

// Deletion is what a DELETE request carries besides the path.
type Deletion struct {
	// Confirm must equal the name of what is deleted.
	Confirm string
	// Force deletes even what a current release needs.
	Force bool
}

// confirm checks that d confirms deleting name.
func (d Deletion) confirm(what, name string) error {
	if d.Confirm == name {
		return nil
	}
	msg := fmt.Sprintf("deleting %s %s needs confirm=%s (stk: --confirm %s)", what, name, name, name)
	if d.Confirm != "" {
		msg = fmt.Sprintf("confirm %q does not match %s %s: %s", clip(d.Confirm), what, name, msg)
	}
	return apierr.New(apierr.BadRequest, "%s", msg).
		WithDetail("problems", []apierr.Problem{{Path: "confirm", Message: "must equal the name of the " + what}})
}

// deleteErr maps the error of a store delete: a refusal (*InUseError) to
// 409 naming the current releases that need what was to be deleted, any
// other error as storeErr does.
func deleteErr(err error, what string) error {
	var iu *store.InUseError
	if !errors.As(err, &iu) {
		return storeErr(err, what)
	}
	envs := slices.Sorted(maps.Keys(iu.Current))
	parts := make([]string, 0, len(envs))
	holders := make([]map[string]string, 0, len(envs))
	for _, env := range envs {
		parts = append(parts, fmt.Sprintf("env %s serves release %s", env, iu.Current[env]))
		holders = append(holders, map[string]string{"env": env, "releaseId": iu.Current[env]})
	}
	return apierr.New(apierr.Conflict, "%s is in use: %s; force=true (stk: --force) deletes it anyway, and Bridges stop serving what needs it",
		what, strings.Join(parts, ", ")).WithDetail("currentReleases", holders)
}

// DeleteConnection deletes a connection of an env (project admin).
func (s *Service) DeleteConnection(ctx context.Context, p auth.Principal, project, env, name string, d Deletion) (hubapi.Connection, error) {
	sc, _, err := s.connection(ctx, p, auth.ConnectionDelete, project, env, name)
	if err != nil {
		return hubapi.Connection{}, err
	}
	if err := d.confirm("connection", name); err != nil {
		return hubapi.Connection{}, err
	}
	what := fmt.Sprintf("connection %q in %s", name, sc.target())
	row, _, err := s.store.DeleteConnection(ctx, sc.env.ID, name, d.Force)
	if err != nil {
		return hubapi.Connection{}, deleteErr(err, what)
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, auth.ConnectionDelete, sc.target()+"/"+name+forced(d))
	return connectionOut(project, env, row), nil
}

// DeleteEnv deletes an env (project admin): its API keys and connections go,
// Bridges stop serving it, its release history stays (see store.DeleteEnv).
func (s *Service) DeleteEnv(ctx context.Context, p auth.Principal, project, env string, d Deletion) (hubapi.Env, error) {
	sc, err := s.env(ctx, p, auth.EnvDelete, project, env)
	if err != nil {
		return hubapi.Env{}, err
	}
	if err := d.confirm("env", env); err != nil {
		return hubapi.Env{}, err
	}
	row, err := s.store.DeleteEnv(ctx, sc.env.ID, s.now(), d.Force)
	if err != nil {
		return hubapi.Env{}, deleteErr(err, "env "+sc.target())
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, auth.EnvDelete, sc.target()+forced(d))
	return envOut(project, row), nil
}

// DeleteProject deletes a project and everything in it. It needs the org
// role that creates projects (owner or admin of the project's org), not a
// project role: a project admin cannot remove the project for everyone
// (decision 0016). The event goes to the org-level log, with the project's
// own events (store.DeleteProject), so the trail outlives the project.
func (s *Service) DeleteProject(ctx context.Context, p auth.Principal, name string, d Deletion) (hubapi.Project, error) {
	if err := names.Resource("project", name); err != nil {
		return hubapi.Project{}, err
	}
	if !p.Authenticated() {
		return hubapi.Project{}, auth.Unauthenticated(p)
	}
	prj, err := s.store.GetProject(ctx, name)
	if err != nil {
		return hubapi.Project{}, storeErr(err, fmt.Sprintf("project %q", name))
	}
	if err := s.authz.Authorize(ctx, p, auth.ProjectDelete, auth.Target{Org: prj.OrgName}); err != nil {
		return hubapi.Project{}, s.deny(ctx, p, prj.OrgID, prj.ID, auth.ProjectDelete, prj.Name, err)
	}
	if err := d.confirm("project", name); err != nil {
		return hubapi.Project{}, err
	}
	what := fmt.Sprintf("project %s", name)
	row, envs, err := s.store.DeleteProject(ctx, prj.ID, d.Force)
	if err != nil {
		return hubapi.Project{}, deleteErr(err, what)
	}
	for _, e := range envs {
		s.changes.Changed(e.ID)
	}
	s.append(ctx, p, row.OrgID, "", auth.ProjectDelete, "project "+row.Name+forced(d), outcomeSuccess)
	out := projectOut(row)
	for _, e := range envs {
		out.Envs = append(out.Envs, envOut(row.Name, e))
	}
	return out, nil
}

// forced marks the audit target of a forced delete.
func forced(d Deletion) string {
	if d.Force {
		return " (forced)"
	}
	return ""
}
