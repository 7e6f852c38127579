//go:build !wasip1

package ids

// New is left out of the wasip1 build: the Workers planner only checks ids
// (SPEC §4: no randomness in the plan), and crypto/rand would only add to its
// wasm module (decision 0030).

import (
	"crypto/rand"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + a new ULID (monotonic within the process is not
// needed: ids only have to be unique and roughly time-ordered).
func New(prefix string) string {
	return prefix + ulid.MustNew(ulid.Now(), rand.Reader).String()
}
