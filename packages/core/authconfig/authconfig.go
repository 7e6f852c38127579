// Package authconfig is the end-user auth config of an env
// (config/auth.yaml, SPEC §7.3): the OIDC issuers whose tokens the data
// plane accepts. The Hub stages it per env and freezes it into releases;
// the Bridge verifies end-user JWTs against the frozen copy in the bundle.
// It does no I/O, so the planner's WebAssembly build may import it.
package authconfig

// Version is the only auth.yaml format version.
const Version = 1

// Document is a parsed config/auth.yaml. It is serialized into the release
// bundle, so every field has a stable lowerCamelCase JSON name.
type Document struct {
	Version int      `json:"version"`
	Issuers []Issuer `json:"issuers"`
}

// Issuer is one trusted OIDC issuer.
type Issuer struct {
	// Name identifies the issuer in logs and messages (unique in the file).
	Name string `json:"name"`
	// Issuer is the exact `iss` value; discovery is {Issuer}/.well-known/openid-configuration.
	Issuer string `json:"issuer"`
	// Audience, when set, must be among the token's `aud`.
	Audience string `json:"audience,omitempty"`
	// JWKSURL overrides discovery's jwks_uri.
	JWKSURL string `json:"jwksUrl,omitempty"`
	// RolesClaim names the claim holding roles (string or array); empty
	// means "roles", then "role".
	RolesClaim string `json:"rolesClaim,omitempty"`
	Line       int    `json:"line,omitempty"`
}
