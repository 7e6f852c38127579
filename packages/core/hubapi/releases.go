package hubapi

import "time"

// Warning is one entry of warnings[] in a permissions apply result
// (SPEC §5.4: a condition or owner on a column without an index).
type Warning struct {
	Connection string `json:"connection,omitempty"`
	Table      string `json:"table"`
	Column     string `json:"column,omitempty"`
	Message    string `json:"message"`
}

// Permissions is a staged permissions version (PUT/GET …/permissions).
// The PUT body is the YAML text itself (Content-Type: application/yaml).
type Permissions struct {
	ID        string    `json:"id"`
	Project   string    `json:"project"`
	Env       string    `json:"env"`
	Hash      string    `json:"hash"`
	Warnings  []Warning `json:"warnings"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	// Reused: the text equals the latest staged version, which is returned.
	Reused bool `json:"reused,omitempty"`
	// Source is the YAML text; filled by GET only.
	Source string `json:"source,omitempty"`
	// Diff is what a release of this version would change (SPEC §9): from
	// the env's current release to this version with the latest snapshots.
	// Filled by PUT; absent when the env has no release yet.
	Diff *ReleaseDiff `json:"diff,omitempty"`
}

// CreateRelease is the body of POST …/releases.
type CreateRelease struct {
	Ref string `json:"ref,omitempty"`
}

// Release is an immutable release of an env (SPEC §9).
type Release struct {
	ID      string `json:"id"`
	Ref     string `json:"ref"`
	Project string `json:"project"`
	Env     string `json:"env"`
	Reused  bool   `json:"reused"`
	// Current reports whether this release is the env's current one.
	Current bool `json:"current"`
	// Hash is the content hash (snapshots + permissions + auth config).
	Hash          string `json:"hash"`
	PermissionsID string `json:"permissionsId"`
	// AuthID is the env's auth config version frozen in the release (SPEC
	// §7.3); empty when the release trusts no end-user issuer.
	AuthID string `json:"authId,omitempty"`
	// LogicID is the logic set frozen in the release (SPEC §6); empty when
	// the env had none.
	LogicID string `json:"logicId,omitempty"`
	// Snapshots maps connection name → snapshot id.
	Snapshots map[string]string `json:"snapshots"`
	// PromotedFrom is the release this one was promoted from, if any.
	PromotedFrom string    `json:"promotedFrom,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	CreatedBy    string    `json:"createdBy"`
	// Exposes lists what the release's permissions expose (SPEC §5.1); GET
	// …/releases/{id} only.
	Exposes []Exposure `json:"exposes,omitempty"`
}

// Exposure is one table a release exposes, with the exposed columns.
type Exposure struct {
	Connection string   `json:"connection"`
	Table      string   `json:"table"`
	Columns    []string `json:"columns"`
	// Ops maps each op that has a rule for the table (its own or from
	// _default) to the roles its rules name, in the order written.
	Ops map[string][]string `json:"ops,omitempty"`
}

// Rollback is the body of POST …/releases/rollback.
type Rollback struct {
	To string `json:"to"`
}

// Promote is the body of POST /v1/projects/{p}/releases/promote.
type Promote struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Ref       string `json:"ref,omitempty"`
	ReleaseID string `json:"releaseId,omitempty"`
	Force     bool   `json:"force,omitempty"`
}

// CreateAPIKey is the body of POST …/apikeys.
type CreateAPIKey struct {
	Name      string     `json:"name"`
	Roles     []string   `json:"roles"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// APIKey describes a data-plane API key; never its secret (SPEC §7.2).
type APIKey struct {
	KeyID      string     `json:"keyId"`
	Name       string     `json:"name"`
	Roles      []string   `json:"roles"`
	Status     string     `json:"status"` // active | revoked
	Project    string     `json:"project"`
	Env        string     `json:"env"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// CreatedAPIKey is the one answer that carries the key (shown once).
type CreatedAPIKey struct {
	APIKey
	Key string `json:"apiKey"`
}

// AuditEvent is one audit log entry (SPEC §9), newest first in lists.
type AuditEvent struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Outcome   string    `json:"outcome"` // success | denied | failure
	RequestID string    `json:"requestId"`
	Project   string    `json:"project,omitempty"`
}

// APIKeyLocation answers GET /internal/v1/apikeys/{keyId}.
type APIKeyLocation struct {
	Project string `json:"project"`
	Env     string `json:"env"`
}

// APIKeyUsage is the body of POST /internal/v1/apikeys/usage: a Bridge's
// batch of when it last saw each API key used (SPEC §7.2 lastUsedAt, §15).
// Bridges send one batch a minute at most, so a key's lastUsedAt is
// eventually consistent within about a minute.
type APIKeyUsage struct {
	Keys []APIKeyUse `json:"keys"`
}

// MaxAPIKeyUsageBatch bounds the keys of one usage report: the Hub refuses
// more, Bridges split larger batches.
const MaxAPIKeyUsageBatch = 5000

// APIKeyUse is one key of an APIKeyUsage batch.
type APIKeyUse struct {
	KeyID      string    `json:"keyId"`
	LastUsedAt time.Time `json:"lastUsedAt"`
}

// APIKeyUsageRecorded answers POST /internal/v1/apikeys/usage: how many
// keys' lastUsedAt moved forward (unknown keys and older times change
// nothing).
type APIKeyUsageRecorded struct {
	Recorded int `json:"recorded"`
}
