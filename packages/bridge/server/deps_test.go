package server

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCEL: conditions are compiled on the Hub; the Bridge only renders
// the predicate trees of the release (ARCHITECTURE §1), so neither it nor
// anything it imports links cel-go.
func TestNoCEL(t *testing.T) {
	// go test puts GOROOT/bin first on PATH.
	out, err := exec.Command("go", "list", "-deps", "github.com/santokit/santokit/packages/bridge/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/google/cel-go") || dep == "github.com/santokit/santokit/packages/core/condition" {
			t.Errorf("the Bridge links %s", dep)
		}
	}
	if !strings.Contains(string(out), "github.com/santokit/santokit/packages/core/predicate") {
		t.Error("go list output does not list the planner's predicate package: the check looks at the wrong thing")
	}
}
