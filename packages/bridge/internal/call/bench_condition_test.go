package call

import (
	"testing"

	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// BenchmarkPipelineCondition is BenchmarkPipeline with a row condition on
// the matched rule (SPEC §5.2): an API key whose condition mixes a role
// test and a column, and an end user (already verified) under an
// owner-style condition. The condition is compiled once, with the bundle.
func BenchmarkPipelineCondition(b *testing.B) {
	snap := benchItems(colName, colQty)
	doc, problems := condition.Document([]byte(`version: 1
tables:
  items:
    select:
      - roles: [reader]
        condition: '"reader" in request.auth.roles && resource.qty > 0'
      - roles: [authenticated]
        condition: resource.name == request.auth.sub
`), map[string]*schema.Snapshot{"main": snap})
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	env, key := benchEnv(b, snap, doc, nil)
	body := []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`)
	b.Run("apikey", func(b *testing.B) { benchAPIKeyCalls(b, env, key, body) })
	b.Run("enduser", func(b *testing.B) {
		caller := plan.Caller{EndUser: true, Subject: "alice"}
		b.ReportAllocs()
		for b.Loop() {
			target, params, err := decodeRequest(body)
			if err != nil {
				b.Fatal(err)
			}
			p, err := env.Plan(caller, target, params)
			if err != nil || p.SQL == "" {
				b.Fatal(err)
			}
		}
	})
}
