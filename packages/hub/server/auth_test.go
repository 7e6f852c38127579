package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// as returns a client of the same Hub that sends token ("" for none).
func (h *hub) as(token string) *hub {
	c := *h
	c.token = token
	return &c
}

// ownerID is the bootstrap owner's user id.
func ownerID(t *testing.T, h *hub) string {
	var who hubapi.Whoami
	h.expect(h.do("GET", "/v1/auth/whoami", nil), 200, "", &who)
	return who.ID
}

// newOperator creates a user through the API as the owner and logs it in.
func (h *hub) newOperator(email string) hubapi.Tokens {
	h.t.Helper()
	h.expect(h.do("POST", "/v1/users", hubapi.CreateUser{Email: email, Password: "Pw-" + email + "-long"}), 201, "", nil)
	return h.login(email, "Pw-"+email+"-long")
}

// An enforced Hub with no user and no bootstrap variables refuses to start
// and says how to create the first owner (SPEC §7.1).
func TestStartNeedsAnOperator(t *testing.T) {
	cfg := Config{DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"),
		MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "STK_BOOTSTRAP_ADMIN_EMAIL") || !strings.Contains(err.Error(), "STK_BOOTSTRAP_ADMIN_PASSWORD") {
		t.Fatalf("want a refusal naming the bootstrap variables, got %v", err)
	}
	cfg.BootstrapEmail, cfg.BootstrapPassword = "ada@example.com", "short"
	if _, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "12 characters") {
		t.Fatalf("a short bootstrap password must be refused: %v", err)
	}
	// Once a user exists the variables are ignored: they never create a
	// second owner or reset a password.
	cfg.BootstrapPassword = "first-owner-password"
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	cfg.BootstrapEmail, cfg.BootstrapPassword = "mallory@example.com", "another-owner-password"
	srv, err = New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if n, _ := srv.store.CountUsers(context.Background()); n != 1 {
		t.Fatalf("%d users after a second start with other bootstrap variables", n)
	}
}

func TestLoginRefreshLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		anon := h.as("")
		// Same 401, same message, for a wrong password and an unknown email.
		wrong := anon.do("POST", "/v1/auth/login", hubapi.Login{Email: adminEmail, Password: "nope-nope-nope"})
		unknown := anon.do("POST", "/v1/auth/login", hubapi.Login{Email: "ghost@example.com", Password: "nope-nope-nope"})
		h.expect(wrong, 401, apierr.Unauthorized, nil)
		h.expect(unknown, 401, apierr.Unauthorized, nil)
		if wrong.envelope(t).Message != unknown.envelope(t).Message {
			t.Fatalf("wrong password and unknown email differ: %s / %s", wrong.body, unknown.body)
		}
		// Emails compare case-insensitively.
		tok := h.login(strings.ToUpper(adminEmail), adminPassword)
		var who hubapi.Whoami
		h.expect(h.as(tok.AccessToken).do("GET", "/v1/auth/whoami", nil), 200, "", &who)
		if who.Kind != "user" || who.Email != adminEmail || len(who.Orgs) != 1 || who.Orgs[0].Org != "default" || who.Orgs[0].Role != "owner" {
			t.Fatalf("whoami %+v", who)
		}
		h.expect(anon.do("GET", "/v1/auth/whoami", nil), 401, apierr.Unauthorized, nil)
		h.expect(anon.do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
		h.expect(h.as("garbage").do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)

		// Refresh rotates: the new pair works, the old refresh token is spent.
		var next hubapi.Tokens
		h.expect(anon.do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: tok.RefreshToken}), 200, "", &next)
		if next.RefreshToken == tok.RefreshToken || next.TokenType != "Bearer" || next.ExpiresIn != 900 {
			t.Fatalf("refresh %+v", next)
		}
		h.expect(h.as(next.AccessToken).do("GET", "/v1/projects", nil), 200, "", nil)
		// Reuse of the rotated token revokes the whole session: the newest
		// refresh token and the session's access tokens die with it.
		h.expect(anon.do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: tok.RefreshToken}), 401, apierr.Unauthorized, nil)
		h.expect(anon.do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: next.RefreshToken}), 401, apierr.Unauthorized, nil)
		h.expect(h.as(next.AccessToken).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
		h.expect(h.as(tok.AccessToken).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)

		// Logout ends the session at once.
		s2 := h.login(adminEmail, adminPassword)
		h.expect(h.as(s2.AccessToken).do("POST", "/v1/auth/logout", nil), 200, "", nil)
		h.expect(h.as(s2.AccessToken).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
		h.expect(anon.do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: s2.RefreshToken}), 401, apierr.Unauthorized, nil)

		// The refresh token alone ends its session (an expired access token
		// need not stop a logout).
		s3 := h.login(adminEmail, adminPassword)
		h.expect(anon.do("POST", "/v1/auth/logout", hubapi.Refresh{RefreshToken: s3.RefreshToken}), 200, "", nil)
		h.expect(h.as(s3.AccessToken).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
		h.expect(anon.do("POST", "/v1/auth/logout", nil), 401, apierr.Unauthorized, nil)

		// Another user's refresh token ends neither session.
		s4 := h.login(adminEmail, adminPassword)
		other := h.newOperator("other@example.com")
		h.expect(h.as(s4.AccessToken).do("POST", "/v1/auth/logout", hubapi.Refresh{RefreshToken: other.RefreshToken}), 403, apierr.Forbidden, nil)
		h.expect(h.as(s4.AccessToken).do("GET", "/v1/auth/whoami", nil), 200, "", nil)
		h.expect(h.as(other.AccessToken).do("GET", "/v1/auth/whoami", nil), 200, "", nil)

		h.assertAbsent(adminPassword)
		h.assertAbsent(s2.RefreshToken)
	})
}

