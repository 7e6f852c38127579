//go:build !wasip1

package names

// Email is left out of the wasip1 build: net/mail would bring net, mime
// and their init work into the Workers planner, which never sees an
// operator's email (decision 0030).

import (
	"net/mail"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
)

// Email returns an operator's email in its stored form (trimmed,
// lower-cased: emails compare case-insensitively), or a BAD_REQUEST naming
// field when it is not a plain address of at most 254 characters.
func Email(field, value string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(value))
	if email == "" {
		return "", apierr.New(apierr.BadRequest, "%s is required", field).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "required"}})
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return "", apierr.New(apierr.BadRequest, "%s %q is not an email address such as ada@example.com", field, clip(value)).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "not an email address"}})
	}
	return email, nil
}
