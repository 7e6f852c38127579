package server

import (
	"database/sql"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// Anonymous callers cannot make the Hub store logins without bound: past
// 30 starts a minute from one address (provider flows and device codes
// together) the Hub answers 429 with Retry-After and stores nothing more
// (#14 review, SPEC §3).
func TestOAuthStartLimit(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	for i := 0; i < 20; i++ {
		if res, body := get(t, newCLI().startURL(h, "corp")); res.StatusCode != 302 {
			t.Fatalf("start %d: %d %s", i, res.StatusCode, body)
		}
	}
	for i := 0; i < 10; i++ {
		deviceCode(t, h, "corp")
	}
	res, body := get(t, newCLI().startURL(h, "corp"))
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("Location") != "" {
		t.Fatalf("31st start: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	r := h.as("").do("POST", "/v1/auth/device/code", hubapi.DeviceCodeRequest{Provider: "corp"})
	h.expect(r, 429, apierr.TooManyRequests, nil)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	db, err := sql.Open("sqlite", h.dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var flows, codes int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM oauth_flows), (SELECT count(*) FROM device_codes)`).Scan(&flows, &codes); err != nil {
		t.Fatal(err)
	}
	if flows != 20 || codes != 10 {
		t.Fatalf("stored %d flows and %d device codes, want 20 and 10", flows, codes)
	}
}
