package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// POST /internal/v1/apikeys/usage records lastUsedAt (SPEC §7.2, §15):
// bridge token only, forward only, clamped to the Hub's clock, unknown keys
// ignored, and no revision bump (SPEC §8.1).
func TestAPIKeyUsage(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		var key hubapi.CreatedAPIKey
		h.expect(h.do("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "k", Roles: []string{"reader"}}), 201, "", &key)
		if key.LastUsedAt != nil {
			t.Fatalf("a new key has lastUsedAt %v", key.LastUsedAt)
		}
		rev := h.revision(t, "dev")
		bridge := map[string]string{"Authorization": "Bearer " + bridgeToken}
		report := func(uses ...hubapi.APIKeyUse) reply {
			return h.doH("POST", "/internal/v1/apikeys/usage", hubapi.APIKeyUsage{Keys: uses}, bridge)
		}
		lastUsed := func() *time.Time {
			var keys struct{ Items []hubapi.APIKey }
			h.expect(h.do("GET", "/v1/projects/demo/envs/dev/apikeys", nil), 200, "", &keys)
			if len(keys.Items) != 1 {
				t.Fatalf("%d keys listed", len(keys.Items))
			}
			return keys.Items[0].LastUsedAt
		}

		// An operator's token is not a bridge token.
		h.expect(h.do("POST", "/internal/v1/apikeys/usage", hubapi.APIKeyUsage{}), 401, apierr.Unauthorized, nil)

		at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
		var out hubapi.APIKeyUsageRecorded
		h.expect(report(hubapi.APIKeyUse{KeyID: key.KeyID, LastUsedAt: at},
			hubapi.APIKeyUse{KeyID: "key_01JD3W0000000000000000ZZZZ", LastUsedAt: at}), 200, "", &out)
		if out.Recorded != 1 {
			t.Errorf("recorded %d, want 1 (the unknown key is ignored)", out.Recorded)
		}
		if got := lastUsed(); got == nil || !got.Equal(at) {
			t.Fatalf("lastUsedAt = %v, want %v", got, at)
		}
		// An older report (another Bridge, late) does not move it back.
		h.expect(report(hubapi.APIKeyUse{KeyID: key.KeyID, LastUsedAt: at.Add(-time.Hour)}), 200, "", &out)
		if got := lastUsed(); out.Recorded != 0 || !got.Equal(at) {
			t.Fatalf("an older report moved lastUsedAt to %v (recorded %d)", got, out.Recorded)
		}
		// A Bridge clock an hour fast cannot put it in the future.
		before := time.Now()
		h.expect(report(hubapi.APIKeyUse{KeyID: key.KeyID, LastUsedAt: time.Now().Add(time.Hour)}), 200, "", &out)
		if got := lastUsed(); got.Before(before.Add(-time.Second)) || got.After(time.Now()) {
			t.Fatalf("a report from the future stored %v", got)
		}
		if got := h.revision(t, "dev"); got != rev {
			t.Fatalf("usage reports bumped the revision %d → %d", rev, got)
		}

		// Bad reports name what is wrong.
		for _, c := range []struct {
			body any
			path string
		}{
			{hubapi.APIKeyUsage{Keys: []hubapi.APIKeyUse{{KeyID: key.KeyID, LastUsedAt: at}, {KeyID: "nope", LastUsedAt: at}}}, "keys[1].keyId"},
			{hubapi.APIKeyUsage{Keys: []hubapi.APIKeyUse{{KeyID: key.KeyID}}}, "keys[0].lastUsedAt"},
			{`{"keys":[],"extra":1}`, "extra"},
			{tooMany(hubapi.MaxAPIKeyUsageBatch + 1), "keys"},
		} {
			r := h.doH("POST", "/internal/v1/apikeys/usage", c.body, bridge)
			if r.status != 400 {
				t.Errorf("%s: status %d, want 400: %s", c.path, r.status, r.body)
				continue
			}
			if !strings.Contains(string(r.body), c.path) {
				t.Errorf("%s: the error does not name it: %s", c.path, r.body)
			}
		}
	})
}

func tooMany(n int) hubapi.APIKeyUsage {
	u := hubapi.APIKeyUsage{Keys: make([]hubapi.APIKeyUse, n)}
	for i := range u.Keys {
		u.Keys[i] = hubapi.APIKeyUse{KeyID: fmt.Sprintf("key_01JD3W%020d", i), LastUsedAt: time.Now()}
	}
	return u
}
