package names

import (
	"errors"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

func TestResource(t *testing.T) {
	long := "a" + strings.Repeat("b", 62)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"demo", true}, {"a", true}, {"my-app-2", true}, {long, true},
		{"", false}, {long + "c", false}, {"Demo", false}, {"1app", false}, {"-app", false},
		{"my_app", false}, {"my app", false}, {"app.", false}, {"ümlaut", false}, {"a/b", false},
		{"x'; DROP TABLE projects;--", false},
	} {
		err := Resource("project", tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Resource(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err == nil {
			continue
		}
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.BadRequest || !strings.Contains(e.Message, "project") {
			t.Errorf("Resource(%q) = %v: want BAD_REQUEST naming the field", tc.in, err)
		}
	}
}

func TestRole(t *testing.T) {
	for _, tc := range []struct {
		in     string
		forKey bool
		ok     bool
	}{
		{"reader", true, true}, {"read_only", true, true}, {"a-b_c", false, true},
		{"public", false, true}, {"authenticated", false, true},
		{"public", true, false}, {"authenticated", true, false},
		{"", false, false}, {"Admin", false, false}, {"_x", false, false}, {"9x", false, false},
		{"a" + strings.Repeat("b", 63), false, false},
	} {
		if err := Role("roles", tc.in, tc.forKey); (err == nil) != tc.ok {
			t.Errorf("Role(%q, forKey=%v) = %v, want ok=%v", tc.in, tc.forKey, err, tc.ok)
		}
	}
}

func TestEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ada@example.com":       "ada@example.com",
		"  Ada@Example.COM \n":  "ada@example.com",
		"d+x@sub.example.co.uk": "d+x@sub.example.co.uk",
	} {
		if got, err := Email("email", in); err != nil || got != want {
			t.Errorf("Email(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ada", "ada@", "@example.com", "Ada <ada@example.com>", "a b@example.com",
		strings.Repeat("a", 250) + "@example.com"} {
		_, err := Email("--email", bad)
		if e := apierr.As(err); err == nil || e.Code != apierr.BadRequest || !strings.Contains(e.Message, "--email") {
			t.Errorf("Email(%q): %v, want a BAD_REQUEST naming --email", bad, err)
		}
	}
}
