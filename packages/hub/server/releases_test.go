package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
)

const permsV1 = `version: 1
tables:
  _default:
    select: [reader, admin]
  users:
    select:
      - roles: [admin]
      - roles: [reader]
        columns: [id, email]
    insert: [admin]
`

const permsV2 = permsV1 + `    delete: [admin]
`

// bootstrap makes project demo with envs dev and prod, each with a
// connection main to its own database, and snapshots dev.
func bootstrap(t *testing.T, h *hub) (devDB, prodDB string) {
	t.Helper()
	devDB, prodDB = dataDB(t), dataDB(t)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	for env, db := range map[string]string{"dev": devDB, "prod": prodDB} {
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: env}), 201, "", nil)
		h.expect(h.do("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: db}), 201, "", nil)
	}
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil), 201, "", nil)
	return devDB, prodDB
}

func (h *hub) apply(env, yaml string) reply {
	h.t.Helper()
	return h.doH("PUT", "/v1/projects/demo/envs/"+env+"/permissions", yaml, map[string]string{"Content-Type": "application/yaml"})
}

func (h *hub) release(env, ref string, status int) hubapi.Release {
	h.t.Helper()
	var rel hubapi.Release
	h.expect(h.do("POST", "/v1/projects/demo/envs/"+env+"/releases", hubapi.CreateRelease{Ref: ref}), status, "", &rel)
	return rel
}

