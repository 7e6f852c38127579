package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/duration"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Orgs, memberships and CI tokens (SPEC §7.1).

// CreateOrg creates an org whose owner is the caller.
func (s *Service) CreateOrg(ctx context.Context, p auth.Principal, in hubapi.CreateOrg) (hubapi.Org, error) {
	if err := names.Resource("name", in.Name); err != nil {
		return hubapi.Org{}, err
	}
	if err := s.authorize(ctx, p, auth.OrgCreate, auth.Target{Org: store.DefaultOrg}); err != nil {
		return hubapi.Org{}, err
	}
	o := store.Org{ID: ids.New(ids.Org), Name: in.Name, CreatedAt: s.now()}
	if err := s.store.CreateOrg(ctx, o, p.UserID); err != nil {
		return hubapi.Org{}, storeErr(err, fmt.Sprintf("org %q", in.Name))
	}
	s.append(ctx, p, o.ID, "", auth.OrgCreate, "org "+o.Name, outcomeSuccess)
	out := hubapi.Org{Name: o.Name, CreatedAt: o.CreatedAt}
	if p.UserID != "" {
		out.Role = auth.OrgOwner
	}
	return out, nil
}

// ListOrgs lists the caller's orgs (every org when auth is disabled).
func (s *Service) ListOrgs(ctx context.Context, p auth.Principal) ([]hubapi.Org, error) {
	if !p.Authenticated() {
		return nil, auth.Unauthenticated(p)
	}
	out := []hubapi.Org{}
	if p.Kind == auth.KindDev {
		rows, err := s.store.ListOrgs(ctx)
		if err != nil {
			return nil, storeErr(err, "orgs")
		}
		for _, o := range rows {
			out = append(out, hubapi.Org{Name: o.Name, CreatedAt: o.CreatedAt})
		}
		return out, nil
	}
	rows, err := s.store.ListMemberships(ctx, store.OrgMembers, p.UserID)
	if err != nil {
		return nil, storeErr(err, "orgs")
	}
	for _, m := range rows {
		o, err := s.store.GetOrg(ctx, m.ScopeName)
		if err != nil {
			return nil, storeErr(err, "org")
		}
		out = append(out, hubapi.Org{Name: o.Name, CreatedAt: o.CreatedAt, Role: m.Role})
	}
	return out, nil
}

// MemberScope names where a membership lives: an org or a project.
type MemberScope struct {
	Org     string
	Project string
}

type scopeRow struct {
	table  store.MemberTable
	id     string
	orgID  string
	prjID  string
	target auth.Target
	name   string // the org's or the project's
	text   string
}

func (s *Service) memberScope(ctx context.Context, p auth.Principal, action auth.Action, sc MemberScope) (scopeRow, error) {
	if sc.Project != "" {
		prj, err := s.project(ctx, p, action, sc.Project)
		if err != nil {
			return scopeRow{}, err
		}
		return scopeRow{table: store.ProjectMembers, id: prj.ID, orgID: prj.OrgID, prjID: prj.ID,
			target: auth.Target{Project: prj.Name}, name: prj.Name, text: "project " + prj.Name}, nil
	}
	if err := names.Resource("org", sc.Org); err != nil {
		return scopeRow{}, err
	}
	if err := s.authorize(ctx, p, action, auth.Target{Org: sc.Org}); err != nil {
		return scopeRow{}, err
	}
	org, err := s.store.GetOrg(ctx, sc.Org)
	if err != nil {
		return scopeRow{}, storeErr(err, fmt.Sprintf("org %q", sc.Org))
	}
	return scopeRow{table: store.OrgMembers, id: org.ID, orgID: org.ID, target: auth.Target{Org: org.Name},
		name: org.Name, text: "org " + org.Name}, nil
}

func (r scopeRow) org() bool { return r.prjID == "" }

