// Package ids generates the prefixed, sortable identifiers of SPEC §2
// (rel_…, snap_…, key_…, req_…): a prefix and a ULID, so that ids sort by
// creation time and carry their kind in their text.
package ids

import (
	"crypto/rand"
	"strings"

	"github.com/oklog/ulid/v2"
)

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

// New returns prefix + a new ULID (monotonic within the process is not
// needed: ids only have to be unique and roughly time-ordered).
func New(prefix string) string {
	return prefix + ulid.MustNew(ulid.Now(), rand.Reader).String()
}

// Valid reports whether s is prefix followed by a well-formed ULID.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}
