//go:build worker

package conformance

import (
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// A call whose API key authenticates, then is refused 403 because the
// headers name another env, has used the key: its lastUsedAt moves, as the
// Bridge records a key's use before that check (SPEC §7.2; #16 review).
func TestWorkerKeyUsageForbidden(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, workerOptions{"STK_USAGE_INTERVAL": "1s"})
	envPath := "/v1/projects/" + project + "/envs/dev"
	var k hubapi.CreatedAPIKey
	st.hub.do("POST", envPath+"/apikeys", "", hubapi.CreateAPIKey{Name: "usage-403", Roles: []string{"reader"}}, &k, 201)
	h := map[string]string{"X-Santokit-Api-Key": k.Key, "X-Santokit-Env": "prod"}
	if status, code, msg := answer(t, worker, h, selectItems); status != 403 || code != "FORBIDDEN" {
		t.Fatalf("a key with another env's header: %d %s %s, want 403 FORBIDDEN", status, code, msg)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var keys struct{ Items []hubapi.APIKey }
		st.hub.do("GET", envPath+"/apikeys", "", nil, &keys, 200)
		for _, key := range keys.Items {
			if key.KeyID == k.KeyID && key.LastUsedAt != nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("key %s still has no lastUsedAt 5 s after it authenticated a call", k.KeyID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
