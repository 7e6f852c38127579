package requestid

import (
	"context"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/ids"
)

func TestAccept(t *testing.T) {
	if got := Accept("trace-42"); got != "trace-42" {
		t.Fatalf("kept %q", got)
	}
	for _, bad := range []string{"", strings.Repeat("x", 129), "a\tb", "é"} {
		if got := Accept(bad); !ids.Valid(ids.Request, got) {
			t.Fatalf("Accept(%q) = %q, want a new req_ id", bad, got)
		}
	}
	a, b := New(), New()
	if a == b || !ids.Valid(ids.Request, a) {
		t.Fatalf("%s %s", a, b)
	}
	if From(With(context.Background(), a)) != a || From(context.Background()) != "" {
		t.Fatal("context round trip")
	}
}
