package call

import (
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// BenchmarkPipelineCondition is BenchmarkPipeline with a row condition on
// the matched rule (SPEC §5.2): an API key whose condition mixes a role
// test and a column, and an end user (already verified) under an
// owner-style condition. The condition is compiled once, with the bundle.
func BenchmarkPipelineCondition(b *testing.B) {
	keyID, secret, key, err := apikey.Generate()
	if err != nil {
		b.Fatal(err)
	}
	snap := &schema.Snapshot{ID: "snap_1", Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{{
		Name: "items", PrimaryKey: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: schema.Bigint, DBType: "bigint"}, {Name: "name", Type: schema.Text, DBType: "text"},
			{Name: "qty", Type: schema.Integer, DBType: "integer", Nullable: true}},
	}}}
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
	env, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Release:     &bundle.Release{ID: "rel_1", Snapshots: map[string]schema.Snapshot{"main": *snap}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres, URL: "postgres://x@127.0.0.1/db"}},
		APIKeys:     []bundle.APIKey{{KeyID: keyID, Roles: []string{"reader"}, Hash: apikey.Hash(secret), Status: bundle.KeyActive}},
	}, plan.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`)
	now := time.Now()
	b.Run("apikey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			target, params, err := decodeRequest(body)
			if err != nil {
				b.Fatal(err)
			}
			id, sec, ok := apikey.Parse(key)
			if !ok {
				b.Fatal("key")
			}
			caller, err := env.Authenticate(id, sec, now)
			if err != nil {
				b.Fatal(err)
			}
			p, err := env.Plan(caller, target, params)
			if err != nil || p.SQL == "" {
				b.Fatal(err)
			}
		}
	})
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
