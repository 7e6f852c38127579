// Package ids generates the prefixed, sortable identifiers of SPEC §2
// (rel_…, snap_…, key_…, req_…): a prefix and a ULID, so that ids sort by
// creation time and carry their kind in their text.
package ids

import "strings"

// Prefixes of SPEC §2 (and req_ for request ids, org_/prj_/env_/conn_ for rows).
const (
	Release    = "rel_"
	Snapshot   = "snap_"
	Permission = "perm_"
	AuthConfig = "authcfg_"
	Logic      = "logic_"
	Key        = "key_"
	User       = "usr_"
	Event      = "evt_"
	Request    = "req_"
	Org        = "org_"
	Project    = "prj_"
	Env        = "env_"
	Connection = "conn_"
	Session    = "ses_"
	Token      = "tok_"
	SigningKey = "sig_"
)

// Valid reports whether s is prefix followed by a well-formed ULID.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return false
	}
	return isULID(rest)
}

// isULID is ulid.ParseStrict's check without the ulid package, which the
// wasip1 build of the planner leaves out (decision 0030): 26 characters of
// Crockford's base32 in either case, the first at most '7' (a larger one
// overflows 128 bits). TestValidMatchesULID holds the two together.
func isULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) < 0 {
			return false
		}
	}
	return true
}
