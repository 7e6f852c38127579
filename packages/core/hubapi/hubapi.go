// Package hubapi holds the JSON shapes of the Hub's HTTP API (SPEC §15), so
// that the Hub's handlers and the CLI's typed client encode and decode the
// very same types. Field names follow SPEC §2 (lowerCamelCase).
package hubapi

import (
	"time"

	"github.com/santokit/santokit/packages/core/buildinfo"
	"github.com/santokit/santokit/packages/core/schema"
)

// List is the envelope of every list response (SPEC §15).
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// CreateProject is the body of POST /v1/projects.
type CreateProject struct {
	Name string `json:"name"`
	// Org defaults to "default".
	Org string `json:"org,omitempty"`
}

// Project is a project as the API shows it.
type Project struct {
	Name      string    `json:"name"`
	Org       string    `json:"org"`
	CreatedAt time.Time `json:"createdAt"`
	// Envs is filled by GET /v1/projects/{p} only.
	Envs []Env `json:"envs,omitempty"`
}

// CreateEnv is the body of POST /v1/projects/{p}/envs.
type CreateEnv struct {
	Name string `json:"name"`
}

// Env is an environment of a project.
type Env struct {
	Project   string    `json:"project"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// PutConnection is the body of PUT /v1/projects/{p}/envs/{e}/connections/{name}.
type PutConnection struct {
	Engine string `json:"engine"`
	// URL is write-only: responses carry only the redacted form.
	URL string `json:"url"`
	// NoTest stores the URL without connecting to it first (`stk
	// connections set|rotate --no-test`); by default the Hub tests it and
	// stores nothing when the test fails (503, SPEC §15).
	NoTest bool `json:"noTest,omitempty"`
}

// Connection is a connection as the API shows it: never the secret URL.
type Connection struct {
	Project   string    `json:"project"`
	Env       string    `json:"env"`
	Name      string    `json:"name"`
	Engine    string    `json:"engine"`
	URL       string    `json:"url"` // redacted (SPEC §10)
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ConnectionTest is the 200 answer of POST …/connections/{name}/test.
type ConnectionTest struct {
	OK            bool   `json:"ok"`
	ServerVersion string `json:"serverVersion"`
	LatencyMs     int64  `json:"latencyMs"`
}

// Snapshot is a schema snapshot (POST …/snapshots, GET …/schema items).
// Reused is true when POST found the schema unchanged since the latest
// snapshot of the connection and returned that one instead of a copy.
type Snapshot struct {
	schema.Snapshot
	Reused bool `json:"reused,omitempty"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
	// Mode is "auth-disabled" while operator auth is off.
	Mode string `json:"mode,omitempty"`
}

// Version is the body of GET /v1/version (the Hub's and the Bridge's):
// version, commit and build date.
type Version = buildinfo.Info
