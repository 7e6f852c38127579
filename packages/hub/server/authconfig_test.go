package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
)

const devAuth = `version: 1
issuers:
  - name: dev-idp
    issuer: http://127.0.0.1:8788
    audience: demo
`

const prodAuth = `version: 1
issuers:
  - name: auth0
    issuer: https://demo.eu.auth0.com/
    rolesClaim: https://demo.example.com/roles
`

func (h *hub) applyAuth(env, yaml string) reply {
	h.t.Helper()
	return h.doH("PUT", "/v1/projects/demo/envs/"+env+"/auth", yaml, map[string]string{"Content-Type": "application/yaml"})
}

// envBundle fetches an env's bundle as a Bridge does.
func (h *hub) envBundle(env string) bundle.Bundle {
	h.t.Helper()
	var b bundle.Bundle
	h.expect(h.doH("GET", "/internal/v1/envs/demo/"+env+"/bundle", nil,
		map[string]string{"Authorization": "Bearer " + bridgeToken}), 200, "", &b)
	return b
}

// issuerNames lists the issuers a bundle's current release trusts; nil
// when the release froze no auth config.
func issuerNames(t *testing.T, b bundle.Bundle) []string {
	t.Helper()
	if b.Release == nil {
		t.Fatal("bundle without a release")
	}
	if b.Release.Auth == nil {
		return nil
	}
	out := []string{}
	for _, is := range b.Release.Auth.Issuers {
		out = append(out, is.Name)
	}
	return out
}

// TestAuthConfigFlow: staging an auth.yaml, freezing it into releases,
// promotion keeping the target's own issuers, rollback restoring the
// release's own (SPEC §7.3, §9, §15).
func TestAuthConfigFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		bootstrap(t, h)
		base := "/v1/projects/demo/envs/dev"

		// Nothing staged: 404 naming the command that stages one.
		r := h.do("GET", base+"/auth", nil)
		h.expect(r, 404, apierr.NotFound, nil)
		if !strings.Contains(string(r.body), "stk auth apply --project demo --env dev --file config/auth.yaml") {
			t.Fatalf("404 does not name the fix: %s", r.body)
		}
		h.expect(h.applyAuth("dev", " \n"), 400, apierr.BadRequest, nil)

		h.expect(h.apply("dev", permsV1), 201, "", nil)
		r0 := h.release("dev", "a1", 201)
		if r0.AuthID != "" || issuerNames(t, h.envBundle("dev")) != nil {
			t.Fatalf("release without an auth config: %+v", r0)
		}

		// Staging neither bumps the revision nor changes the bundle.
		before := h.envBundle("dev").Revision
		var staged hubapi.AuthConfig
		h.expect(h.applyAuth("dev", devAuth), 201, "", &staged)
		if !strings.HasPrefix(staged.ID, "authcfg_") || staged.Reused || staged.Source != "" ||
			len(staged.Issuers) != 1 || staged.Issuers[0].Name != "dev-idp" || staged.CreatedBy != adminEmail {
			t.Fatalf("staged %+v", staged)
		}
		var same hubapi.AuthConfig
		h.expect(h.applyAuth("dev", devAuth), 200, "", &same)
		if !same.Reused || same.ID != staged.ID {
			t.Fatalf("re-apply of the same text: %+v", same)
		}
		if b := h.envBundle("dev"); b.Revision != before || issuerNames(t, b) != nil {
			t.Fatalf("staging changed the bundle: revision %d → %d, %v", before, b.Revision, issuerNames(t, b))
		}
		var shown hubapi.AuthConfig
		h.expect(h.do("GET", base+"/auth", nil), 200, "", &shown)
		want := []authconfig.Issuer{{Name: "dev-idp", Issuer: "http://127.0.0.1:8788", Audience: "demo", Line: 3}}
		if shown.ID != staged.ID || shown.Source != devAuth || !reflect.DeepEqual(shown.Issuers, want) {
			t.Fatalf("GET auth %+v", shown)
		}

		// The next release freezes it: an auth change alone is new content,
		// so the same ref makes a new release, not a reused one.
		r1 := h.release("dev", "a1", 201)
		if r1.Reused || r1.AuthID != staged.ID || r1.Hash == r0.Hash {
			t.Fatalf("release with the auth config %+v (before %+v)", r1, r0)
		}
		if got := issuerNames(t, h.envBundle("dev")); !reflect.DeepEqual(got, []string{"dev-idp"}) {
			t.Fatalf("bundle issuers %v", got)
		}
		if b := h.envBundle("dev"); !reflect.DeepEqual(b.Release.Auth.Issuers, want) {
			t.Fatalf("bundle auth %+v", b.Release.Auth)
		}
		h.release("dev", "a1", 200) // nothing changed since: reused

		// Promotion: prod has no issuers of its own → 409 naming the fix.
		r = h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"})
		h.expect(r, 409, apierr.Conflict, nil)
		if msg := r.envelope(t).Message; !strings.Contains(msg, "stk auth apply --project demo --env prod --file config/auth.yaml") ||
			!strings.Contains(msg, r1.ID) {
			t.Fatalf("409 message %q", msg)
		}
		// prod stages its own: the promoted release carries prod's issuers,
		// never dev's.
		var prodStaged hubapi.AuthConfig
		h.expect(h.applyAuth("prod", prodAuth), 201, "", &prodStaged)
		var pr hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 201, "", &pr)
		if pr.AuthID != prodStaged.ID || pr.PromotedFrom != r1.ID || pr.PermissionsID != r1.PermissionsID || pr.Hash == r1.Hash {
			t.Fatalf("promoted %+v", pr)
		}
		if got := issuerNames(t, h.envBundle("prod")); !reflect.DeepEqual(got, []string{"auth0"}) {
			t.Fatalf("prod bundle issuers %v", got)
		}
		// Promoting the same again changes nothing; after prod's issuers
		// change it is new content.
		var again hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 200, "", &again)
		if !again.Reused || again.ID != pr.ID {
			t.Fatalf("re-promotion %+v", again)
		}
		h.expect(h.applyAuth("prod", prodAuth+"    audience: demo-api\n"), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 201, "", &again)
		if again.ID == pr.ID || again.AuthID == pr.AuthID {
			t.Fatalf("promotion after prod's auth changed %+v", again)
		}
		// A source release without auth config still freezes prod's own:
		// r0 differs from r1 only in dev's issuers, so in prod it is the
		// same content as what prod serves.
		var old hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", ReleaseID: r0.ID}), 200, "", &old)
		if !old.Reused || old.ID != again.ID || old.AuthID != again.AuthID {
			t.Fatalf("promotion of a release without auth config %+v", old)
		}

		// Rollback restores the release's own auth config (frozen in it),
		// whatever is staged now.
		h.expect(h.do("POST", base+"/releases/rollback", hubapi.Rollback{To: r0.ID}), 200, "", nil)
		if got := issuerNames(t, h.envBundle("dev")); got != nil {
			t.Fatalf("after rollback to a release without auth: %v", got)
		}
		h.expect(h.do("POST", base+"/releases/rollback", hubapi.Rollback{To: r1.ID}), 200, "", nil)
		if got := issuerNames(t, h.envBundle("dev")); !reflect.DeepEqual(got, []string{"dev-idp"}) {
			t.Fatalf("after rollback to a release with auth: %v", got)
		}
		h.expect(h.do("POST", "/v1/projects/demo/envs/prod/releases/rollback", hubapi.Rollback{To: pr.ID}), 200, "", nil)
		if b := h.envBundle("prod"); b.Release.Auth.Issuers[0].Audience != "" {
			t.Fatalf("prod after rollback: %+v", b.Release.Auth)
		}

		// Each apply is an audit event naming the version; re-applies are not.
		var events hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=200", nil), 200, "", &events)
		var applies []string
		for _, e := range events.Items {
			if e.Action == "authconfig.apply" {
				applies = append(applies, e.Target)
			}
		}
		if len(applies) != 3 || applies[2] != "demo/dev "+staged.ID {
			t.Fatalf("authconfig.apply events %v", applies)
		}
	})
}

