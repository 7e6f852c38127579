// Package requestid carries the id of the HTTP request being served through
// a context, so that the access log, error envelopes and audit events of one
// request all name the same id (SPEC §3, §9).
package requestid

import (
	"context"

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
// ASCII, at most 128 characters, SPEC §3), else a new req_ id.
func Accept(incoming string) string {
	if incoming == "" || len(incoming) > 128 {
		return ids.New(ids.Request)
	}
	for i := 0; i < len(incoming); i++ {
		if incoming[i] < 0x20 || incoming[i] > 0x7e {
			return ids.New(ids.Request)
		}
	}
	return incoming
}
