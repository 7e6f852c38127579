// Package auth holds who is acting on the Hub and whether they may (SPEC
// §7.1): argon2id passwords, the Ed25519 keys that sign access tokens,
// resolving a bearer credential (access token or CI token) into a
// Principal, the RBAC Authorizer that reads roles from the store on every
// call, and the failed-login limiter. With STK_DISABLE_AUTH=true every
// request acts as the Dev principal and AllowAll decides.
package auth

import (
	"context"
	"time"
)

// Kinds of principals. The zero Kind is an anonymous caller.
const (
	KindDev   = "dev"   // STK_DISABLE_AUTH=true: acts as an org owner
	KindUser  = "user"  // an operator user with an access token
	KindToken = "token" // a CI token (stkpat_…)
)

// Principal is the acting operator of one request.
type Principal struct {
	Kind string
	// ID is the user id (usr_…) or the token id (tok_…).
	ID string
	// Name is what audit events show as the actor (email or token name).
	Name string
	// UserID is the user whose roles apply: the user itself, or the
	// creator of a CI token.
	UserID string
	// SessionID is the login session of an access token.
	SessionID string
	// TokenProjectID and TokenRole are a CI token's scope: it acts with the
	// lesser of TokenRole and its creator's role, on that project only.
	TokenProjectID string
	TokenProject   string
	TokenRole      string
	ExpiresAt      *time.Time
	// Problem says why an anonymous caller is anonymous (no credential,
	// an expired token, …); it becomes the 401 message.
	Problem string
}

// Authenticated reports whether p is a known operator (or dev mode).
func (p Principal) Authenticated() bool { return p.Kind != "" }

// Dev is the principal of every request when operator auth is disabled.
func Dev() Principal { return Principal{Kind: KindDev, ID: "dev", Name: "dev (auth disabled)"} }

// Action names an operation for authorization and audit.
type Action string

// Actions of the Hub API.
const (
	ProjectCreate    Action = "project.create"
	ProjectRead      Action = "project.read"
	EnvCreate        Action = "env.create"
	EnvRead          Action = "env.read"
	EnvDelete        Action = "env.delete"
	ProjectDelete    Action = "project.delete"
	ConnectionDelete Action = "connection.delete"
	ConnectionSet    Action = "connection.set"
	ConnectionRead   Action = "connection.read"
	ConnectionTest   Action = "connection.test"
	ConnectionRotate Action = "connection.rotate"
	SchemaSnapshot   Action = "schema.snapshot"
	SchemaRead       Action = "schema.read"
	PermissionsApply Action = "permissions.apply"
	PermissionsRead  Action = "permissions.read"
	AuthConfigApply  Action = "authconfig.apply"
	AuthConfigRead   Action = "authconfig.read"
	LogicApply       Action = "logic.apply"
	LogicRead        Action = "logic.read"
	LogicRun         Action = "logic.run"
	ReleaseCreate    Action = "release.create"
	ReleaseRead      Action = "release.read"
	ReleaseRollback  Action = "release.rollback"
	ReleasePromote   Action = "release.promote"
	APIKeyCreate     Action = "apikey.create"
	APIKeyRead       Action = "apikey.read"
	APIKeyRevoke     Action = "apikey.revoke"
	AuditRead        Action = "audit.read"
	MemberRead       Action = "member.read"
	MemberManage     Action = "member.manage"
	OrgCreate        Action = "org.create"
	OrgRead          Action = "org.read"
	UserCreate       Action = "user.create"
	UserRead         Action = "user.read"
	UserDisable      Action = "user.disable"
	TokenCreate      Action = "token.create"
	TokenRead        Action = "token.read"
	TokenRevoke      Action = "token.revoke"
	Login            Action = "auth.login"
	Logout           Action = "auth.logout"
	// OAuth logins (decision 0026): a login through a provider (success or
	// refusal with its reason), and an identity linked to a user.
	OAuthLogin Action = "auth.oauth.login"
	OAuthLink  Action = "auth.oauth.link"
)

// Target is what an action applies to; empty fields mean org level.
type Target struct {
	Org     string
	Project string
	Env     string
}

// Authorizer decides whether p may perform action on target. It returns nil
// or an error the HTTP edge can show (FORBIDDEN).
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, action Action, target Target) error
}

// AllowAll is the Authorizer of the auth-disabled mode.
type AllowAll struct{}

// Authorize allows everything.
func (AllowAll) Authorize(context.Context, Principal, Action, Target) error { return nil }

type ctxKey struct{}

// WithPrincipal stores p in ctx (set by the HTTP middleware).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal stored by WithPrincipal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
