package hubapi

import (
	"time"

	"github.com/santokit/santokit/packages/core/authconfig"
)

// AuthConfig is a staged end-user auth config version of an env
// (PUT/GET …/auth, SPEC §7.3). The PUT body is the YAML text itself
// (Content-Type: application/yaml).
type AuthConfig struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Env     string `json:"env"`
	Hash    string `json:"hash"`
	// Issuers are the trusted issuers as parsed (what the next release
	// freezes and Bridges will verify tokens against).
	Issuers   []authconfig.Issuer `json:"issuers"`
	CreatedAt time.Time           `json:"createdAt"`
	CreatedBy string              `json:"createdBy"`
	// Reused: the text equals the staged version, which is returned.
	Reused bool `json:"reused,omitempty"`
	// Source is the YAML text as applied; filled by GET only.
	Source string `json:"source,omitempty"`
}
