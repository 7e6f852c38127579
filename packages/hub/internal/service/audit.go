package service

import (
	"context"
	"fmt"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Audit outcomes (SPEC §9).
const (
	outcomeSuccess = "success"
	outcomeDenied  = "denied"
)

// authorize asks the Authorizer and records a denied attempt as an audit
// event (SPEC §9: denied attempts by authenticated operators are events).
func (s *Service) authorize(ctx context.Context, p auth.Principal, action auth.Action, t auth.Target) error {
	err := s.authz.Authorize(ctx, p, action, t)
	if err == nil || !p.Authenticated() {
		// An anonymous caller is not an operator: its 401s are in the
		// access log, not the audit log.
		return err
	}
	org, orgErr := s.store.GetOrg(ctx, orDefault(t.Org, store.DefaultOrg))
	prj, prjErr := s.store.GetProject(ctx, t.Project)
	if t.Project != "" && prjErr == nil {
		s.append(ctx, p, prj.OrgID, prj.ID, action, targetText(t), outcomeDenied)
	} else if orgErr == nil {
		s.append(ctx, p, org.ID, "", action, targetText(t), outcomeDenied)
	}
	return err
}

// deny records err, a refusal the Service decides itself beyond the
// Authorizer's table (the owner role's guards), as a denied event, and
// returns it.
func (s *Service) deny(ctx context.Context, p auth.Principal, orgID, projectID string, action auth.Action, target string, err error) error {
	s.append(ctx, p, orgID, projectID, action, target, outcomeDenied)
	return err
}

// record appends a successful mutation of a project to the audit log.
func (s *Service) record(ctx context.Context, p auth.Principal, prj store.Project, action auth.Action, target string) {
	s.append(ctx, p, prj.OrgID, prj.ID, action, target, outcomeSuccess)
}

// append writes one event. A failed audit write is logged, not returned:
// the mutation it describes has already happened.
func (s *Service) append(ctx context.Context, p auth.Principal, orgID, projectID string, action auth.Action, target, outcome string) {
	ev := store.Event{ID: ids.New(ids.Event), OrgID: orgID, ProjectID: projectID, Time: s.now(),
		Actor: p.Name, Action: string(action), Target: target, Outcome: outcome, RequestID: requestid.From(ctx)}
	if err := s.store.AppendEvent(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error("audit event not stored", "requestId", ev.RequestID, "action", ev.Action, "error", err.Error())
	}
}

// ProjectAudit lists a project's audit events, newest first.
func (s *Service) ProjectAudit(ctx context.Context, p auth.Principal, project string, limit int, before string) ([]hubapi.AuditEvent, error) {
	prj, err := s.project(ctx, p, auth.AuditRead, project)
	if err != nil {
		return nil, err
	}
	return s.events(ctx, store.EventFilter{OrgID: prj.OrgID, ProjectID: prj.ID, Limit: limit, Before: before}, prj.Name)
}

// OrgAudit lists the org-level events (users, orgs, tokens, org members)
// of an org ("" = "default"), newest first.
func (s *Service) OrgAudit(ctx context.Context, p auth.Principal, orgName string, limit int, before string) ([]hubapi.AuditEvent, error) {
	orgName = orDefault(orgName, store.DefaultOrg)
	if err := names.Resource("org", orgName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, p, auth.AuditRead, auth.Target{Org: orgName}); err != nil {
		return nil, err
	}
	org, err := s.store.GetOrg(ctx, orgName)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("org %q", orgName))
	}
	return s.events(ctx, store.EventFilter{OrgID: org.ID, Limit: limit, Before: before}, "")
}

// MaxAuditLimit bounds one page of audit events.
const MaxAuditLimit = 500

func (s *Service) events(ctx context.Context, f store.EventFilter, project string) ([]hubapi.AuditEvent, error) {
	if f.Limit < 0 || f.Limit > MaxAuditLimit {
		return nil, apierr.New(apierr.BadRequest, "limit must be between 1 and %d", MaxAuditLimit)
	}
	if f.Before != "" && !ids.Valid(ids.Event, f.Before) {
		return nil, apierr.New(apierr.BadRequest, "before must be an event id (evt_…)")
	}
	rows, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, storeErr(err, "audit events")
	}
	out := make([]hubapi.AuditEvent, 0, len(rows))
	for _, e := range rows {
		out = append(out, hubapi.AuditEvent{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action,
			Target: e.Target, Outcome: e.Outcome, RequestID: e.RequestID, Project: project})
	}
	return out, nil
}

func targetText(t auth.Target) string {
	switch {
	case t.Env != "":
		return t.Project + "/" + t.Env
	case t.Project != "":
		return t.Project
	default:
		return fmt.Sprintf("org %s", orDefault(t.Org, store.DefaultOrg))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