func TestLoginRateLimit(t *testing.T) {
	h := startHub(t, "sqlite")
	anon := h.as("")
	for i := 0; i < 10; i++ {
		h.expect(anon.do("POST", "/v1/auth/login", hubapi.Login{Email: adminEmail, Password: "wrong-password"}), 401, apierr.Unauthorized, nil)
	}
	r := anon.do("POST", "/v1/auth/login", hubapi.Login{Email: adminEmail, Password: adminPassword})
	h.expect(r, 429, apierr.TooManyRequests, nil)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Another email from the same address is blocked too (per address).
	h.expect(anon.do("POST", "/v1/auth/login", hubapi.Login{Email: "other@example.com", Password: "x"}), 429, apierr.TooManyRequests, nil)
}

// Access tokens verify against the JWKS; rotating the signing key keeps
// earlier tokens valid and publishes both keys.
func TestJWKSAndSigningRotation(t *testing.T) {
	h := startHub(t, "sqlite")
	var set auth.JWKS
	h.expect(h.as("").do("GET", "/.well-known/jwks.json", nil), 200, "", &set)
	if len(set.Keys) != 1 {
		t.Fatalf("jwks %+v", set)
	}
	verify := func(token string, set auth.JWKS) jwt.MapClaims {
		t.Helper()
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(token, claims, func(tk *jwt.Token) (any, error) {
			for _, k := range set.Keys {
				if k.Kid == tk.Header["kid"] {
					x, err := base64.RawURLEncoding.DecodeString(k.X)
					return ed25519.PublicKey(x), err
				}
			}
			return nil, jwt.ErrTokenUnverifiable
		}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience("santokit-hub"))
		if err != nil {
			t.Fatalf("token does not verify against the JWKS: %v", err)
		}
		return claims
	}
	c := verify(h.token, set)
	for _, k := range []string{"iss", "sub", "aud", "iat", "exp", "jti", "sid"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	old := h.token
	if _, err := h.srv.RotateSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := h.login(adminEmail, adminPassword).AccessToken
	h.expect(h.as("").do("GET", "/.well-known/jwks.json", nil), 200, "", &set)
	if len(set.Keys) != 2 {
		t.Fatalf("after rotation the JWKS holds %d keys, want the new and the previous", len(set.Keys))
	}
	verify(fresh, set)
	verify(old, set)
	h.expect(h.as(old).do("GET", "/v1/projects", nil), 200, "", nil)
	h.expect(h.as(fresh).do("GET", "/v1/projects", nil), 200, "", nil)
	// A token signed by a key the Hub does not know is refused.
	_, priv, _ := ed25519.GenerateKey(nil)
	forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": "santokit-hub", "aud": "santokit-hub", "sub": "usr_x", "sid": "ses_x", "exp": 9999999999, "iat": 1})
	forged.Header["kid"] = set.Keys[0].Kid
	s, _ := forged.SignedString(priv)
	h.expect(h.as(s).do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
}

func TestCITokens(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "other"}), 201, "", nil)
	var tok hubapi.Token
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci", Project: "demo", Role: "viewer", Expires: "90d"}), 201, "", &tok)
	if !strings.HasPrefix(tok.Token, "stkpat_") || tok.ExpiresAt == nil || tok.Role != "viewer" || tok.Project != "demo" {
		t.Fatalf("token %+v", tok)
	}
	ci := h.as(tok.Token)
	// Scope: demo only, and viewer only although its creator is owner.
	h.expect(ci.do("GET", "/v1/projects/demo", nil), 200, "", nil)
	h.expect(ci.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 403, apierr.Forbidden, nil)
	h.expect(ci.do("GET", "/v1/projects/other", nil), 403, apierr.Forbidden, nil)
	h.expect(ci.do("POST", "/v1/projects", hubapi.CreateProject{Name: "third"}), 403, apierr.Forbidden, nil)
	h.expect(ci.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "again"}), 403, apierr.Forbidden, nil)
	h.expect(ci.do("GET", "/v1/tokens", nil), 403, apierr.Forbidden, nil)
	var list []hubapi.Project
	var page hubapi.List[hubapi.Project]
	h.expect(ci.do("GET", "/v1/projects", nil), 200, "", &page)
	list = page.Items
	if len(list) != 1 || list[0].Name != "demo" {
		t.Fatalf("a demo-scoped token lists %+v", list)
	}
	// An unscoped token acts as its creator.
	var full hubapi.Token
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "deploy"}), 201, "", &full)
	h.expect(h.as(full.Token).do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	// Bad input.
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "x", Role: "viewer"}), 400, apierr.BadRequest, nil)
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "x", Project: "demo", Role: "god"}), 400, apierr.BadRequest, nil)
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "x", Expires: "soon"}), 400, apierr.BadRequest, nil)
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "x", Project: "ghost"}), 404, apierr.NotFound, nil)
	// List shows no secret; revoke is immediate and idempotent.
	r := h.do("GET", "/v1/tokens", nil)
	h.expect(r, 200, "", nil)
	if strings.Contains(string(r.body), tok.Token) || strings.Contains(string(r.body), "stkpat_") {
		t.Fatalf("token list shows a secret: %s", r.body)
	}
	// An expired token is refused like a revoked one.
	expired := time.Now().Add(-time.Minute)
	if err := h.srv.store.CreateToken(context.Background(), store.CIToken{ID: "tok_01ARZ3NDEKTSV4RRFFQ69G5FAV", Name: "old",
		UserID: ownerID(t, h), SecretHash: auth.HashSecret("stkpat_expired"), CreatedAt: expired.Add(-time.Hour), ExpiresAt: &expired}); err != nil {
		t.Fatal(err)
	}
	h.expect(h.as("stkpat_expired").do("GET", "/v1/projects", nil), 401, apierr.Unauthorized, nil)
	h.expect(h.do("DELETE", "/v1/tokens/"+tok.ID, nil), 200, "", nil)
	h.expect(h.do("DELETE", "/v1/tokens/"+tok.ID, nil), 200, "", nil)
	h.expect(ci.do("GET", "/v1/projects/demo", nil), 401, apierr.Unauthorized, nil)
	h.assertAbsent(tok.Token)
	h.assertAbsent(full.Token)

	// A token dies with its creator's access.
	u := h.newOperator("dev@example.com")
	h.expect(h.do("POST", "/v1/projects/demo/members", hubapi.PutMember{Email: "dev@example.com", Role: "admin"}), 201, "", nil)
	var devTok hubapi.Token
	h.expect(h.as(u.AccessToken).do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci"}), 201, "", &devTok)
	h.expect(h.as(devTok.Token).do("GET", "/v1/projects/demo", nil), 200, "", nil)
	// Another user's token is not visible to revoke.
	h.expect(h.do("DELETE", "/v1/tokens/"+devTok.ID, nil), 404, apierr.NotFound, nil)
	h.expect(h.do("PUT", "/v1/projects/demo/members/dev@example.com", hubapi.PutMember{Role: "viewer"}), 200, "", nil)
	h.expect(h.as(devTok.Token).do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "stg"}), 403, apierr.Forbidden, nil)
	h.expect(h.do("POST", "/v1/users/dev@example.com/disable", nil), 200, "", nil)
	h.expect(h.as(devTok.Token).do("GET", "/v1/projects/demo", nil), 401, apierr.Unauthorized, nil)
	h.expect(h.as(u.AccessToken).do("GET", "/v1/projects/demo", nil), 401, apierr.Unauthorized, nil)
	h.expect(h.as("").do("POST", "/v1/auth/login", hubapi.Login{Email: "dev@example.com", Password: "Pw-dev@example.com-long"}), 401, apierr.Unauthorized, nil)
}

