package call

import (
	"context"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/bridge/internal/enduser"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
)

// BenchmarkPipelineEndUser is BenchmarkPipeline for an end user: body
// decoding, the Bearer token verified from the token cache (SHA-256 of the
// token and a map lookup: the signature is checked once, before the loop)
// and the plan of a select on an owner-scoped table (SPEC §5.3), whose
// owner filter is added for the end user. Target (issue #12): ≤ 12 µs
// and ≤ 50 allocations per call.
func BenchmarkPipelineEndUser(b *testing.B) {
	iss, err := devissuer.Start(devissuer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	token, err := iss.Mint("user_01JD3W5Q8R", []string{"member"}, map[string]any{"org": "acme"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  items:\n    owner: owner_id\n    select: [authenticated]\n"))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	auth := &authconfig.Document{Version: 1, Issuers: []authconfig.Issuer{{Name: "dev", Issuer: iss.URL()}}}
	env, _ := benchEnv(b, benchItems(colName, colOwner, colQty), doc, auth)
	users := enduser.New(enduser.Config{})
	ctx := context.Background()
	if _, err := users.Verify(ctx, auth, token); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`)
	authz := "Bearer " + token
	b.ReportAllocs()
	for b.Loop() {
		target, params, err := decodeRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		tok, ok := cutBearer(authz)
		if !ok {
			b.Fatal("bearer")
		}
		id, err := users.Verify(ctx, auth, tok)
		if err != nil {
			b.Fatal(err)
		}
		p, err := env.Plan(plan.Caller{EndUser: true, Subject: id.Subject, Roles: id.Roles, Claims: id.Claims}, target, params)
		if err != nil || p.SQL == "" {
			b.Fatal(err)
		}
	}
}

// TestEndUserPlanIsOwnerScoped keeps the benchmark honest: the end user's
// plan carries the owner filter with the token's sub bound.
func TestEndUserPlanIsOwnerScoped(t *testing.T) {
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  items:\n    owner: owner_id\n    select: [authenticated]\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	env, _ := benchEnv(t, benchItems(colOwner), doc, nil)
	target, params, err := decodeRequest([]byte(`{"path":"db/main/items/select"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Plan(plan.Caller{EndUser: true, Subject: "alice", Roles: []string{"authenticated"}}, target, params)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range p.Args {
		found = found || a == "alice"
	}
	if !found {
		t.Fatalf("owner filter missing: %s %v", p.SQL, p.Args)
	}
	// An API key with the same roles matches no `authenticated` rule.
	if _, err := env.Plan(plan.Caller{KeyID: "key_x", Roles: []string{"authenticated"}}, target, params); err == nil {
		t.Fatal("an API key matched authenticated")
	}
}
