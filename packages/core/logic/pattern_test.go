package logic

import (
	"regexp"
	"strings"
	"testing"
)

// TestNamePatterns holds the byte loops to the patterns they replace.
func TestNamePatterns(t *testing.T) {
	segment := regexp.MustCompile(`^_?[a-z][a-z0-9_-]{0,62}$`)
	param := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	uuid := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	const alphabet = "a`z{A@Z[_-09/fgFGé"
	in := []string{""}
	level := []string{""}
	for n := 0; n < 3; n++ {
		var next []string
		for _, p := range level {
			for _, r := range alphabet {
				next = append(next, p+string(r))
			}
		}
		in = append(in, next...)
		level = next
	}
	for _, n := range []int{62, 63, 64} {
		in = append(in, "a"+strings.Repeat("b", n-1), "_a"+strings.Repeat("b", n-1), "A"+strings.Repeat("_", n-1))
	}
	u := "123e4567-e89b-12d3-a456-426614174000"
	in = append(in, u, strings.ToUpper(u), u+"\n", u[:35], u+"0", strings.ReplaceAll(u, "-", "0"), "g"+u[1:], u[:8]+"x"+u[9:], "{"+u[:35])
	for _, s := range in {
		if got, want := isSegment(s), segment.MatchString(s); got != want {
			t.Errorf("isSegment(%q) = %v, want %v", s, got, want)
		}
		if got, want := isParam(s), param.MatchString(s); got != want {
			t.Errorf("isParam(%q) = %v, want %v", s, got, want)
		}
		if got, want := IsUUID(s), uuid.MatchString(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