func execSQL(t *testing.T, dbURL, sql string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// The whole SPEC §9 flow against the Hub API.
func TestReleaseFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		_, prodDB := bootstrap(t, h)
		base := "/v1/projects/demo/envs/dev"

		// Nothing staged: no permissions yet.
		h.expect(h.do("POST", base+"/releases", hubapi.CreateRelease{Ref: "a1"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("GET", base+"/releases/current", nil), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", base+"/permissions", nil), 404, apierr.NotFound, nil)

		var perms hubapi.Permissions
		h.expect(h.apply("dev", permsV1), 201, "", &perms)
		if !strings.HasPrefix(perms.ID, "perm_") {
			t.Fatalf("permissions %+v", perms)
		}
		var same hubapi.Permissions
		h.expect(h.apply("dev", permsV1), 200, "", &same)
		if !same.Reused || same.ID != perms.ID {
			t.Fatalf("re-apply of the same text: %+v", same)
		}
		h.expect(h.do("GET", base+"/permissions", nil), 200, "", &same)
		if same.Source != permsV1 {
			t.Fatalf("source %q", same.Source)
		}

		r1 := h.release("dev", "a1", 201)
		if !strings.HasPrefix(r1.ID, "rel_") || r1.Reused || !r1.Current || r1.Ref != "a1" || r1.Snapshots["main"] == "" {
			t.Fatalf("release %+v", r1)
		}
		// Same content and ref: reused.
		again := h.release("dev", "a1", 200)
		if !again.Reused || again.ID != r1.ID {
			t.Fatalf("not reused: %+v", again)
		}
		// Same content, another ref: a new release.
		r1b := h.release("dev", "a2", 201)
		if r1b.ID == r1.ID || r1b.Hash != r1.Hash {
			t.Fatalf("new ref: %+v", r1b)
		}
		// A change: new permissions → new content.
		h.expect(h.apply("dev", permsV2), 201, "", nil)
		r2 := h.release("dev", "b1", 201)
		if r2.Hash == r1.Hash {
			t.Fatal("changed permissions kept the content hash")
		}
		var show hubapi.Release
		h.expect(h.do("GET", base+"/releases/"+r2.ID, nil), 200, "", &show)
		if len(show.Exposes) != 1 || show.Exposes[0].Table != "users" || len(show.Exposes[0].Columns) != 3 {
			t.Fatalf("exposes %+v", show.Exposes)
		}
		var list hubapi.List[hubapi.Release]
		h.expect(h.do("GET", base+"/releases", nil), 200, "", &list)
		if len(list.Items) != 3 || list.Items[0].ID != r2.ID || !list.Items[0].Current || list.Items[2].Current {
			t.Fatalf("list %+v", list.Items)
		}

		// Rollback within the env.
		var rb hubapi.Release
		h.expect(h.do("POST", base+"/releases/rollback", hubapi.Rollback{To: r1.ID}), 200, "", &rb)
		var cur hubapi.Release
		h.expect(h.do("GET", base+"/releases/current", nil), 200, "", &cur)
		if cur.ID != r1.ID {
			t.Fatalf("current after rollback %s, want %s", cur.ID, r1.ID)
		}
		h.expect(h.do("POST", base+"/releases/rollback", hubapi.Rollback{To: "rel_01ARZ3NDEKTSV4RRFFQ69G5FAV"}), 404, apierr.NotFound, nil)
		h.expect(h.do("POST", base+"/releases/rollback", hubapi.Rollback{To: "nope"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("POST", base+"/releases/rollback", `{}`), 400, apierr.BadRequest, nil)

		// Promote dev's current (r1) to prod: prod's database has the table.
		var pr hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 201, "", &pr)
		if pr.Env != "prod" || pr.PromotedFrom != r1.ID || pr.Hash != r1.Hash || pr.Ref != "a1" {
			t.Fatalf("promoted %+v", pr)
		}
		// Rollback to another env's release: 409.
		h.expect(h.do("POST", "/v1/projects/demo/envs/prod/releases/rollback", hubapi.Rollback{To: r2.ID}), 409, apierr.Conflict, nil)

		// Drift: prod loses a column the release exposes.
		execSQL(t, prodDB, "ALTER TABLE users DROP COLUMN email")
		r := h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", ReleaseID: r2.ID})
		h.expect(r, 409, apierr.SchemaDrift, nil)
		var body struct {
			Error struct {
				Details struct {
					Missing []apierr.Missing `json:"missing"`
				} `json:"details"`
			} `json:"error"`
		}
		_ = json.Unmarshal(r.body, &body)
		if m := body.Error.Details.Missing; len(m) != 1 || m[0].Table != "users" || m[0].Column != "email" || m[0].Connection != "main" {
			t.Fatalf("missing %+v", m)
		}
		// A changed type is drift too.
		execSQL(t, prodDB, "ALTER TABLE users ADD COLUMN email integer")
		r = h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", Ref: "b1"})
		h.expect(r, 409, apierr.SchemaDrift, nil)
		if !strings.Contains(string(r.body), "type changed from text to integer") {
			t.Fatalf("drift body %s", r.body)
		}
		// --force promotes anyway.
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", Ref: "b1", Force: true}), 201, "", &pr)
		if pr.PromotedFrom != r2.ID {
			t.Fatalf("forced promotion %+v", pr)
		}
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", Ref: "zzz"}), 404, apierr.NotFound, nil)
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "dev"}), 400, apierr.BadRequest, nil)
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "nope"}), 404, apierr.NotFound, nil)

		// Every mutation is an audit event, newest first.
		var events hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=200", nil), 200, "", &events)
		actions := map[string]int{}
		for _, e := range events.Items {
			actions[e.Action]++
			if e.Actor == "" || e.Outcome != "success" || e.RequestID == "" || !strings.HasPrefix(e.ID, "evt_") {
				t.Fatalf("event %+v", e)
			}
		}
		for action, n := range map[string]int{"project.create": 1, "env.create": 2, "connection.set": 2,
			"permissions.apply": 2, "release.create": 3, "release.rollback": 1, "release.promote": 2, "schema.snapshot": 1} {
			if actions[action] != n {
				t.Errorf("%d %s events, want %d (all: %v)", actions[action], action, n, actions)
			}
		}
		var page hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=2", nil), 200, "", &page)
		if len(page.Items) != 2 || page.NextCursor != page.Items[1].ID {
			t.Fatalf("page %+v", page)
		}
		var next hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=2&before="+page.NextCursor, nil), 200, "", &next)
		if len(next.Items) != 2 || next.Items[0].ID >= page.Items[1].ID {
			t.Fatalf("next page %+v", next)
		}
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=0", nil), 400, apierr.BadRequest, nil)
		h.expect(h.do("GET", "/v1/audit", nil), 200, "", nil)
	})
}

