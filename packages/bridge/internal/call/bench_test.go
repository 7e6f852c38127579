package call

import (
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// BenchmarkPipeline measures /call without the database or HTTP: body
// decoding (§4.2 step 1), API key parsing and verification against the
// bundle (steps 2–3), authorization and params to SQL text (steps 5–6).
// Target (issue #4): ≤ 10 µs and ≤ 40 allocations per call.
func BenchmarkPipeline(b *testing.B) {
	keyID, secret, key, err := apikey.Generate()
	if err != nil {
		b.Fatal(err)
	}
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  items:\n    select: [reader]\n"))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	snap := schema.Snapshot{ID: "snap_1", Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{{
		Name: "items", PrimaryKey: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: schema.Bigint, DBType: "bigint"}, {Name: "name", Type: schema.Text, DBType: "text"},
			{Name: "qty", Type: schema.Integer, DBType: "integer", Nullable: true}},
	}}}
	env, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Release:     &bundle.Release{ID: "rel_1", Snapshots: map[string]schema.Snapshot{"main": snap}, Permissions: *doc},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres, URL: "postgres://x@127.0.0.1/db"}},
		APIKeys:     []bundle.APIKey{{KeyID: keyID, Roles: []string{"reader"}, Hash: apikey.Hash(secret), Status: bundle.KeyActive}},
	}, plan.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`)
	now := time.Now()
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
}
