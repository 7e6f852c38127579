package plan

import (
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// TestConditionDoesNotFitSnapshot: a rule whose condition has no tree, or
// a tree that does not fit the release's snapshot (a column it lacks, a
// literal that is no value of the column), is never skipped: matching it
// answers 500.
func TestConditionDoesNotFitSnapshot(t *testing.T) {
	column := func(name string) predicate.Node { return predicate.Node{Op: predicate.Column, Name: name} }
	good := &predicate.Node{Op: predicate.Eq, Args: []predicate.Node{column("title"), {Op: predicate.Lit, Value: []byte(`"a"`)}}}
	snap := schema.Snapshot{Connection: "main", Engine: schema.EnginePostgres, Tables: schema.Normalize([]schema.Table{{
		Name: "docs", PrimaryKey: []string{"id"},
		Columns: []schema.Column{col("id", schema.Bigint, "bigint", false), col("title", schema.Text, "text", false), col("level", schema.Integer, "integer", true)},
	}})}
	doc := permissions.Document{Version: 1, Tables: []permissions.Table{{Key: "docs", Connection: "main", Name: "docs",
		Ops: map[permissions.Op][]permissions.Rule{"select": {{Roles: []string{"editor"}, Condition: "x", Cond: good}}}}}}
	e, err := Compile(&bundle.Bundle{Project: "p", Env: "dev", Release: &bundle.Release{ID: "r", Snapshots: map[string]schema.Snapshot{"main": snap}, Permissions: doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres}}}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	apiEditor := Caller{KeyID: keyReader, Roles: []string{"editor"}}
	te := e.conns["main"].tables["docs"]
	if r := te.ops[0][0]; r.cond == nil || r.unsupported {
		t.Fatal("compiled condition expected")
	}
	if p, err := e.Plan(apiEditor, mustTarget(t, "db/main/docs/select"), nil); err != nil || p.Args[0] != "a" {
		t.Fatalf("good condition: %v %v", p, err)
	}
	for name, r := range map[string]permissions.Rule{
		"text only":     {Roles: []string{"editor"}, Condition: `resource.org == "a"`},
		"gone column":   {Roles: []string{"editor"}, Condition: "x", Cond: &predicate.Node{Op: predicate.Eq, Args: []predicate.Node{column("gone"), {Op: predicate.Lit, Value: []byte(`"a"`)}}}},
		"bad literal":   {Roles: []string{"editor"}, Condition: "x", Cond: &predicate.Node{Op: predicate.Eq, Args: []predicate.Node{column("level"), {Op: predicate.Lit, Value: []byte(`"a"`)}}}},
		"bad shape":     {Roles: []string{"editor"}, Check: "x", CheckPred: &predicate.Node{Op: predicate.Eq}},
		"check no tree": {Roles: []string{"editor"}, Check: "x"},
	} {
		te.ops[0] = []*rule{te.compileRule(&r)}
		if _, err := e.Plan(apiEditor, mustTarget(t, "db/main/docs/select"), nil); code(t, err) != apierr.Internal {
			t.Errorf("%s: %v", name, err)
		}
	}
}
