package plan_test

import (
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// TestOwnerNumericSubjectIsCanonical: on a numeric owner column, only the
// canonical spelling of a subject owns rows. "07", "+7", "7.0" and "7e0"
// are other subjects at the issuer (sub is a case-sensitive string, OIDC
// Core §2), yet each converted to 7 and so owned user 7's rows (#12,
// SPEC §5.3).
func TestOwnerNumericSubjectIsCanonical(t *testing.T) {
	src := "version: 1\ntables:\n"
	for _, conn := range []string{"", "lite."} {
		src += "  " + conn + "docs:\n    owner: id\n    select: [authenticated]\n    update: [authenticated]\n    insert: [authenticated]\n"
	}
	snaps := map[string]*schema.Snapshot{
		"main": {Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{docsTable(schema.EnginePostgres)}},
		"lite": {Connection: "lite", Engine: schema.EngineSQLite, Tables: []schema.Table{docsTable(schema.EngineSQLite)}},
	}
	doc, problems := condition.Document([]byte(src), snaps)
	if len(problems) > 0 {
		t.Fatalf("permissions: %v", problems)
	}
	e, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "dev", Release: &bundle.Release{ID: "rel_1",
		Snapshots: map[string]schema.Snapshot{"main": *snaps["main"], "lite": *snaps["lite"]}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres}, {Name: "lite", Engine: schema.EngineSQLite}}}, plan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	user := func(sub string) plan.Caller {
		return plan.Caller{EndUser: true, Subject: sub, Roles: []string{"authenticated"}}
	}
	for _, conn := range []string{"main", "lite"} {
		for _, sub := range []string{"7", "-7", "0", "9223372036854775807"} {
			p, err := e.Plan(user(sub), mustTarget(t, "db/"+conn+"/docs/select"), nil)
			if err != nil || !strings.Contains(p.SQL, `"id" = `) {
				t.Errorf("[%s] subject %q: %v %v", conn, sub, p, err)
			}
		}
		for _, sub := range []string{"07", "+7", "7.0", "7e0", "70e-1", "-0", "00"} {
			for _, op := range []string{"select", "update", "insert"} {
				params := map[string]string{"select": ``, "update": `{"data":{"title":"x"},"where":{"title":"a"}}`,
					"insert": `{"data":{"owner_id":"o","published":true,"title":"t"}}`}[op]
				var body []byte
				if params != "" {
					body = []byte(params)
				}
				if _, err := e.Plan(user(sub), mustTarget(t, "db/"+conn+"/docs/"+op), body); err == nil || code(t, err) != apierr.Forbidden {
					t.Errorf("[%s] subject %q may %s the rows of another subject: %v", conn, sub, op, err)
				}
			}
		}
	}
}
