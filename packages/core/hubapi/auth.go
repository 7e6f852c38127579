package hubapi

import "time"

// Operator roles (SPEC §7.1), highest first: the Hub ranks them in this
// order, and stk offers and checks the same names.
var (
	OrgRoles     = []string{"owner", "admin", "member"}
	ProjectRoles = []string{"admin", "deployer", "viewer"}
)

// Login is the body of POST /v1/auth/login (SPEC §7.1).
type Login struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Refresh is the body of POST /v1/auth/refresh and, optionally, of
// POST /v1/auth/logout (which otherwise ends the session of the bearer
// access token).
type Refresh struct {
	RefreshToken string `json:"refreshToken"`
}

// Tokens is the answer of login and refresh.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int    `json:"expiresIn"`
	TokenType string `json:"tokenType"` // "Bearer"
}

// Status is a bare acknowledgement ({"status":"ok"}).
type Status struct {
	Status string `json:"status"`
}

// Whoami is the answer of GET /v1/auth/whoami.
type Whoami struct {
	// Kind is "user", "token" (a CI token) or "dev" (auth disabled).
	Kind string `json:"kind"`
	// ID is the user id (usr_…) or token id (tok_…).
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
	// Name is what audit events show: the email or the token name.
	Name string `json:"name"`
	// Orgs and Projects are the memberships of the user (of the token's
	// creator for a CI token).
	Orgs     []Membership `json:"orgs"`
	Projects []Membership `json:"projects"`
	// Token scope, for a CI token.
	TokenProject string     `json:"tokenProject,omitempty"`
	TokenRole    string     `json:"tokenRole,omitempty"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
}

// Membership is one role of one user in an org or a project.
type Membership struct {
	Org     string `json:"org,omitempty"`
	Project string `json:"project,omitempty"`
	Role    string `json:"role"`
	// Email and UserID are filled in member lists.
	Email     string    `json:"email,omitempty"`
	UserID    string    `json:"userId,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// Via says where an implicit role comes from: in a project's member
	// list, org owners and admins are listed as its admins with Via "org
	// owner" or "org admin" (SPEC §7.1). Empty for a direct membership.
	Via string `json:"via,omitempty"`
}

// CreateToken is the body of POST /v1/tokens. Expires is a SPEC §2
// duration ("90d"); Role needs Project.
type CreateToken struct {
	Name    string `json:"name"`
	Project string `json:"project,omitempty"`
	Role    string `json:"role,omitempty"`
	Expires string `json:"expires,omitempty"`
}

// Token is a CI token as lists show it. Token (the secret) is filled only
// in the one answer of POST /v1/tokens.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Token     string     `json:"token,omitempty"`
	Project   string     `json:"project,omitempty"`
	Role      string     `json:"role,omitempty"`
	Status    string     `json:"status"` // active | revoked
	CreatedBy string     `json:"createdBy"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// CreateUser is the body of POST /v1/users.
type CreateUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// User is an operator account. The password hash is never shown.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Status    string    `json:"status"` // active | disabled
	CreatedAt time.Time `json:"createdAt"`
}

// CreateOrg is the body of POST /v1/orgs.
type CreateOrg struct {
	Name string `json:"name"`
}

// Org is an org as the API shows it.
type Org struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// Role is the caller's role in the org ("" for auth-disabled callers).
	Role string `json:"role,omitempty"`
}

// PutMember is the body of POST …/members (add: Email and Role) and of
// PUT …/members/{email} (set-role: Role only).
type PutMember struct {
	Email string `json:"email,omitempty"`
	Role  string `json:"role"`
}
