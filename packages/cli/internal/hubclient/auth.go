package hubclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// HubKey is the Hub URL in the form credentials entries store it (unlike
// URL, not redacted: it is compared, not shown).
func (c *Client) HubKey() string { return credentials.NormalizeHub(c.base.String()) }

// postNoAuth sends in as JSON without any bearer token: login and refresh
// carry their credential in the body.
func (c *Client) postNoAuth(ctx context.Context, path string, in, out any) (*Response, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return c.send(ctx, http.MethodPost, path, "application/json", b, out, false)
}

// Login calls POST /v1/auth/login (no bearer token).
func (c *Client) Login(ctx context.Context, in hubapi.Login) (hubapi.Tokens, error) {
	var out hubapi.Tokens
	_, err := c.postNoAuth(ctx, "/v1/auth/login", in, &out)
	return out, err
}

// Refresh calls POST /v1/auth/refresh (no bearer token). The refresh token
// given is rotated: only the answer's one is valid afterwards.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (hubapi.Tokens, error) {
	var out hubapi.Tokens
	_, err := c.postNoAuth(ctx, "/v1/auth/refresh", hubapi.Refresh{RefreshToken: refreshToken}, &out)
	return out, err
}

// Logout calls POST /v1/auth/logout. With a refresh token it sends that
// alone: holding it proves the session, so an expired access token needs no
// refresh (and no rotation) first. Without one it ends the session of the
// bearer token.
func (c *Client) Logout(ctx context.Context, refreshToken string) (hubapi.Status, error) {
	var out hubapi.Status
	if refreshToken != "" {
		_, err := c.postNoAuth(ctx, "/v1/auth/logout", hubapi.Refresh{RefreshToken: refreshToken}, &out)
		return out, err
	}
	_, err := c.Do(ctx, http.MethodPost, "/v1/auth/logout", nil, &out)
	return out, err
}

// Whoami calls GET /v1/auth/whoami.
func (c *Client) Whoami(ctx context.Context) (hubapi.Whoami, error) {
	var out hubapi.Whoami
	_, err := c.Do(ctx, http.MethodGet, "/v1/auth/whoami", nil, &out)
	return out, err
}

// CreateToken calls POST /v1/tokens: the only answer that carries the token.
func (c *Client) CreateToken(ctx context.Context, in hubapi.CreateToken) (hubapi.Token, error) {
	var out hubapi.Token
	_, err := c.Do(ctx, http.MethodPost, "/v1/tokens", in, &out)
	return out, err
}

// ListTokens calls GET /v1/tokens.
func (c *Client) ListTokens(ctx context.Context) (hubapi.List[hubapi.Token], error) {
	var out hubapi.List[hubapi.Token]
	_, err := c.Do(ctx, http.MethodGet, "/v1/tokens", nil, &out)
	return out, err
}

// RevokeToken calls DELETE /v1/tokens/{id}: the revoked token.
func (c *Client) RevokeToken(ctx context.Context, id string) (hubapi.Token, error) {
	var out hubapi.Token
	_, err := c.Do(ctx, http.MethodDelete, "/v1/tokens/"+seg(id), nil, &out)
	return out, err
}

// CreateUser calls POST /v1/users.
func (c *Client) CreateUser(ctx context.Context, in hubapi.CreateUser) (hubapi.User, error) {
	var out hubapi.User
	_, err := c.Do(ctx, http.MethodPost, "/v1/users", in, &out)
	return out, err
}

// ListUsers calls GET /v1/users.
func (c *Client) ListUsers(ctx context.Context) (hubapi.List[hubapi.User], error) {
	var out hubapi.List[hubapi.User]
	_, err := c.Do(ctx, http.MethodGet, "/v1/users", nil, &out)
	return out, err
}

// DisableUser calls POST /v1/users/{email}/disable.
func (c *Client) DisableUser(ctx context.Context, email string) (hubapi.User, error) {
	var out hubapi.User
	_, err := c.Do(ctx, http.MethodPost, "/v1/users/"+seg(email)+"/disable", nil, &out)
	return out, err
}

// CreateOrg calls POST /v1/orgs.
func (c *Client) CreateOrg(ctx context.Context, in hubapi.CreateOrg) (hubapi.Org, error) {
	var out hubapi.Org
	_, err := c.Do(ctx, http.MethodPost, "/v1/orgs", in, &out)
	return out, err
}

// ListOrgs calls GET /v1/orgs.
func (c *Client) ListOrgs(ctx context.Context) (hubapi.List[hubapi.Org], error) {
	var out hubapi.List[hubapi.Org]
	_, err := c.Do(ctx, http.MethodGet, "/v1/orgs", nil, &out)
	return out, err
}

// Scope is what members belong to: an org or a project (exactly one).
type Scope struct {
	Org     string
	Project string
}

func (s Scope) membersPath() string {
	if s.Org != "" {
		return "/v1/orgs/" + seg(s.Org) + "/members"
	}
	return "/v1/projects/" + seg(s.Project) + "/members"
}

// ListMembers calls GET …/members of the org or project.
func (c *Client) ListMembers(ctx context.Context, s Scope) (hubapi.List[hubapi.Membership], error) {
	var out hubapi.List[hubapi.Membership]
	_, err := c.Do(ctx, http.MethodGet, s.membersPath(), nil, &out)
	return out, err
}

// AddMember calls POST …/members.
func (c *Client) AddMember(ctx context.Context, s Scope, email, role string) (hubapi.Membership, error) {
	var out hubapi.Membership
	_, err := c.Do(ctx, http.MethodPost, s.membersPath(), hubapi.PutMember{Email: email, Role: role}, &out)
	return out, err
}

// SetMemberRole calls PUT …/members/{email}.
func (c *Client) SetMemberRole(ctx context.Context, s Scope, email, role string) (hubapi.Membership, error) {
	var out hubapi.Membership
	_, err := c.Do(ctx, http.MethodPut, s.membersPath()+"/"+seg(email), hubapi.PutMember{Role: role}, &out)
	return out, err
}

// RemoveMember calls DELETE …/members/{email}: the removed membership.
func (c *Client) RemoveMember(ctx context.Context, s Scope, email string) (hubapi.Membership, error) {
	var out hubapi.Membership
	_, err := c.Do(ctx, http.MethodDelete, s.membersPath()+"/"+seg(email), nil, &out)
	return out, err
}

// RotateConnection calls POST …/connections/{name}/rotate: the connection
// with its new version.
func (c *Client) RotateConnection(ctx context.Context, project, env, name string, in hubapi.PutConnection) (hubapi.Connection, error) {
	var out hubapi.Connection
	_, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/connections/"+seg(name)+"/rotate", in, &out)
	return out, err
}
