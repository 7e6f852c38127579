package secrets

import (
	"net/url"
	"strings"
)

// secretParams are query parameters of database URLs that carry secrets.
var secretParams = []string{"password", "sslpassword", "sslkey", "passfile"}

// RedactURL returns raw with its password (user info and query parameters)
// replaced by "***" (SPEC §10: postgres://app:***@db:5432/app). A string
// that does not parse as a URL is fully redacted rather than risk a leak.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "***"
	}
	q := u.Query()
	changed := false
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "***")
			changed = true
		}
	}
	if changed {
		u.RawQuery = strings.ReplaceAll(q.Encode(), "%2A%2A%2A", "***")
	}
	if u.User == nil {
		return u.String()
	}
	if _, has := u.User.Password(); !has {
		return u.String()
	}
	// url.UserPassword would percent-encode "***", so splice it in by hand.
	name := url.User(u.User.Username()).String()
	u.User = nil
	scheme := u.Scheme + "://"
	return scheme + name + ":***@" + strings.TrimPrefix(u.String(), scheme)
}