func (r scopeRow) validRole(role string) error {
	if r.org() && !auth.ValidOrgRole(role) {
		return apierr.New(apierr.BadRequest, "org role must be owner, admin or member").
			WithDetail("problems", []apierr.Problem{{Path: "role", Message: "unknown org role"}})
	}
	if !r.org() && !auth.ValidProjectRole(role) {
		return apierr.New(apierr.BadRequest, "project role must be admin, deployer or viewer").
			WithDetail("problems", []apierr.Problem{{Path: "role", Message: "unknown project role"}})
	}
	return nil
}

// ListMembers lists the members of an org or a project.
func (s *Service) ListMembers(ctx context.Context, p auth.Principal, sc MemberScope) ([]hubapi.Membership, error) {
	r, err := s.memberScope(ctx, p, auth.MemberRead, sc)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListMembers(ctx, r.table, r.id)
	if err != nil {
		return nil, storeErr(err, "members")
	}
	out := make([]hubapi.Membership, 0, len(rows))
	for _, m := range rows {
		out = append(out, memberOut(m, r.org(), true))
	}
	if r.org() {
		return out, nil
	}
	return s.implicitAdmins(ctx, r, out)
}

// implicitAdmins appends to a project's member list the owners and admins
// of its org, who are admins of every project of the org (SPEC §7.1)
// without a membership: a list of who can act on the project that left
// them out would mislead. They are marked with Via, after the direct
// members, by email.
func (s *Service) implicitAdmins(ctx context.Context, r scopeRow, out []hubapi.Membership) ([]hubapi.Membership, error) {
	rows, err := s.store.ListMembers(ctx, store.OrgMembers, r.orgID)
	if err != nil {
		return nil, storeErr(err, "members")
	}
	for _, m := range rows {
		if m.Role != auth.OrgOwner && m.Role != auth.OrgAdmin || !m.Active {
			continue
		}
		out = append(out, hubapi.Membership{Project: r.name, Role: auth.ProjectAdmin, Email: m.Email, UserID: m.UserID,
			CreatedAt: m.CreatedAt, Via: "org " + m.Role})
	}
	return out, nil
}

// PutMember adds a member (add: the membership must not exist) or changes
// a member's role (set: it must exist). Granting or taking the owner role
// needs an owner, and an org keeps at least one owner.
func (s *Service) PutMember(ctx context.Context, p auth.Principal, sc MemberScope, email string, in hubapi.PutMember, add bool) (hubapi.Membership, bool, error) {
	r, err := s.memberScope(ctx, p, auth.MemberManage, sc)
	if err != nil {
		return hubapi.Membership{}, false, err
	}
	if err := r.validRole(in.Role); err != nil {
		return hubapi.Membership{}, false, err
	}
	if strings.TrimSpace(email) == "" {
		return hubapi.Membership{}, false, apierr.New(apierr.BadRequest, "email is required").
			WithDetail("problems", []apierr.Problem{{Path: "email", Message: "required"}})
	}
	u, err := s.store.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return hubapi.Membership{}, false, storeErr(err, "user "+email)
	}
	old, err := s.store.MemberRole(ctx, r.table, r.id, u.ID)
	if err != nil {
		return hubapi.Membership{}, false, storeErr(err, "member")
	}
	switch {
	case add && old != "":
		return hubapi.Membership{}, false, apierr.New(apierr.Conflict, "%s is already a member of %s (role %s): use member set-role", u.Email, r.text, old)
	case !add && old == "":
		return hubapi.Membership{}, false, apierr.New(apierr.NotFound, "%s is not a member of %s", u.Email, r.text)
	}
	if err := s.ownerChange(ctx, p, r, u.ID, old, in.Role); err != nil {
		return hubapi.Membership{}, false, err
	}
	m := store.Member{Scope: r.id, UserID: u.ID, Role: in.Role, CreatedAt: s.now()}
	created, err := s.store.PutMember(ctx, r.table, m)
	if err != nil {
		return hubapi.Membership{}, false, storeErr(err, "member")
	}
	s.append(ctx, p, r.orgID, r.prjID, auth.MemberManage, fmt.Sprintf("%s member %s role %s", r.text, u.Email, in.Role), outcomeSuccess)
	m.Email, m.ScopeName = u.Email, r.name
	return memberOut(m, r.org(), true), created, nil
}