func TestPermissionsAndReleaseFailures(t *testing.T) {
	h := startHub(t, "sqlite")
	devDB, _ := bootstrap(t, h)
	// Invalid permissions: every problem with its line.
	bad := "version: 1\ntables:\n  nope:\n    select: [reader]\n  users:\n    select:\n      - roles: [Bad Role]\n        columns: [id, ghost]\n"
	r := h.apply("dev", bad)
	h.expect(r, 400, apierr.SchemaValidationFailed, nil)
	var body struct {
		Error struct {
			Details struct {
				Problems []apierr.Problem `json:"problems"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	if len(body.Error.Details.Problems) == 0 {
		t.Fatalf("no problems listed: %s", r.body)
	}
	for _, p := range body.Error.Details.Problems {
		if p.Line == 0 {
			t.Errorf("problem without a line: %+v", p)
		}
	}
	h.expect(h.apply("dev", "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n        condition: \"resource.nope == 1\"\n"), 400, apierr.SchemaValidationFailed, nil)
	h.expect(h.apply("dev", ""), 400, apierr.BadRequest, nil)
	h.expect(h.apply("dev", "{{{"), 400, apierr.SchemaValidationFailed, nil)
	// Nothing staged in prod (no snapshot, no permissions).
	h.expect(h.do("POST", "/v1/projects/demo/envs/prod/releases", nil), 400, apierr.BadRequest, nil)
	// Permissions validated when applied can stop validating at release
	// time, once a new snapshot drops the column they name.
	h.expect(h.apply("dev", permsV1), 201, "", nil)
	execSQL(t, devDB, "ALTER TABLE users DROP COLUMN email")
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/releases", nil), 400, apierr.SchemaValidationFailed, nil)
	h.expect(h.do("GET", "/v1/projects/demo/envs/dev/releases/current", nil), 404, apierr.NotFound, nil)
}

// Promotion into an env that lacks the connection is drift.
func TestPromoteMissingConnection(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "stg"}), 201, "", nil)
	h.expect(h.apply("dev", permsV1), 201, "", nil)
	h.release("dev", "", 201)
	r := h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "stg"})
	h.expect(r, 409, apierr.SchemaDrift, nil)
	if !strings.Contains(string(r.body), "connection main does not exist in demo/stg") {
		t.Fatalf("body %s", r.body)
	}
}

func TestAPIKeys(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	base := "/v1/projects/demo/envs/dev/apikeys"
	var k hubapi.CreatedAPIKey
	h.expect(h.do("POST", base, hubapi.CreateAPIKey{Name: "server", Roles: []string{"writer", "reader", "reader"}}), 201, "", &k)
	if !strings.HasPrefix(k.Key, "stk_"+k.KeyID+"_") || k.Status != "active" || len(k.Roles) != 2 {
		t.Fatalf("key %+v", k)
	}
	secret := strings.TrimPrefix(k.Key, "stk_"+k.KeyID+"_")
	exp := time.Now().Add(48 * time.Hour).UTC()
	h.expect(h.do("POST", base, hubapi.CreateAPIKey{Name: "ci", Roles: []string{"reader"}, ExpiresAt: &exp}), 201, "", nil)
	past := time.Now().Add(-time.Hour)
	for _, bad := range []hubapi.CreateAPIKey{
		{Name: "x", Roles: []string{"public"}}, {Name: "x", Roles: []string{"authenticated"}},
		{Name: "x"}, {Name: "X", Roles: []string{"a"}}, {Name: "x", Roles: []string{"Bad"}},
		{Name: "x", Roles: []string{"a"}, ExpiresAt: &past},
	} {
		h.expect(h.do("POST", base, bad), 400, apierr.BadRequest, nil)
	}
	var list hubapi.List[hubapi.APIKey]
	r := h.do("GET", base, nil)
	h.expect(r, 200, "", &list)
	if len(list.Items) != 2 || list.Items[0].Name != "ci" || list.Items[0].ExpiresAt == nil {
		t.Fatalf("list %+v", list.Items)
	}
	var revoked hubapi.APIKey
	h.expect(h.do("DELETE", base+"/"+k.KeyID, nil), 200, "", &revoked)
	if revoked.Status != "revoked" || revoked.RevokedAt == nil {
		t.Fatalf("revoked %+v", revoked)
	}
	h.expect(h.do("DELETE", base+"/"+k.KeyID, nil), 200, "", &revoked)
	h.expect(h.do("DELETE", "/v1/projects/demo/envs/prod/apikeys/"+k.KeyID, nil), 404, apierr.NotFound, nil)
	h.expect(h.do("DELETE", base+"/key_nope", nil), 400, apierr.BadRequest, nil)

	var loc hubapi.APIKeyLocation
	h.expect(h.doH("GET", "/internal/v1/apikeys/"+k.KeyID, nil, map[string]string{"Authorization": "Bearer " + bridgeToken}), 200, "", &loc)
	if loc.Project != "demo" || loc.Env != "dev" {
		t.Fatalf("location %+v", loc)
	}
	h.expect(h.doH("GET", "/internal/v1/apikeys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV", nil, map[string]string{"Authorization": "Bearer " + bridgeToken}), 404, apierr.NotFound, nil)

	// The secret is nowhere after creation: lists, bundles, audit, logs, store.
	everything := string(r.body)
	for _, path := range []string{base, "/v1/projects/demo/audit"} {
		everything += string(h.do("GET", path, nil).body)
	}
	everything += string(h.doH("GET", "/internal/v1/envs/demo/dev/bundle", nil, map[string]string{"Authorization": "Bearer " + bridgeToken}).body)
	everything += h.logs.String()
	if strings.Contains(everything, secret) {
		t.Fatal("the API key secret was shown after creation")
	}
	h.assertAbsent(secret)
}

func TestBundle(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	auth := map[string]string{"Authorization": "Bearer " + bridgeToken}
	path := "/internal/v1/envs/demo/dev/bundle"
	// Always behind the bridge token, although operator auth is off.
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer nope"}, {"Authorization": bridgeToken}} {
		h.expect(h.doH("GET", path, nil, hdr), 401, apierr.Unauthorized, nil)
	}
	h.expect(h.doH("GET", "/internal/v1/envs/demo/nope/bundle", nil, auth), 404, apierr.NotFound, nil)
	h.expect(h.doH("GET", path+"?wait=forever", nil, auth), 400, apierr.BadRequest, nil)
	// Token rotation: either configured token works.
	h.expect(h.doH("GET", path, nil, map[string]string{"Authorization": "Bearer old-bridge-token"}), 200, "", nil)

	var b bundle.Bundle
	r := h.doH("GET", path, nil, auth)
	h.expect(r, 200, "", &b)
	if b.Release != nil || len(b.Connections) != 1 || !strings.Contains(b.Connections[0].URL, password) {
		t.Fatalf("bundle before any release: %+v", b)
	}
	if r.header.Get("ETag") != fmt.Sprintf(`"%d"`, b.Revision) {
		t.Fatalf("ETag %q for revision %d", r.header.Get("ETag"), b.Revision)
	}
	etag := r.header.Get("ETag")
	// No change: 304 after the wait, same ETag.
	start := time.Now()
	r = h.doH("GET", path+"?wait=300ms", nil, map[string]string{"Authorization": "Bearer " + bridgeToken, "If-None-Match": etag})
	if r.status != 304 || r.header.Get("ETag") != etag || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("long poll without change: %d %q after %v", r.status, r.header.Get("ETag"), time.Since(start))
	}

	var k hubapi.CreatedAPIKey
	h.expect(h.apply("dev", permsV1), 201, "", nil)
	var rel hubapi.Release
	changes := []struct {
		name   string
		change func()
		wakes  bool
	}{
		{"permissions apply", func() { h.expect(h.apply("dev", permsV2), 201, "", nil) }, false},
		{"schema snapshot", func() { h.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil) }, false},
		{"release create", func() { rel = h.release("dev", "r1", 201) }, true},
		{"second release", func() { h.release("dev", "r2", 201) }, true},
		{"rollback", func() {
			h.expect(h.do("POST", "/v1/projects/demo/envs/dev/releases/rollback", hubapi.Rollback{To: rel.ID}), 200, "", nil)
		}, true},
		{"key create", func() {
			h.expect(h.do("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "s", Roles: []string{"reader"}}), 201, "", &k)
		}, true},
		{"key revoke", func() { h.expect(h.do("DELETE", "/v1/projects/demo/envs/dev/apikeys/"+k.KeyID, nil), 200, "", nil) }, true},
		{"connection set", func() {
			h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{URL: dataDB(t)}), 200, "", nil)
		}, true},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			wait := "2s"
			if c.wakes {
				wait = "30s" // a wake must come from the change, not the timeout
			}
			done := make(chan reply, 1)
			go func() {
				done <- h.doH("GET", path+"?wait="+wait, nil, map[string]string{"Authorization": "Bearer " + bridgeToken, "If-None-Match": etag})
			}()
			time.Sleep(100 * time.Millisecond) // let the poll start waiting
			c.change()
			var got reply
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("long poll did not answer")
			}
			if !c.wakes {
				if got.status != 304 {
					t.Fatalf("%s woke the poll: %d", c.name, got.status)
				}
				return
			}
			if got.status != 200 || got.header.Get("ETag") == etag {
				t.Fatalf("%s: status %d ETag %q (was %q)", c.name, got.status, got.header.Get("ETag"), etag)
			}
			var nb bundle.Bundle
			if err := json.Unmarshal(got.body, &nb); err != nil {
				t.Fatal(err)
			}
			if nb.Revision != b.Revision+1 {
				t.Fatalf("revision %d after one change from %d", nb.Revision, b.Revision)
			}
			b, etag = nb, got.header.Get("ETag")
		})
	}
	if b.Release == nil || b.Release.ID != rel.ID || len(b.APIKeys) != 1 || b.APIKeys[0].Status != "revoked" ||
		b.APIKeys[0].Hash == "" || b.Release.Snapshots["main"].ID == "" || len(b.Release.Permissions.Tables) == 0 {
		t.Fatalf("final bundle: %+v", b)
	}
}

// assertAbsent fails when s appears in the Hub's logs or store files.
func (h *hub) assertAbsent(s string) {
	h.t.Helper()
	if strings.Contains(h.logs.String(), s) {
		h.t.Fatal("secret in the Hub's logs")
	}
	h.assertStoreLacks(s)
}
