// Package requestid makes and carries the id of the HTTP request being
// served (SPEC §3: every response carries X-Request-Id), so that the access
// log, error envelopes and audit events of one request all name the same id.
// The Hub and the Bridge share it.
package requestid

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/santokit/santokit/packages/core/ids"
)

type key struct{}

// With stores id in ctx.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id stored by With, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Accept returns incoming when it is a usable X-Request-Id (printable
// ASCII, at most 128 characters, SPEC §3), else a new id.
func Accept(incoming string) string {
	if incoming == "" || len(incoming) > 128 {
		return New()
	}
	for i := 0; i < len(incoming); i++ {
		if incoming[i] < 0x20 || incoming[i] > 0x7e {
			return New()
		}
	}
	return incoming
}

// New returns "req_" + a ULID. Request ids are labels, not secrets, so the
// entropy comes from math/rand/v2 rather than a getrandom call per request
// on the /call hot path.
func New() string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(time.Now()))
	a, b := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		id[6+i] = byte(a >> (8 * i))
	}
	id[14], id[15] = byte(b), byte(b>>8)
	return ids.Request + id.String()
}
