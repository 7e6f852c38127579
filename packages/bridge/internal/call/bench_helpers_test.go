package call

import (
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/schema"
)

// The columns of the items table the pipeline benchmarks plan against.
var (
	colID    = schema.Column{Name: "id", Type: schema.Bigint, DBType: "bigint"}
	colName  = schema.Column{Name: "name", Type: schema.Text, DBType: "text"}
	colOwner = schema.Column{Name: "owner_id", Type: schema.Text, DBType: "text"}
	colQty   = schema.Column{Name: "qty", Type: schema.Integer, DBType: "integer", Nullable: true}
)

// benchItems is a PostgreSQL snapshot of one table, items, keyed by id.
func benchItems(cols ...schema.Column) *schema.Snapshot {
	return &schema.Snapshot{ID: "snap_1", Connection: "main", Engine: schema.EnginePostgres, Tables: []schema.Table{{
		Name: "items", PrimaryKey: []string{"id"}, Columns: append([]schema.Column{colID}, cols...)}}}
}

// benchEnv compiles a bundle of snap, doc, auth and logics with one active
// API key of role reader, and returns the env and that key.
func benchEnv(tb testing.TB, snap *schema.Snapshot, doc *permissions.Document, auth *authconfig.Document, logics ...logic.Logic) (*plan.Env, string) {
	tb.Helper()
	keyID, secret, key, err := apikey.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	env, err := plan.Compile(&bundle.Bundle{Project: "p", Env: "e", Revision: 1,
		Release:     &bundle.Release{ID: "rel_1", Snapshots: map[string]schema.Snapshot{"main": *snap}, Permissions: *doc, Auth: auth, Logics: logics},
		Connections: []bundle.Connection{{Name: "main", Engine: schema.EnginePostgres, URL: "postgres://x@127.0.0.1/db"}},
		APIKeys:     []bundle.APIKey{{KeyID: keyID, Roles: []string{"reader"}, Hash: apikey.Hash(secret), Status: bundle.KeyActive}},
	}, plan.DefaultLimits())
	if err != nil {
		tb.Fatal(err)
	}
	return env, key
}

// benchAPIKeyCalls runs body through what the Bridge does for an API-key
// caller before the database: decode, key parse and check, plan.
func benchAPIKeyCalls(b *testing.B, env *plan.Env, key string, body []byte) {
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
