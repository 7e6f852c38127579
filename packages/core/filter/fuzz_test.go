package filter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// BAD_REQUEST *apierr.Error with one located problem, that a parsed tree is
// well formed and within its limits, that parsing is deterministic, and that
// a tree written back as a filter parses to the same tree. Seeds live in
// testdata/fuzz/FuzzParse (SQL-injection-looking names and values among
// them: they must parse as plain names and values).
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"status":"active","age":{"$gte":18,"$lt":65}}`))
	small := Limits{MaxDepth: 3, MaxLeaves: 4, MaxIn: 3}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lim := range []Limits{DefaultLimits(), small} {
			n, err := Parse(in, lim)
			if err != nil {
				if n != nil {
					t.Fatalf("tree returned with error %v", err)
				}
				problem(t, err)
				continue
			}
			checkTree(t, n, lim)
			again, err := Parse(in, lim)
			if err != nil || !reflect.DeepEqual(n, again) {
				t.Fatalf("second parse differs: %v\n%s\n%s", err, dump(n), dump(again))
			}
			if n == nil {
				continue
			}
			out, err := json.Marshal(render(n))
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			// Rendering spells every And as $and, so allow the extra depth.
			back, err := Parse(out, Limits{MaxDepth: 64, MaxLeaves: lim.MaxLeaves, MaxIn: lim.MaxIn})
			if err != nil {
				t.Fatalf("rendered tree %s does not parse: %v", out, err)
			}
			if !reflect.DeepEqual(n, back) {
				t.Fatalf("round trip changed the tree:\n%s\n%s", dump(n), dump(back))
			}
		}
	})
}

// checkTree asserts the invariants the planner relies on.
func checkTree(t testing.TB, root *Node, lim Limits) {
	t.Helper()
	if root == nil {
		return
	}
	// Each filter level adds at most two tree levels (an object's And and a
	// logical node); the last one at most three (And, a range's And, Cond).
	maxTree := 2*lim.MaxDepth + 1
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if n == nil {
			t.Fatalf("nil child in %s", dump(root))
		}
		if depth > maxTree {
			t.Fatalf("tree deeper than %d: %s", maxTree, dump(root))
		}
		switch n.Kind {
		case KindAnd, KindOr:
			if len(n.Children) == 0 {
				t.Fatalf("%s without children", n.Kind)
			}
		case KindNot:
			if len(n.Children) != 1 {
				t.Fatalf("not with %d children", len(n.Children))
			}
		case KindCond:
			checkCond(t, n, lim)
			if len(n.Children) != 0 {
				t.Fatal("cond with children")
			}
		default:
			t.Fatalf("bad kind %d", n.Kind)
		}
		if n.Kind != KindCond && (n.Column != "" || n.Op != "" || n.Value != nil) {
			t.Fatalf("%s node with cond fields: %s", n.Kind, dump(n))
		}
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(root, 1)
	if l := root.Leaves(); l < 1 || l > lim.MaxLeaves {
		t.Fatalf("%d leaves, limit %d", l, lim.MaxLeaves)
	}
	cols := root.Columns()
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			t.Fatalf("Columns() repeats %q", c)
		}
		seen[c] = true
	}
}

func checkCond(t testing.TB, n *Node, lim Limits) {
	t.Helper()
	if n.Column == "" || strings.HasPrefix(n.Column, "$") {
		t.Fatalf("bad column %q", n.Column)
	}
	scalar := func(v any) bool {
		switch v.(type) {
		case string, json.Number, bool:
			return true
		}
		return false
	}
	switch n.Op {
	case OpEq, OpNe:
		if n.Value == nil {
			t.Fatalf("%s null", n.Op)
		}
		checkJSON(t, n.Value)
	case OpGt, OpGte, OpLt, OpLte:
		if !scalar(n.Value) {
			t.Fatalf("%s with %T", n.Op, n.Value)
		}
	case OpIn, OpNin:
		vs, ok := n.Value.([]any)
		if !ok || vs == nil || len(vs) > lim.MaxIn {
			t.Fatalf("%s with %#v (limit %d)", n.Op, n.Value, lim.MaxIn)
		}
		for _, v := range vs {
			if !scalar(v) {
				t.Fatalf("%s element %T", n.Op, v)
			}
		}
	case OpLike, OpIlike:
		if _, ok := n.Value.(string); !ok {
			t.Fatalf("%s with %T", n.Op, n.Value)
		}
	case OpIsNull:
		if _, ok := n.Value.(bool); !ok {
			t.Fatalf("$isNull with %T", n.Value)
		}
	default:
		t.Fatalf("bad op %q", n.Op)
	}
}

// checkJSON asserts that v holds only the types of decoded JSON.
func checkJSON(t testing.TB, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil, string, json.Number, bool:
	case []any:
		for _, e := range v {
			checkJSON(t, e)
		}
	case map[string]any:
		for _, e := range v {
			checkJSON(t, e)
		}
	default:
		t.Fatalf("value of type %T", v)
	}
}

// render writes a tree back in the filter grammar, one node per object.
func render(n *Node) any {
	switch n.Kind {
	case KindCond:
		return map[string]any{n.Column: map[string]any{n.Op: n.Value}}
	case KindNot:
		return map[string]any{"$not": render(n.Children[0])}
	}
	kids := make([]any, len(n.Children))
	for i, c := range n.Children {
		kids[i] = render(c)
	}
	if n.Kind == KindOr {
		return map[string]any{"$or": kids}
	}
	return map[string]any{"$and": kids}
}

// dump renders a tree for failure messages and comparisons.
func dump(n *Node) string {
	b, err := json.Marshal(n)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// TestInjectionSeedsParse checks that the SQL-injection-looking seeds are
// accepted as plain column names and values, byte for byte.
func TestInjectionSeedsParse(t *testing.T) {
	for name, want := range map[string][]string{
		"sqli_column_names": {"name; DROP TABLE users; --", `"id" = 1 OR ""="`, "a') OR 1=1 --", `users"."password`, "col/**/UNION/**/SELECT"},
		"sqli_values":       {"name", "n", "r", "j"},
	} {
		in := readSeed(t, name)
		n, err := Parse(in, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := n.Columns(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Columns() = %q, want %q", name, got, want)
		}
		checkTree(t, n, DefaultLimits())
	}
	n, err := Parse(readSeed(t, "sqli_values"), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if v := n.Children[2].Value.([]any)[1]; v != "'; SELECT pg_sleep(10); --" {
		t.Errorf("value changed: %q", v)
	}
}

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzParse", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz seed", name)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(s)
}
