package condition

import (
	"encoding/json"
	"testing"

	"github.com/santokit/santokit/packages/core/predicate"
)

// FuzzCompile checks that the compiler never panics on any text, that a
// refusal always says why, and that what it accepts is a valid tree that
// survives the release bundle's JSON and names only real columns. Seeds
// live in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`resource.author_id == request.auth.sub`,
		`"admin" in request.auth.roles || resource.published`,
		`!(resource.id in [1, 2]) && resource.org != null`,
		`request.auth.claims["org"] == resource.org`,
		`resource.score >= 1.5 || resource.price < 2.0`,
	} {
		f.Add(s)
	}
	t0 := postsTable()
	c := NewCompiler()
	f.Fuzz(func(t *testing.T, src string) {
		n, probs := c.Compile(src, t0)
		if n == nil {
			if len(probs) == 0 {
				t.Fatal("refused without a problem")
			}
			for _, p := range probs {
				if p.Message == "" {
					t.Fatalf("problem without message: %+v", p)
				}
			}
			return
		}
		if len(probs) > 0 {
			t.Fatalf("a tree and problems: %v", probs)
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("invalid tree for %q: %v", src, err)
		}
		for _, col := range n.Columns() {
			if _, ok := t0.Column(col); !ok {
				t.Fatalf("unknown column %q accepted", col)
			}
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var back predicate.Node
		if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil {
			t.Fatalf("JSON round trip of %s: %v", b, err)
		}
	})
}
