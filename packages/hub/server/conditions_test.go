package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/predicate"
)

// Conditions are compiled at apply (400 with positions when outside the
// subset), warned about when their columns have no index (SPEC §5.4), and
// served to Bridges as predicate trees frozen into the release (§5.2).
func TestConditionsApplyAndRelease(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	r := h.apply("dev", "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        condition: resource.active || resource.email.endsWith(\"x\")\n")
	h.expect(r, 400, apierr.SchemaValidationFailed, nil)
	var body struct {
		Error struct {
			Details struct {
				Problems []apierr.Problem `json:"problems"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Error.Details.Problems) != 1 {
		t.Fatalf("problems: %s", r.body)
	}
	if p := body.Error.Details.Problems[0]; p.Line != 6 || p.Column != 54 || p.Path != "tables.users.select[0].condition" ||
		!strings.Contains(p.Message, "endsWith() is not supported") {
		t.Errorf("problem %+v", p)
	}

	const perms = `version: 1
tables:
  users:
    select:
      - roles: [reader]
        condition: resource.active && resource.id > 0 && "reader" in request.auth.roles
    update:
      - roles: [reader]
        condition: resource.id == 1
        check: resource.active != false
`
	var staged hubapi.Permissions
	h.expect(h.apply("dev", perms), 201, "", &staged)
	if len(staged.Warnings) != 1 || staged.Warnings[0].Column != "active" || staged.Warnings[0].Table != "users" {
		t.Errorf("warnings %+v (only active has no leading index; id is the primary key)", staged.Warnings)
	}
	h.release("dev", "v1", 201)
	reply := h.doH("GET", "/internal/v1/envs/demo/dev/bundle", nil, map[string]string{"Authorization": "Bearer " + bridgeToken})
	var b bundle.Bundle
	h.expect(reply, 200, "", &b)
	users, ok := b.Release.Permissions.Table("main", "users")
	if !ok {
		t.Fatal("no users table in the bundle")
	}
	sel, upd := users.Ops["select"][0], users.Ops["update"][0]
	if sel.Cond == nil || sel.Cond.Op != predicate.And || len(sel.Cond.Args) != 3 || upd.Cond == nil || upd.CheckPred == nil || upd.CheckPred.Op != predicate.Ne {
		t.Errorf("bundle rules: %s", reply.body)
	}
}
