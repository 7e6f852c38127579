package store

import (
	"errors"
	"time"
)

// Sentinel errors every Store method returns (wrapped) so that the service
// layer can map them to SPEC §3 codes without knowing the engine.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique constraint (duplicate name) was violated.
	ErrConflict = errors.New("store: conflict")
)

// Org is a tenant; the org "default" exists from the first start.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Project belongs to one org; project names are unique in a Hub (SPEC §2).
type Project struct {
	ID        string
	OrgID     string
	OrgName   string // filled on reads
	Name      string
	CreatedAt time.Time
}

// Env belongs to one project. Revision is bumped by exactly the changes
// SPEC §8.1 lists (connection set/rotate, release pointer moves, API key
// create/revoke) and is the ETag of the env's bundle.
type Env struct {
	ID          string
	ProjectID   string
	ProjectName string // filled on reads
	Name        string
	Revision    int64
	// CurrentReleaseID is the release Bridges serve; "" before the first.
	// Filled on reads; CreateEnv ignores it.
	CurrentReleaseID string
	CreatedAt        time.Time
}

// Connection is a database connection of an env. The URL is only ever held
// encrypted here (SPEC §10): Ciphertext is sealed by the secrets key ring
// with KeyVersion, bound to project/env/name as associated data.
type Connection struct {
	ID         string
	EnvID      string
	Name       string
	Engine     string
	Ciphertext []byte
	KeyVersion string
	// RedactedURL is the URL with its password replaced, safe to show.
	RedactedURL string
	// Version counts URL changes: 1 at creation, +1 on each set/rotate.
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Snapshot is an immutable schema snapshot row. Content is the JSON of the
// normalized []schema.Table; Hash is its content hash.
type Snapshot struct {
	ID         string
	EnvID      string
	Connection string
	Engine     string
	Hash       string
	Content    []byte
	CreatedAt  time.Time
}
