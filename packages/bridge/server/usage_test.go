package server

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// API keys that authenticate calls get their lastUsedAt on the Hub within
// a report interval (SPEC §7.2, §15); a key presented with a wrong secret
// is not "used"; and the last uses are reported when the Bridge closes.
func TestAPIKeyUsageReported(t *testing.T) {
	s := newStack(t, func(c *Config) { c.UsageInterval = 300 * time.Millisecond })
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	admin, reader, _ := s.setup(db)
	sel := map[string]any{"path": "db/main/users/select"}
	lastUsed := func() map[string]*time.Time {
		var keys struct{ Items []hubapi.APIKey }
		s.hub("GET", "/v1/projects/demo/envs/dev/apikeys", nil, 200, &keys)
		out := map[string]*time.Time{}
		for _, k := range keys.Items {
			out[k.Name] = k.LastUsedAt
		}
		return out
	}

	before := time.Now().Add(-time.Second)
	expect(t, s.call(key(reader), sel), 200, "", "")
	wrongSecret := admin[:len(admin)-43] + strings.Repeat("b", 43)
	expect(t, s.call(key(wrongSecret), sel), 401, "UNAUTHORIZED", "")
	eventually(t, 5*time.Second, "the reader key's lastUsedAt", func() bool {
		at := lastUsed()["reader"]
		return at != nil && at.After(before)
	})
	if at := lastUsed()["admin"]; at != nil {
		t.Fatalf("a key presented with a wrong secret got lastUsedAt %v", at)
	}

	// A use just before shutdown is reported by Close, not lost.
	first := *lastUsed()["reader"]
	time.Sleep(10 * time.Millisecond)
	expect(t, s.call(key(admin), sel), 200, "", "")
	expect(t, s.call(key(reader), sel), 200, "", "")
	if err := s.bridge.Close(); err != nil {
		t.Fatal(err)
	}
	got := lastUsed()
	if got["admin"] == nil || got["reader"] == nil || !got["reader"].After(first) {
		t.Fatalf("after Close: lastUsedAt %v, want both keys and reader after %v", got, first)
	}
}
