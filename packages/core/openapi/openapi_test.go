package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/schema"
)

// TestReflection: schemas follow encoding/json — embedded structs
// flattened, omitempty/omitzero optional, pointers without omitempty
// nullable, generic lists named for their items, same-named types of two
// packages told apart.
func TestReflection(t *testing.T) {
	g := &generator{components: map[string]any{}, names: map[string]reflect.Type{}, done: map[reflect.Type]string{}}
	if got := g.schema(reflect.TypeFor[hubapi.List[hubapi.Snapshot]]()); got["$ref"] != "#/components/schemas/SnapshotList" {
		t.Fatalf("list ref %v", got)
	}
	snap := g.components["Snapshot"].(Schema)
	props := snap["properties"].(map[string]any)
	for _, f := range []string{"id", "connection", "tables", "reused", "project"} {
		if _, ok := props[f]; !ok {
			t.Errorf("Snapshot lacks %s (embedded schema.Snapshot not flattened?)", f)
		}
	}
	req := snap["required"].([]string)
	if !slices.Contains(req, "tables") || slices.Contains(req, "reused") || slices.Contains(req, "project") {
		t.Errorf("Snapshot required %v", req)
	}
	g.schema(reflect.TypeFor[schema.Column]())
	g.schema(reflect.TypeFor[struct {
		C hubapi.Connection `json:"c"`
	}]())
	if _, ok := g.components["Column"]; !ok {
		t.Error("no Column")
	}
	tok := g.schema(reflect.TypeFor[hubapi.Token]())
	if tok["$ref"] != "#/components/schemas/Token" {
		t.Fatalf("token %v", tok)
	}
	exp, _ := json.Marshal(g.components["Token"].(Schema)["properties"].(map[string]any)["expiresAt"])
	if string(exp) != `{"anyOf":[{"format":"date-time","type":"string"},{"type":"null"}]}` {
		t.Errorf("Token.expiresAt %s", exp)
	}
	type Column struct{ X int } // another package's name: this test's
	g.schema(reflect.TypeFor[Column]())
	if _, ok := g.components["OpenapiColumn"]; !ok {
		t.Errorf("a second Column is not told apart: %v", keys(g.components))
	}
	if s := g.schema(reflect.TypeFor[time.Duration]()); s["type"] != "integer" {
		t.Errorf("duration %v", s)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
