package store

import "time"

// PermissionSet is an immutable staged permissions version of an env.
// Source is the YAML text as applied; Hash is its content hash.
type PermissionSet struct {
	ID        string
	EnvID     string
	Hash      string
	Source    []byte
	Warnings  []byte // JSON of []hubapi.Warning
	CreatedAt time.Time
	CreatedBy string
}

// Release is an immutable release: references to immutable snapshot rows
// (possibly of another env, after a promotion), a permission set, a logic
// set (or none), and the
// auth config of its own env (or none).
type Release struct {
	ID            string
	EnvID         string
	Ref           string
	Hash          string
	PermissionsID string
	// AuthID is the env's auth config version frozen in; "" when none.
	AuthID string
	// LogicID is the logic set frozen in (of any env, after a promotion);
	// "" when none.
	LogicID string
	// Snapshots maps connection name → snapshot id.
	Snapshots    map[string]string
	PromotedFrom string
	CreatedAt    time.Time
	CreatedBy    string
}

// APIKey is a data-plane key; only the SHA-256 of its secret is stored.
type APIKey struct {
	ID         string // key_…
	EnvID      string
	Name       string
	Roles      []string
	SecretHash string // hex SHA-256 of the secret part
	Status     string // active | revoked
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// API key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
)

// Event is an audit event. ProjectID is empty for org-level events.
type Event struct {
	ID        string // evt_… (sortable: newest = greatest)
	OrgID     string
	ProjectID string
	Time      time.Time
	Actor     string
	Action    string
	Target    string
	Outcome   string
	RequestID string
}

// EventFilter selects audit events, newest first.
type EventFilter struct {
	OrgID string
	// ProjectID "" selects org-level events (those without a project).
	ProjectID string
	// Before is an event id: only older events are returned.
	Before string
	Limit  int
}
