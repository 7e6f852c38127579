// Package auth holds who is acting on the Hub and whether they may. Today the
// Hub only runs with operator auth disabled (STK_DISABLE_AUTH=true), where
// every request acts as the dev principal with org-owner rights; the
// Principal and Authorizer types are the seams through which users, CI tokens
// and RBAC (SPEC §7.1) slot in without touching the handlers or services.
package auth

import "context"

// Kinds of principals.
const (
	KindDev   = "dev"   // STK_DISABLE_AUTH=true: acts as an org owner
	KindUser  = "user"  // an operator user (later issue)
	KindToken = "token" // a CI token (later issue)
)

// Principal is the acting operator of one request.
type Principal struct {
	Kind string
	ID   string
	// Name is what audit events show as the actor (email or token name).
	Name string
}

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
	ConnectionSet    Action = "connection.set"
	ConnectionRead   Action = "connection.read"
	ConnectionTest   Action = "connection.test"
	SchemaSnapshot   Action = "schema.snapshot"
	SchemaRead       Action = "schema.read"
	PermissionsApply Action = "permissions.apply"
	PermissionsRead  Action = "permissions.read"
	ReleaseCreate    Action = "release.create"
	ReleaseRead      Action = "release.read"
	ReleaseRollback  Action = "release.rollback"
	ReleasePromote   Action = "release.promote"
	APIKeyCreate     Action = "apikey.create"
	APIKeyRead       Action = "apikey.read"
	APIKeyRevoke     Action = "apikey.revoke"
	AuditRead        Action = "audit.read"
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
