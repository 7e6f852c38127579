package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Roles (SPEC §7.1): org roles owner > admin > member; project roles
// admin > deployer > viewer. Org owners and admins are admin on every
// project of their org.
const (
	OrgOwner  = "owner"
	OrgAdmin  = "admin"
	OrgMember = "member"

	ProjectAdmin    = "admin"
	ProjectDeployer = "deployer"
	ProjectViewer   = "viewer"
)

var (
	orgRank     = ranks(hubapi.OrgRoles)
	projectRank = ranks(hubapi.ProjectRoles)
)

// ranks numbers roles listed highest first: the lowest is 1, unknown 0.
func ranks(roles []string) map[string]int {
	m := make(map[string]int, len(roles))
	for i, r := range roles {
		m[r] = len(roles) - i
	}
	return m
}

// ValidOrgRole and ValidProjectRole check role names given by operators.
func ValidOrgRole(r string) bool     { return orgRank[r] > 0 }
func ValidProjectRole(r string) bool { return projectRank[r] > 0 }

// projectNeeds is the least project role each project-level action needs.
// viewer reads everything but secrets (connection reads are redacted);
// deployer also snapshots, applies and releases; admin also manages envs,
// connections, API keys and members.
var projectNeeds = map[Action]string{
	ProjectRead: ProjectViewer, EnvRead: ProjectViewer, ConnectionRead: ProjectViewer,
	SchemaRead: ProjectViewer, PermissionsRead: ProjectViewer, ReleaseRead: ProjectViewer,
	APIKeyRead: ProjectViewer, AuditRead: ProjectViewer, MemberRead: ProjectViewer, AuthConfigRead: ProjectViewer,
	LogicRead: ProjectViewer,

	SchemaSnapshot: ProjectDeployer, PermissionsApply: ProjectDeployer, ReleaseCreate: ProjectDeployer,
	ReleasePromote: ProjectDeployer, ReleaseRollback: ProjectDeployer, ConnectionTest: ProjectDeployer,
	AuthConfigApply: ProjectDeployer, LogicApply: ProjectDeployer,
	// Running a logic (private ones included) is an operator's maintenance
	// act that ships with a release: deployers may (SPEC §6).
	LogicRun: ProjectDeployer,

	EnvCreate: ProjectAdmin, ConnectionSet: ProjectAdmin, ConnectionRotate: ProjectAdmin,
	APIKeyCreate: ProjectAdmin, APIKeyRevoke: ProjectAdmin, MemberManage: ProjectAdmin,
	EnvDelete: ProjectAdmin, ConnectionDelete: ProjectAdmin,
}

// orgNeeds is the least org role each org-level action needs. Users and
// orgs are managed by the owners and admins of the Hub's first org,
// "default" (the service passes that org as the target). A project is
// deleted by those who may create one in its org (the service passes the
// project's org), not by its own admins (decision 0016).
var orgNeeds = map[Action]string{
	OrgRead: OrgMember, MemberRead: OrgMember,
	ProjectCreate: OrgAdmin, ProjectDelete: OrgAdmin, AuditRead: OrgAdmin, MemberManage: OrgAdmin,
	OrgCreate: OrgAdmin, UserCreate: OrgAdmin, UserRead: OrgAdmin, UserDisable: OrgAdmin,
}

// selfActions concern the caller's own tokens: any user may do them. A CI
// token may list and revoke tokens of its creator, but never mint one.
var selfActions = map[Action]bool{TokenCreate: true, TokenRead: true, TokenRevoke: true}

// RBAC is the Authorizer of the enforced mode. It reads roles from the
// store on every call, so that a removed member loses access at once.
type RBAC struct{ Store *store.Store }

// Authorize implements Authorizer.
func (a RBAC) Authorize(ctx context.Context, p Principal, action Action, t Target) error {
	switch {
	case p.Kind == KindDev:
		return nil
	case !p.Authenticated():
		return Unauthenticated(p)
	case selfActions[action]:
		if action == TokenCreate && p.Kind == KindToken {
			return apierr.New(apierr.Forbidden, "a CI token cannot create tokens: log in as a user")
		}
		if p.TokenProjectID != "" {
			// A token scoped to one project has no business with its
			// creator's other tokens.
			return apierr.New(apierr.Forbidden, "a CI token scoped to project %s may not %s", p.TokenProject, verb(action))
		}
		return nil
	case t.Project != "":
		return a.project(ctx, p, action, t.Project)
	default:
		return a.org(ctx, p, action, t.Org)
	}
}

// Unauthenticated is the 401 of an anonymous caller.
func Unauthenticated(p Principal) *apierr.Error {
	msg := p.Problem
	if msg == "" {
		msg = "not logged in: send Authorization: Bearer <access token or CI token> (stk login)"
	}
	return apierr.New(apierr.Unauthorized, "%s", msg)
}

// ProjectRole is the role p acts with on the project: the org role's
// implied admin, else the project membership, capped by a CI token's scope.
func (a RBAC) ProjectRole(ctx context.Context, p Principal, prj store.Project) (string, error) {
	if p.TokenProjectID != "" && p.TokenProjectID != prj.ID {
		return "", nil
	}
	orgRole, err := a.Store.Role(ctx, store.OrgMembers, prj.OrgID, p.UserID)
	if err != nil {
		return "", err
	}
	role := ""
	if orgRank[orgRole] >= orgRank[OrgAdmin] {
		role = ProjectAdmin
	} else if role, err = a.Store.Role(ctx, store.ProjectMembers, prj.ID, p.UserID); err != nil {
		return "", err
	}
	if p.TokenRole != "" && projectRank[p.TokenRole] < projectRank[role] {
		role = p.TokenRole
	}
	return role, nil
}

func (a RBAC) project(ctx context.Context, p Principal, action Action, project string) error {
	need, ok := projectNeeds[action]
	if !ok {
		return apierr.New(apierr.Forbidden, "%s is not a project action", string(action))
	}
	prj, err := a.Store.GetProject(ctx, project)
	if errors.Is(err, store.ErrNotFound) {
		// The service answers 404 for it; nothing to protect.
		return nil
	}
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	role, err := a.ProjectRole(ctx, p, prj)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	if projectRank[role] >= projectRank[need] {
		return nil
	}
	if role == "" {
		return apierr.New(apierr.Forbidden, "%s has no role on project %s", p.Name, project)
	}
	return apierr.New(apierr.Forbidden, "role %s on project %s may not %s (needs %s)", role, project, verb(action), need)
}

func (a RBAC) org(ctx context.Context, p Principal, action Action, orgName string) error {
	need, ok := orgNeeds[action]
	if !ok {
		return apierr.New(apierr.Forbidden, "%s is not an org action", string(action))
	}
	if p.TokenProjectID != "" {
		return apierr.New(apierr.Forbidden, "a CI token scoped to project %s may not %s", p.TokenProject, verb(action))
	}
	if orgName == "" {
		orgName = store.DefaultOrg
	}
	org, err := a.Store.GetOrg(ctx, orgName)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	role, err := a.Store.Role(ctx, store.OrgMembers, org.ID, p.UserID)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	if orgRank[role] >= orgRank[need] {
		return nil
	}
	if role == "" {
		return apierr.New(apierr.Forbidden, "%s is not a member of org %s", p.Name, orgName)
	}
	return apierr.New(apierr.Forbidden, "role %s in org %s may not %s (needs %s)", role, orgName, verb(action), need)
}

// verb turns "release.create" into "release create" for messages.
func verb(a Action) string { return strings.ReplaceAll(string(a), ".", " ") }
