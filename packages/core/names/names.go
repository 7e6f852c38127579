// Package names holds the naming rules of SPEC §2 for orgs, projects, envs,
// connections, API keys and roles, and the form of operators' emails. Every check returns a BAD_REQUEST that
// names the offending field, so callers can return it to clients unchanged.
package names

import (
	"github.com/santokit/santokit/packages/core/apierr"
)

// Reserved role keywords (SPEC §5.1) that cannot be given to an API key.
const (
	RolePublic        = "public"
	RoleAuthenticated = "authenticated"
)

// IsResource reports whether s is a valid org/project/env/connection/key
// name: ^[a-z][a-z0-9-]{0,62}$.
func IsResource(s string) bool { return isName(s, false) }

// IsRole reports whether s is a valid role name (keywords included):
// ^[a-z][a-z0-9_-]{0,62}$.
func IsRole(s string) bool { return isName(s, true) }

// isName is ^[a-z][a-z0-9-]{0,62}$, with '_' allowed after the first
// character when underscore is true. A byte loop rather than a regexp: the
// Workers planner links this package, and regexp with its Unicode tables
// cost that wasm module about 100 KB gzipped (decision 0030).
func isName(s string, underscore bool) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' && underscore) {
			return false
		}
	}
	return true
}

// Resource checks a resource name; field names the JSON field or flag
// ("name", "project", "env", …) in the error message.
func Resource(field, value string) error {
	if IsResource(value) {
		return nil
	}
	if value == "" {
		return apierr.New(apierr.BadRequest, "%s is required", field).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "required"}})
	}
	return apierr.New(apierr.BadRequest,
		"%s %q is not a valid name: use 1-63 characters, lowercase letters, digits and '-', starting with a letter", field, clip(value)).
		WithDetail("problems", []apierr.Problem{{Path: field, Message: "must match ^[a-z][a-z0-9-]{0,62}$"}})
}

// Role checks a role name. When forKey is true the reserved keywords are
// refused too, since an API key can never hold them (SPEC §2).
func Role(field, value string, forKey bool) error {
	if !IsRole(value) {
		return apierr.New(apierr.BadRequest,
			"%s %q is not a valid role name: use 1-63 characters, lowercase letters, digits, '_' and '-', starting with a letter", field, clip(value)).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "must match ^[a-z][a-z0-9_-]{0,62}$"}})
	}
	if forKey && (value == RolePublic || value == RoleAuthenticated) {
		return apierr.New(apierr.BadRequest, "%s %q is a reserved keyword and cannot be given to an API key", field, value).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "reserved keyword"}})
	}
	return nil
}

// clip keeps echoed user input short so error messages stay readable.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