// RemoveMember removes a membership.
func (s *Service) RemoveMember(ctx context.Context, p auth.Principal, sc MemberScope, email string) (hubapi.Membership, error) {
	r, err := s.memberScope(ctx, p, auth.MemberManage, sc)
	if err != nil {
		return hubapi.Membership{}, err
	}
	u, err := s.store.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return hubapi.Membership{}, storeErr(err, "user "+email)
	}
	old, err := s.store.MemberRole(ctx, r.table, r.id, u.ID)
	if err != nil {
		return hubapi.Membership{}, storeErr(err, "member")
	}
	if old == "" {
		return hubapi.Membership{}, apierr.New(apierr.NotFound, "%s is not a member of %s", u.Email, r.text)
	}
	if err := s.ownerChange(ctx, p, r, u.ID, old, ""); err != nil {
		return hubapi.Membership{}, err
	}
	if err := s.store.DeleteMember(ctx, r.table, r.id, u.ID); err != nil {
		return hubapi.Membership{}, storeErr(err, "member")
	}
	s.append(ctx, p, r.orgID, r.prjID, auth.MemberManage, fmt.Sprintf("%s member %s removed", r.text, u.Email), outcomeSuccess)
	// The deleted object (SPEC §15), its scope included.
	return memberOut(store.Member{ScopeName: r.name, UserID: u.ID, Email: u.Email, Role: old}, r.org(), true), nil
}

// ownerChange guards the org owner role: only owners grant or take it, and
// the last owner stays.
func (s *Service) ownerChange(ctx context.Context, p auth.Principal, r scopeRow, userID, old, role string) error {
	if !r.org() || (old != auth.OrgOwner && role != auth.OrgOwner) || old == role {
		return nil
	}
	if p.Kind != auth.KindDev {
		mine, err := s.store.Role(ctx, store.OrgMembers, r.id, p.UserID)
		if err != nil {
			return storeErr(err, "member")
		}
		if mine != auth.OrgOwner {
			return s.deny(ctx, p, r.orgID, r.prjID, auth.MemberManage, r.text+" owner role",
				apierr.New(apierr.Forbidden, "only an owner of %s may grant or take the owner role", r.text))
		}
	}
	if old != auth.OrgOwner {
		return nil
	}
	members, err := s.store.ListMembers(ctx, r.table, r.id)
	if err != nil {
		return storeErr(err, "members")
	}
	// Another owner who can still log in must remain: a disabled one
	// cannot act for the org.
	for _, m := range members {
		if m.Role == auth.OrgOwner && m.Active && m.UserID != userID {
			return nil
		}
	}
	return apierr.New(apierr.Conflict, "%s must keep at least one active owner", r.text)
}

func memberOut(m store.Member, org, withUser bool) hubapi.Membership {
	out := hubapi.Membership{Role: m.Role, CreatedAt: m.CreatedAt}
	if org {
		out.Org = m.ScopeName
	} else {
		out.Project = m.ScopeName
	}
	if withUser {
		out.Email, out.UserID = m.Email, m.UserID
	}
	return out
}

