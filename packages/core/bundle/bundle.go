// Package bundle is the release bundle the Hub serves at
// GET /internal/v1/envs/{p}/{e}/bundle and the Bridge caches (SPEC §8.1):
// everything the data plane needs for one env — its current release
// (snapshots and permissions), its connections with decrypted URLs, and
// its API keys as hashes with roles, status and expiry.
//
// A bundle holds secrets (connection URLs): it is never logged. LogValue
// and String show only what identifies it.
package bundle

import (
	"strconv"
	"time"

	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// Bundle is one env's data-plane configuration at one revision.
type Bundle struct {
	Project string `json:"project"`
	Env     string `json:"env"`
	// Revision is the env's revision; the HTTP ETag carries it too.
	Revision int64 `json:"revision"`
	// Release is nil when the env has no release yet.
	Release     *Release     `json:"release"`
	Connections []Connection `json:"connections"`
	APIKeys     []APIKey     `json:"apiKeys"`
}

// Release is the frozen content of a release.
type Release struct {
	ID        string    `json:"id"`
	Ref       string    `json:"ref"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
	// Snapshots maps connection name → the schema the release was built on.
	Snapshots   map[string]schema.Snapshot `json:"snapshots"`
	Permissions permissions.Document       `json:"permissions"`
	// Auth is the env's end-user auth config frozen into the release
	// (SPEC §7.3); nil when the env trusts no issuer.
	Auth *authconfig.Document `json:"auth,omitempty"`
	// Logics are the env's custom SQL logic frozen into the release
	// (SPEC §6), by name.
	Logics []logic.Logic `json:"logics,omitempty"`
}

// Connection is a database connection of the env, URL decrypted.
type Connection struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	URL    string `json:"url"`
	// Version changes whenever the URL does, so pools can be recycled.
	Version int `json:"version"`
}

// APIKey is an API key of the env as the Bridge checks it.
type APIKey struct {
	KeyID     string     `json:"keyId"`
	Name      string     `json:"name"`
	Roles     []string   `json:"roles"`
	Hash      string     `json:"hash"` // hex SHA-256 of the secret
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// Key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
)

// Key returns the API key with keyID.
func (b *Bundle) Key(keyID string) (*APIKey, bool) {
	for i := range b.APIKeys {
		if b.APIKeys[i].KeyID == keyID {
			return &b.APIKeys[i], true
		}
	}
	return nil, false
}

// Connection returns the connection named name.
func (b *Bundle) Connection(name string) (*Connection, bool) {
	for i := range b.Connections {
		if b.Connections[i].Name == name {
			return &b.Connections[i], true
		}
	}
	return nil, false
}

// String keeps secrets out of fmt output.
func (b *Bundle) String() string {
	return "bundle " + b.Project + "/" + b.Env + "@" + strconv.FormatInt(b.Revision, 10)
}

// String keeps the URL out of fmt output.
func (c Connection) String() string { return "connection " + c.Name + " (" + c.Engine + ")" }
