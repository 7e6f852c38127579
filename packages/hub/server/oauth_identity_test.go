package server

import (
	"database/sql"
	"net/url"
	"testing"

	"github.com/santokit/santokit/internal/testoidc"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// What go-oidc leaves to the relying party (OIDC Core §3.1.3.7), and email
// matching that folds nothing but ASCII case (#14 review, decision 0026).
func TestOAuthIdentityChecks(t *testing.T) {
	prov := startProvider(t)
	h := newOAuthHub(t, "sqlite", withProviders(prov, "korp.example"))
	h.newOperator("kim@example.com")

	// An ID token without sub, or issued with another authorized party,
	// or to several audiences without azp, proves no identity of ours.
	prov.SetUser(testoidc.User{Subject: "", Email: adminEmail, EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultError)
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	for _, f := range []testoidc.Faults{{ExtraAudience: true}, {OtherParty: true}} {
		prov.SetFaults(f)
		newCLI().refusal(t, h, "corp", hubapi.ResultError)
	}
	prov.SetFaults(testoidc.Faults{})

	// The provider verified an address with a Kelvin sign (U+212A), which
	// Unicode lower-cases to k: it is not kim@example.com's, and not in
	// the allowed korp.example.
	prov.SetUser(testoidc.User{Subject: "k1", Email: "\u212Aim@example.com", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnknownEmail)
	prov.SetUser(testoidc.User{Subject: "k2", Email: "new@\u212Aorp.example", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnknownEmail)
	// A new user of an allowed domain is created only in the spelling
	// operators' commands normalize to.
	prov.SetUser(testoidc.User{Subject: "k4", Email: "JOSÉ@korp.example", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultUnknownEmail)
	prov.SetUser(testoidc.User{Subject: "k5", Email: "josé@KORP.example", EmailVerified: true})
	if who := whoami(t, h, newCLI().tokens(t, h, "corp").AccessToken); who.Email != "josé@korp.example" {
		t.Fatalf("created %s", who.Email)
	}
	h.expect(h.do("POST", "/v1/users/"+url.PathEscape("JOSÉ@korp.example")+"/disable", nil), 200, "", nil)
	prov.SetUser(testoidc.User{Subject: "k5", Email: "josé@korp.example", EmailVerified: true})
	newCLI().refusal(t, h, "corp", hubapi.ResultDisabled)
	// ASCII case still does not matter.
	prov.SetUser(testoidc.User{Subject: "k3", Email: "KIM@Example.com", EmailVerified: true})
	if who := whoami(t, h, newCLI().tokens(t, h, "corp").AccessToken); who.Email != "kim@example.com" {
		t.Fatalf("logged in as %s", who.Email)
	}
	// A later login by the link records its time (it was left at the
	// link's creation before).
	age(t, h, "oauth_identities", "last_login_at")
	newCLI().tokens(t, h, "corp")
	db, err := sql.Open("sqlite", h.dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stale bool
	if err := db.QueryRow(`SELECT last_login_at < created_at FROM oauth_identities WHERE subject = 'k3'`).Scan(&stale); err != nil || stale {
		t.Fatalf("last_login_at not updated by a login (%v)", err)
	}
	// Nothing else was linked or created.
	var users hubapi.List[hubapi.User]
	h.expect(h.do("GET", "/v1/users", nil), 200, "", &users)
	if len(users.Items) != 3 {
		t.Fatalf("users %+v", users.Items)
	}
}