// Members: removal takes effect on the next request; the last owner stays;
// only owners touch the owner role.
func TestMembers(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	v := h.as(h.newOperator("viewer@example.com").AccessToken)
	h.expect(v.do("GET", "/v1/projects/demo", nil), 403, apierr.Forbidden, nil)
	h.expect(h.do("POST", "/v1/projects/demo/members", hubapi.PutMember{Email: "viewer@example.com", Role: "viewer"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/members", hubapi.PutMember{Email: "viewer@example.com", Role: "viewer"}), 409, apierr.Conflict, nil)
	h.expect(v.do("GET", "/v1/projects/demo", nil), 200, "", nil)
	var members hubapi.List[hubapi.Membership]
	h.expect(v.do("GET", "/v1/projects/demo/members", nil), 200, "", &members)
	// The direct member, then the org owner, an admin of every project.
	if len(members.Items) != 2 || members.Items[0].Email != "viewer@example.com" || members.Items[0].Role != "viewer" ||
		members.Items[0].Via != "" || members.Items[1].Email != adminEmail || members.Items[1].Role != "admin" ||
		members.Items[1].Via != "org owner" {
		t.Fatalf("members %+v", members)
	}
	var removed hubapi.Membership
	h.expect(h.do("DELETE", "/v1/projects/demo/members/viewer@example.com", nil), 200, "", &removed)
	if removed.Project != "demo" || removed.Email != "viewer@example.com" || removed.Role != "viewer" || removed.UserID == "" {
		t.Fatalf("the removed membership %+v, want its project, email, user id and role", removed)
	}
	h.expect(v.do("GET", "/v1/projects/demo", nil), 403, apierr.Forbidden, nil)

	h.expect(h.do("PUT", "/v1/orgs/default/members/"+adminEmail, hubapi.PutMember{Role: "admin"}), 409, apierr.Conflict, nil)
	h.expect(h.do("DELETE", "/v1/orgs/default/members/"+adminEmail, nil), 409, apierr.Conflict, nil)
	a := h.as(h.newOperator("admin@example.com").AccessToken)
	h.expect(h.do("POST", "/v1/orgs/default/members", hubapi.PutMember{Email: "admin@example.com", Role: "admin"}), 201, "", nil)
	h.expect(a.do("PUT", "/v1/orgs/default/members/admin@example.com", hubapi.PutMember{Role: "owner"}), 403, apierr.Forbidden, nil)
	h.expect(a.do("DELETE", "/v1/orgs/default/members/"+adminEmail, nil), 403, apierr.Forbidden, nil)
	h.expect(a.do("POST", "/v1/users/"+adminEmail+"/disable", nil), 403, apierr.Forbidden, nil)
	// Those refusals are the owner role's own guards, and audit events
	// like any denial (SPEC §9).
	var events hubapi.List[hubapi.AuditEvent]
	h.expect(h.do("GET", "/v1/audit?org=default", nil), 200, "", &events)
	denials := map[string]int{}
	for _, e := range events.Items {
		if e.Outcome == "denied" && e.Actor == "admin@example.com" {
			denials[e.Action]++
		}
	}
	if denials["member.manage"] != 2 || denials["user.disable"] != 1 {
		t.Errorf("denied events of the admin %v, want 2 member.manage and 1 user.disable: %+v", denials, events.Items)
	}
	// A disabled owner does not count as the org's owner, and a disabled
	// user's memberships can still be changed and removed.
	h.newOperator("gone@example.com")
	h.expect(h.do("POST", "/v1/orgs/default/members", hubapi.PutMember{Email: "gone@example.com", Role: "owner"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/users/gone@example.com/disable", nil), 200, "", nil)
	h.expect(h.do("PUT", "/v1/orgs/default/members/"+adminEmail, hubapi.PutMember{Role: "admin"}), 409, apierr.Conflict, nil)
	h.expect(h.do("POST", "/v1/orgs/default/members", hubapi.PutMember{Email: "gone@example.com", Role: "member"}), 409, apierr.Conflict, nil)
	h.expect(h.do("PUT", "/v1/orgs/default/members/gone@example.com", hubapi.PutMember{Role: "member"}), 200, "", nil)
	h.expect(h.do("DELETE", "/v1/orgs/default/members/gone@example.com", nil), 200, "", nil)
	h.expect(h.do("POST", "/v1/orgs/default/members", hubapi.PutMember{Email: "admin@example.com", Role: "boss"}), 400, apierr.BadRequest, nil)
	h.expect(h.do("POST", "/v1/projects/demo/members", hubapi.PutMember{Email: "nobody@example.com", Role: "viewer"}), 404, apierr.NotFound, nil)

	// New orgs: the creator owns them.
	var org hubapi.Org
	h.expect(a.do("POST", "/v1/orgs", hubapi.CreateOrg{Name: "acme"}), 201, "", &org)
	if org.Role != "owner" {
		t.Fatalf("org %+v", org)
	}
	var orgs hubapi.List[hubapi.Org]
	h.expect(a.do("GET", "/v1/orgs", nil), 200, "", &orgs)
	if len(orgs.Items) != 2 {
		t.Fatalf("orgs %+v", orgs)
	}
}

// Denied attempts by operators and org-level mutations are audit events
// with actor, action, target, outcome and request id (SPEC §9).
func TestOperatorAudit(t *testing.T) {
	h := startHub(t, "sqlite")
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	v := h.as(h.newOperator("viewer@example.com").AccessToken)
	h.expect(h.do("POST", "/v1/projects/demo/members", hubapi.PutMember{Email: "viewer@example.com", Role: "viewer"}), 201, "", nil)
	denied := v.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"})
	h.expect(denied, 403, apierr.Forbidden, nil)
	var tok hubapi.Token
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci"}), 201, "", &tok)

	var proj hubapi.List[hubapi.AuditEvent]
	h.expect(h.do("GET", "/v1/projects/demo/audit", nil), 200, "", &proj)
	found := false
	for _, e := range proj.Items {
		if e.Outcome == "denied" && e.Actor == "viewer@example.com" && e.Action == "env.create" && e.RequestID == denied.header.Get("X-Request-Id") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no denied event for the viewer: %+v", proj.Items)
	}
	var org hubapi.List[hubapi.AuditEvent]
	h.expect(h.do("GET", "/v1/audit?org=default", nil), 200, "", &org)
	actions := map[string]bool{}
	for _, e := range org.Items {
		actions[e.Action] = true
		if strings.Contains(e.Target, tok.Token) {
			t.Fatal("audit target holds a token")
		}
	}
	for _, a := range []string{"user.create", "token.create"} {
		if !actions[a] {
			t.Errorf("org audit lacks %s: %+v", a, org.Items)
		}
	}
	h.expect(v.do("GET", "/v1/audit", nil), 403, apierr.Forbidden, nil)
	b, _ := json.Marshal(org)
	if strings.Contains(string(b), "Pw-") {
		t.Fatal("audit holds a password")
	}
}

// STK_DISABLE_AUTH=true: no user is needed, every /v1 request acts as an
// org owner, and /internal still needs the bridge token (SPEC §7.1, §8.1).
func TestAuthDisabledMode(t *testing.T) {
	cfg := Config{DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"), AuthDisabled: true,
		BridgeTokens: []string{bridgeToken}, MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &hub{srv: srv, t: t, logs: &syncBuffer{}}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	h.url = ts.URL
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	var who hubapi.Whoami
	h.expect(h.do("GET", "/v1/auth/whoami", nil), 200, "", &who)
	if who.Kind != "dev" {
		t.Fatalf("whoami %+v", who)
	}
	h.expect(h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci"}), 400, apierr.BadRequest, nil)
	h.expect(h.do("GET", "/internal/v1/envs/demo/dev/bundle", nil), 401, apierr.Unauthorized, nil)
	h.expect(h.doH("GET", "/internal/v1/envs/demo/dev/bundle", nil, map[string]string{"Authorization": "Bearer " + bridgeToken}), 200, "", nil)
}

// Answers that carry a token or a key shown once are never cached by a
// browser or a proxy (RFC 6749 §5.1), password logins as OAuth ones.
func TestSecretAnswersAreNotStored(t *testing.T) {
	h := startHub(t, "sqlite")
	noStore := func(what string, r reply, status int) {
		t.Helper()
		if r.status != status || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q; want %d, no-store", what, r.status, r.header.Get("Cache-Control"), status)
		}
	}
	login := h.doH("POST", "/v1/auth/login", hubapi.Login{Email: adminEmail, Password: adminPassword}, map[string]string{"Authorization": ""})
	noStore("login", login, 200)
	var toks hubapi.Tokens
	h.expect(login, 200, "", &toks)
	noStore("refresh", h.as("").do("POST", "/v1/auth/refresh", hubapi.Refresh{RefreshToken: toks.RefreshToken}), 200)
	noStore("token create", h.do("POST", "/v1/tokens", hubapi.CreateToken{Name: "ci"}), 201)
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	noStore("apikey create", h.do("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "k", Roles: []string{"reader"}}), 201)
}
