package ids

import (
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
)

// TestValidMatchesULID holds Valid's own ULID check to ulid.ParseStrict,
// the parser of the ids that New generates.
func TestValidMatchesULID(t *testing.T) {
	id := ulid.Make().String()
	in := []string{"", id, strings.ToLower(id), id[:25], id + "0", "8" + id[1:], "7" + id[1:], "0" + id[1:]}
	for c := 0; c < 256; c++ {
		in = append(in, id[:5]+string([]byte{byte(c)})+id[6:], string([]byte{byte(c)})+id[1:])
	}
	for _, s := range in {
		_, err := ulid.ParseStrict(s)
		if got, want := Valid(Key, Key+s), err == nil; got != want {
			t.Errorf("Valid(%q) = %v, ulid.ParseStrict says %v", Key+s, got, want)
		}
	}
}
