package names

import (
	"regexp"
	"strings"
	"testing"
)

// namesLike yields every string of up to 3 bytes over an alphabet that
// covers each class boundary of the name patterns, plus length edges.
func namesLike() []string {
	const alphabet = "a`z{A_-09/é"
	out := []string{""}
	level := []string{""}
	for n := 0; n < 3; n++ {
		var next []string
		for _, p := range level {
			for _, r := range alphabet {
				next = append(next, p+string(r))
			}
		}
		out = append(out, next...)
		level = next
	}
	for _, n := range []int{62, 63, 64} {
		out = append(out, "a"+strings.Repeat("b", n-1), "a"+strings.Repeat("_", n-1), "a"+strings.Repeat("-", n-2)+"\n")
	}
	return out
}

// TestNamePatterns holds the byte loops to the SPEC §2 patterns they replace.
func TestNamePatterns(t *testing.T) {
	resource := regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	role := regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	for _, s := range namesLike() {
		if got, want := IsResource(s), resource.MatchString(s); got != want {
			t.Errorf("IsResource(%q) = %v, want %v", s, got, want)
		}
		if got, want := IsRole(s), role.MatchString(s); got != want {
			t.Errorf("IsRole(%q) = %v, want %v", s, got, want)
		}
	}
}
