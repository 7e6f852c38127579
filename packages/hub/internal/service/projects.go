package service

import (
	"context"
	"fmt"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// CreateProject creates a project in an org (default: "default").
func (s *Service) CreateProject(ctx context.Context, p auth.Principal, in hubapi.CreateProject) (hubapi.Project, error) {
	if in.Org == "" {
		in.Org = store.DefaultOrg
	}
	if err := names.Resource("name", in.Name); err != nil {
		return hubapi.Project{}, err
	}
	if err := names.Resource("org", in.Org); err != nil {
		return hubapi.Project{}, err
	}
	if err := s.authorize(ctx, p, auth.ProjectCreate, auth.Target{Org: in.Org}); err != nil {
		return hubapi.Project{}, err
	}
	org, err := s.store.GetOrg(ctx, in.Org)
	if err != nil {
		return hubapi.Project{}, storeErr(err, fmt.Sprintf("org %q", in.Org))
	}
	row := store.Project{ID: ids.New(ids.Project), OrgID: org.ID, OrgName: org.Name, Name: in.Name, CreatedAt: s.now()}
	if err := s.store.CreateProject(ctx, row); err != nil {
		return hubapi.Project{}, storeErr(err, fmt.Sprintf("project %q", in.Name))
	}
	s.record(ctx, p, row, auth.ProjectCreate, row.Name)
	return projectOut(row), nil
}

// ListProjects lists the projects the caller may read, by name.
func (s *Service) ListProjects(ctx context.Context, p auth.Principal) ([]hubapi.Project, error) {
	if !p.Authenticated() {
		return nil, auth.Unauthenticated(p)
	}
	rows, err := s.store.ListProjects(ctx)
	if err != nil {
		return nil, storeErr(err, "projects")
	}
	out := make([]hubapi.Project, 0, len(rows))
	for _, r := range rows {
		// Not s.authorize: a project left out of a list is not a denied
		// attempt worth an audit event.
		err := s.authz.Authorize(ctx, p, auth.ProjectRead, auth.Target{Project: r.Name})
		switch {
		case err == nil:
			out = append(out, projectOut(r))
		case apierr.As(err).Code != apierr.Forbidden:
			return nil, err // a failure, not a refusal: no shorter list
		}
	}
	return out, nil
}

// GetProject returns a project with its envs.
func (s *Service) GetProject(ctx context.Context, p auth.Principal, name string) (hubapi.Project, error) {
	row, err := s.project(ctx, p, auth.ProjectRead, name)
	if err != nil {
		return hubapi.Project{}, err
	}
	envs, err := s.store.ListEnvs(ctx, row.ID)
	if err != nil {
		return hubapi.Project{}, storeErr(err, "envs")
	}
	out := projectOut(row)
	out.Envs = make([]hubapi.Env, 0, len(envs))
	for _, e := range envs {
		out.Envs = append(out.Envs, envOut(row.Name, e))
	}
	return out, nil
}

// CreateEnv creates an env in a project.
func (s *Service) CreateEnv(ctx context.Context, p auth.Principal, project string, in hubapi.CreateEnv) (hubapi.Env, error) {
	if err := names.Resource("name", in.Name); err != nil {
		return hubapi.Env{}, err
	}
	prj, err := s.project(ctx, p, auth.EnvCreate, project)
	if err != nil {
		return hubapi.Env{}, err
	}
	row := store.Env{ID: ids.New(ids.Env), ProjectID: prj.ID, ProjectName: prj.Name, Name: in.Name, Revision: 1, CreatedAt: s.now()}
	if err := s.store.CreateEnv(ctx, row); err != nil {
		return hubapi.Env{}, storeErr(err, fmt.Sprintf("env %q in project %q", in.Name, project))
	}
	s.record(ctx, p, prj, auth.EnvCreate, prj.Name+"/"+row.Name)
	return envOut(prj.Name, row), nil
}

// ListEnvs lists a project's envs, by name.
func (s *Service) ListEnvs(ctx context.Context, p auth.Principal, project string) ([]hubapi.Env, error) {
	prj, err := s.project(ctx, p, auth.EnvRead, project)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListEnvs(ctx, prj.ID)
	if err != nil {
		return nil, storeErr(err, "envs")
	}
	out := make([]hubapi.Env, 0, len(rows))
	for _, e := range rows {
		out = append(out, envOut(prj.Name, e))
	}
	return out, nil
}

// project validates the name, authorizes the action on the project and
// loads it (404 when unknown).
func (s *Service) project(ctx context.Context, p auth.Principal, action auth.Action, name string) (store.Project, error) {
	if err := names.Resource("project", name); err != nil {
		return store.Project{}, err
	}
	if err := s.authorize(ctx, p, action, auth.Target{Project: name}); err != nil {
		return store.Project{}, err
	}
	row, err := s.store.GetProject(ctx, name)
	if err != nil {
		return store.Project{}, storeErr(err, fmt.Sprintf("project %q", name))
	}
	return row, nil
}

// scope is an env with its project, as loaded for one request.
type scope struct {
	prj store.Project
	env store.Env
}

// target names the env in audit events: project/env.
func (sc scope) target() string { return sc.prj.Name + "/" + sc.env.Name }

// env validates names, authorizes the action on the env and loads it,
// telling an unknown project from an unknown env.
func (s *Service) env(ctx context.Context, p auth.Principal, action auth.Action, project, env string) (scope, error) {
	if err := names.Resource("project", project); err != nil {
		return scope{}, err
	}
	if err := names.Resource("env", env); err != nil {
		return scope{}, err
	}
	if err := s.authorize(ctx, p, action, auth.Target{Project: project, Env: env}); err != nil {
		return scope{}, err
	}
	prj, err := s.store.GetProject(ctx, project)
	if err != nil {
		return scope{}, storeErr(err, fmt.Sprintf("project %q", project))
	}
	row, err := s.store.GetEnv(ctx, project, env)
	if err != nil {
		return scope{}, storeErr(err, fmt.Sprintf("env %q in project %q", env, project))
	}
	return scope{prj: prj, env: row}, nil
}

func projectOut(r store.Project) hubapi.Project {
	return hubapi.Project{Name: r.Name, Org: r.OrgName, CreatedAt: r.CreatedAt}
}

func envOut(project string, e store.Env) hubapi.Env {
	return hubapi.Env{Project: project, Name: e.Name, CreatedAt: e.CreatedAt}
}