// TestAuthConfigValidation: a bad auth.yaml → 400 SCHEMA_VALIDATION_FAILED
// listing every problem with its line and column (SPEC §3, §7.3); nothing
// is staged.
func TestAuthConfigValidation(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	src := `version: 1
issuers:
  - name: corp
    issuer: http://idp.corp.example.com
    jwksUrl: https://user:secret@idp.corp.example.com/keys
  - name: corp
    issuer: https://other.example.com
    scopes: [a]
`
	r := h.applyAuth("dev", src)
	h.expect(r, 400, apierr.SchemaValidationFailed, nil)
	var body struct {
		Error struct {
			Message string `json:"message"`
			Details struct {
				Problems []apierr.Problem `json:"problems"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, p := range body.Error.Details.Problems {
		if p.Line < 1 || p.Column < 1 || p.Message == "" {
			t.Errorf("problem without a location: %+v", p)
		}
		got[p.Path] = p.Line
	}
	want := map[string]int{"issuers[0].issuer": 4, "issuers[0].jwksUrl": 5, "issuers[1].scopes": 8, "issuers[1].name": 6}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems %+v, want paths and lines %v", body.Error.Details.Problems, want)
	}
	if !strings.HasPrefix(body.Error.Message, "auth config: line 4") || strings.Contains(string(r.body), "secret@") {
		t.Fatalf("message %q / body %s", body.Error.Message, r.body)
	}
	h.expect(h.do("GET", "/v1/projects/demo/envs/dev/auth", nil), 404, apierr.NotFound, nil)
	h.expect(h.applyAuth("nope", devAuth), 404, apierr.NotFound, nil)
}