// CreateToken creates a CI token for the calling user. The secret is in
// this one answer only; the store keeps its SHA-256.
func (s *Service) CreateToken(ctx context.Context, p auth.Principal, in hubapi.CreateToken) (hubapi.Token, error) {
	if err := names.Resource("name", in.Name); err != nil {
		return hubapi.Token{}, err
	}
	if in.Role != "" && in.Project == "" {
		return hubapi.Token{}, apierr.New(apierr.BadRequest, "role needs project: a token's role applies to one project").
			WithDetail("problems", []apierr.Problem{{Path: "project", Message: "required with role"}})
	}
	if in.Role != "" && !auth.ValidProjectRole(in.Role) {
		return hubapi.Token{}, apierr.New(apierr.BadRequest, "role must be admin, deployer or viewer").
			WithDetail("problems", []apierr.Problem{{Path: "role", Message: "unknown project role"}})
	}
	now := s.now()
	var expires *time.Time
	if in.Expires != "" {
		d, err := duration.Parse(in.Expires)
		if err != nil {
			return hubapi.Token{}, apierr.New(apierr.BadRequest, "expires: %s", err.Error()).
				WithDetail("problems", []apierr.Problem{{Path: "expires", Message: err.Error()}})
		}
		t := now.Add(d)
		expires = &t
	}
	if err := s.authorize(ctx, p, auth.TokenCreate, auth.Target{}); err != nil {
		return hubapi.Token{}, err
	}
	if p.UserID == "" {
		return hubapi.Token{}, apierr.New(apierr.BadRequest, "CI tokens belong to a user: this Hub runs with STK_DISABLE_AUTH=true and has no logged-in user")
	}
	row := store.CIToken{ID: ids.New(ids.Token), Name: in.Name, UserID: p.UserID, Role: in.Role, CreatedAt: now, ExpiresAt: expires}
	if in.Project != "" {
		prj, err := s.project(ctx, p, auth.ProjectRead, in.Project)
		if err != nil {
			return hubapi.Token{}, err
		}
		row.ProjectID, row.ProjectName = prj.ID, prj.Name
	}
	secret, hash, err := auth.NewSecret(auth.TokenPrefix)
	if err != nil {
		return hubapi.Token{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	row.SecretHash = hash
	if err := s.store.CreateToken(ctx, row); err != nil {
		return hubapi.Token{}, storeErr(err, "token")
	}
	s.recordOrg(ctx, p, store.DefaultOrg, auth.TokenCreate, "token "+row.ID+" ("+row.Name+")")
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil {
		return hubapi.Token{}, storeErr(err, "user")
	}
	row.UserEmail, row.Status = u.Email, store.KeyActive
	out := tokenOut(row)
	out.Token = secret
	return out, nil
}

// ListTokens lists the caller's CI tokens (every token when auth is
// disabled), newest first.
func (s *Service) ListTokens(ctx context.Context, p auth.Principal) ([]hubapi.Token, error) {
	if err := s.authorize(ctx, p, auth.TokenRead, auth.Target{}); err != nil {
		return nil, err
	}
	rows, err := s.store.ListTokens(ctx, p.UserID)
	if err != nil {
		return nil, storeErr(err, "tokens")
	}
	out := make([]hubapi.Token, 0, len(rows))
	for _, t := range rows {
		out = append(out, tokenOut(t))
	}
	return out, nil
}

// RevokeToken revokes one of the caller's CI tokens (idempotent). Another
// user's token is 404: its existence is not the caller's business.
func (s *Service) RevokeToken(ctx context.Context, p auth.Principal, id string) (hubapi.Token, error) {
	if !ids.Valid(ids.Token, id) {
		return hubapi.Token{}, apierr.New(apierr.BadRequest, "token id must look like tok_…")
	}
	if err := s.authorize(ctx, p, auth.TokenRevoke, auth.Target{}); err != nil {
		return hubapi.Token{}, err
	}
	t, err := s.store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.UserID != "" && t.UserID != p.UserID) {
		return hubapi.Token{}, apierr.New(apierr.NotFound, "token %s not found", id)
	}
	if err != nil {
		return hubapi.Token{}, storeErr(err, "token")
	}
	if t, err = s.store.RevokeToken(ctx, id, s.now()); err != nil {
		return hubapi.Token{}, storeErr(err, "token")
	}
	s.recordOrg(ctx, p, store.DefaultOrg, auth.TokenRevoke, "token "+t.ID+" ("+t.Name+")")
	return tokenOut(t), nil
}

func tokenOut(t store.CIToken) hubapi.Token {
	return hubapi.Token{ID: t.ID, Name: t.Name, Project: t.ProjectName, Role: t.Role, Status: t.Status,
		CreatedBy: t.UserEmail, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}
