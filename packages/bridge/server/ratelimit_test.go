package server

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/bridge/internal/ratelimit"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// STK_RATE_LIMIT through the real Bridge HTTP and a real Hub (SPEC §4.6,
// §3; decision 0032): each verified API key has its own bucket; over it,
// 429 TOO_MANY_REQUESTS with Retry-After, in the §3 envelope, before the
// release and authorization checks; a forged secret for a real keyId is
// 401 and spends nothing of that key's budget; anonymous calls are not
// counted.
func TestRateLimitPerAPIKey(t *testing.T) {
	s := newStack(t, func(c *Config) {
		// One request an hour after a burst of 3: nothing refills during
		// the test.
		c.RateLimit, c.RateLimitOn = ratelimit.Rule{Rate: 1.0 / 3600, Burst: 3}, true
	})
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	admin, reader, readerID := s.setup(db)
	sel := map[string]any{"path": "db/main/users/select"}

	for range 3 {
		expect(t, s.call(key(reader), sel), 200, "", "")
	}
	r := s.call(key(reader), sel)
	expect(t, r, 429, "TOO_MANY_REQUESTS", "rate limit exceeded for API key "+readerID)
	if ra := r.header.Get("Retry-After"); ra != "3600" {
		t.Fatalf("Retry-After %q, want 3600 (one token an hour)", ra)
	}
	// The limit applies once the key is verified, before steps 4–6: an
	// unknown table is 429 too, not 404.
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/nope/select"}), 429, "TOO_MANY_REQUESTS", "")

	// A forged secret for the admin's keyId: 401, and the admin's budget
	// is intact afterwards.
	forged := admin[:len(admin)-43] + strings.Repeat("b", 43)
	for range 10 {
		expect(t, s.call(key(forged), sel), 401, "UNAUTHORIZED", "invalid API key")
	}
	for range 3 {
		expect(t, s.call(key(admin), sel), 200, "", "")
	}
	expect(t, s.call(key(admin), sel), 429, "TOO_MANY_REQUESTS", "")

	// Anonymous callers have no credential to count by.
	for range 5 {
		expect(t, s.call(anon("demo", "dev"), map[string]any{"path": "db/main/notes/select"}), 200, "", "")
	}
	if logs := s.logs.String(); !strings.Contains(logs, `"rateLimit":"0.0002777777777777778/s,burst=3"`) || !strings.Contains(logs, `"status":429`) {
		t.Fatalf("the start-up config or the access log lacks the rate limit:\n%s", logs)
	}
}

// End users are counted by env, issuer and sub: two users of one issuer
// have their own budgets, and a token refreshed for the same sub shares
// its user's.
func TestRateLimitPerEndUser(t *testing.T) {
	iss, err := devissuer.Start(devissuer.Options{Audience: "demo-api"})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	s := &stack{t: t}
	s.hubURL, s.hubToken = startHub(t)
	proxied := authProxy(t, s.hubURL, map[string]*authconfig.Document{
		"dev": {Version: 1, Issuers: []authconfig.Issuer{{Name: "devidp", Issuer: iss.URL(), Audience: "demo-api"}}},
	})
	cfg := testConfig(proxied)
	cfg.RateLimit, cfg.RateLimitOn = ratelimit.Rule{Rate: 1.0 / 3600, Burst: 2}, true
	s.bridge, s.bridgeURL, s.logs = startBridge(t, cfg)
	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	s.hub("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}, 201, nil)
	s.hub("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}, 201, nil)
	s.hub("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{URL: db}, 201, nil)
	s.hub("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil, 201, nil)
	s.hub("PUT", "/v1/projects/demo/envs/dev/permissions", endUserPerms, 201, nil)
	s.hub("POST", "/v1/projects/demo/envs/dev/releases", hubapi.CreateRelease{Ref: "r1"}, 201, nil)

	mint := func(sub string, ttl time.Duration) string {
		tok, err := iss.Mint(sub, nil, nil, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	sel := map[string]any{"path": "db/main/notes/select"}
	alice, alice2, bob := mint("alice", time.Hour), mint("alice", 2*time.Hour), mint("bob", time.Hour)
	expect(t, s.call(bearer("demo", "dev", alice), sel), 200, "", "")
	expect(t, s.call(bearer("demo", "dev", alice2), sel), 200, "", "")
	expect(t, s.call(bearer("demo", "dev", alice), sel), 429, "TOO_MANY_REQUESTS", "rate limit exceeded for end user alice")
	expect(t, s.call(bearer("demo", "dev", bob), sel), 200, "", "")
	// A token that does not verify is 401 and spends nothing.
	expect(t, s.call(bearer("demo", "dev", bob+"x"), sel), 401, "UNAUTHORIZED", "")
	expect(t, s.call(bearer("demo", "dev", bob), sel), 200, "", "")
	expect(t, s.call(bearer("demo", "dev", bob), sel), 429, "TOO_MANY_REQUESTS", "")
}

// A malformed STK_RATE_LIMIT stops the Bridge with a message naming it.
func TestRateLimitConfig(t *testing.T) {
	env := map[string]string{"STK_BRIDGE_TOKEN": "t", "STK_RATE_LIMIT": "100/sec"}
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `STK_RATE_LIMIT "100/sec"`) {
		t.Fatalf("want an error naming STK_RATE_LIMIT, got %v", err)
	}
	env["STK_RATE_LIMIT"] = "100/s,burst=200"
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || !c.RateLimitOn || c.RateLimit.Rate != 100 || c.RateLimit.Burst != 200 {
		t.Fatalf("%+v %v", c.RateLimit, err)
	}
	env["STK_RATE_LIMIT"] = ""
	if c, err := ConfigFromEnv(func(k string) string { return env[k] }); err != nil || c.RateLimitOn {
		t.Fatalf("off by default: %+v %v", c.RateLimit, err)
	}
}
