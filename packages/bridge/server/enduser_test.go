package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// authProxy stands in front of a real Hub and writes an auth config into
// the bundles it serves, per env: the Bridge sees what a release carrying
// auth.yaml looks like, whatever the Hub can stage yet.
func authProxy(t *testing.T, hubURL string, auth map[string]*authconfig.Document) string {
	return bundleProxy(t, hubURL, func(b *bundle.Bundle) { b.Release.Auth = auth[b.Env] })
}

// bundleProxy stands in front of a real Hub and lets edit change the
// released bundles it serves (those with a release): tests give the Bridge
// release contents that the Hub may not stage yet.
func bundleProxy(t testing.TB, hubURL string, edit func(*bundle.Bundle)) string {
	t.Helper()
	target, err := url.Parse(hubURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:  func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ErrorLog: log.New(io.Discard, "", 0), // long polls canceled at the end
		ModifyResponse: func(res *http.Response) error {
			if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/bundle") {
				return nil
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return err
			}
			var b bundle.Bundle
			if err := json.Unmarshal(body, &b); err != nil {
				return err
			}
			if b.Release != nil {
				edit(&b)
			}
			body, err = json.Marshal(&b)
			if err != nil {
				return err
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			res.ContentLength = int64(len(body))
			res.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	ts := httptest.NewServer(proxy)
	t.Cleanup(ts.Close)
	return ts.URL
}

const endUserPerms = `version: 1
tables:
  users:
    select:
      - roles: [admin]
      - roles: [editor]
        columns: [id, email, name]
      - roles: [authenticated]
        columns: [id, name]
    insert: [editor]
    update: [admin]
    delete: [admin]
  notes:
    select: [authenticated]
`

func bearer(project, env, token string) map[string]string {
	return merge(anon(project, env), map[string]string{"Authorization": "Bearer " + token})
}

func columns(rows []map[string]any) string {
	var cols []string
	for c := range rows[0] {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return strings.Join(cols, ",")
}

// End users through the real Bridge HTTP (SPEC §4.2, §5.1, §7.3): a JWT
// caller gets what `authenticated` and its roles allow, nothing more; API
// keys never match `authenticated`; each env trusts its own issuers only.
func TestEndUserCalls(t *testing.T) {
	devIss, err := devissuer.Start(devissuer.Options{Audience: "demo-api"})
	if err != nil {
		t.Fatal(err)
	}
	defer devIss.Close()
	prodIss, err := devissuer.Start(devissuer.Options{Alg: devissuer.ES256})
	if err != nil {
		t.Fatal(err)
	}
	defer prodIss.Close()

	s := &stack{t: t}
	s.hubURL, s.hubToken = startHub(t)
	proxied := authProxy(t, s.hubURL, map[string]*authconfig.Document{
		"dev":  {Version: 1, Issuers: []authconfig.Issuer{{Name: "devidp", Issuer: devIss.URL(), Audience: "demo-api"}}},
		"prod": {Version: 1, Issuers: []authconfig.Issuer{{Name: "prodidp", Issuer: prodIss.URL(), JWKSURL: prodIss.JWKSURL()}}},
	})
	s.bridge, s.bridgeURL, s.logs = startBridge(t, testConfig(proxied))

	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	s.hub("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}, 201, nil)
	for _, env := range []string{"dev", "prod", "empty"} {
		s.hub("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: env}, 201, nil)
		s.hub("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: db}, 201, nil)
	}
	for _, env := range []string{"dev", "prod"} {
		s.hub("POST", "/v1/projects/demo/envs/"+env+"/connections/main/snapshots", nil, 201, nil)
		s.hub("PUT", "/v1/projects/demo/envs/"+env+"/permissions", endUserPerms, 201, nil)
		s.hub("POST", "/v1/projects/demo/envs/"+env+"/releases", hubapi.CreateRelease{Ref: "r1"}, 201, nil)
	}
	var admin hubapi.CreatedAPIKey
	s.hub("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "admin", Roles: []string{"admin"}}, 201, &admin)

	mint := func(iss *devissuer.Issuer, sub string, roles []string, opts ...devissuer.MintOption) string {
		tok, err := iss.Mint(sub, roles, map[string]any{"email": sub + "@example.com"}, time.Hour, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	alice := mint(devIss, "alice", nil)
	editor := mint(devIss, "erin", []string{"editor"})
	selUsers := map[string]any{"path": "db/main/users/select"}

	// `authenticated`: the narrow column set; the editor role: its own rule.
	r := s.call(bearer("demo", "dev", alice), selUsers)
	expect(t, r, 200, "", "")
	if rows := data(t, r); len(rows) != 2 || columns(rows) != "id,name" {
		t.Fatalf("authenticated select: %s", r.body)
	}
	r = s.call(bearer("demo", "dev", editor), selUsers)
	expect(t, r, 200, "", "")
	if rows := data(t, r); columns(rows) != "email,id,name" {
		t.Fatalf("editor select: %s", r.body)
	}
	// A repeat call is served from the token cache, and still right.
	r = s.call(bearer("demo", "dev", alice), selUsers)
	expect(t, r, 200, "", "")
	expect(t, s.call(bearer("demo", "dev", alice), map[string]any{"path": "db/main/notes/select"}), 200, "", "")

	// Refused what the rules do not give it.
	expect(t, s.call(bearer("demo", "dev", alice), map[string]any{"path": "db/main/users/insert",
		"params": map[string]any{"data": map[string]any{"email": "a@x", "name": "A"}}}), 403, "FORBIDDEN", "")
	expect(t, s.call(bearer("demo", "dev", alice), map[string]any{"path": "db/main/users/select",
		"params": map[string]any{"select": []string{"email"}}}), 403, "FORBIDDEN", "email")
	expect(t, s.call(bearer("demo", "dev", editor), map[string]any{"path": "db/main/users/insert",
		"params": map[string]any{"data": map[string]any{"email": "erin@x", "name": "Erin"}}}), 200, "", "")
	expect(t, s.call(bearer("demo", "dev", editor), map[string]any{"path": "db/main/users/delete",
		"params": map[string]any{"where": map[string]any{"id": 1}}}), 403, "FORBIDDEN", "")
	// `authenticated` never matches an API key, whatever its roles.
	expect(t, s.call(key(admin.Key), map[string]any{"path": "db/main/notes/select"}), 403, "FORBIDDEN", "")

	// Bad tokens: 401 with WWW-Authenticate, the token never echoed.
	expired := mint(devIss, "alice", nil, devissuer.WithExpiry(time.Now().Add(-5*time.Minute)))
	for name, tc := range map[string]struct{ token, msg string }{
		"garbage":     {"garbage.garbage.garbage", "invalid end-user token"},
		"expired":     {expired, "expired"},
		"wrong aud":   {mint(devIss, "alice", nil, devissuer.WithAudience("other")), "audience"},
		"prod issuer": {mint(prodIss, "alice", nil), "not trusted"},
		"oversized":   {strings.Repeat("a", 9000), "larger than"},
	} {
		r := s.call(bearer("demo", "dev", tc.token), selUsers)
		expect(t, r, 401, "UNAUTHORIZED", tc.msg)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || strings.Contains(string(r.body), tc.token[:20]) {
			t.Fatalf("%s: %v %s", name, r.header, r.body)
		}
	}
	// prod trusts its own issuer only: a dev token is refused there.
	expect(t, s.call(bearer("demo", "prod", alice), selUsers), 401, "UNAUTHORIZED", "not trusted")
	r = s.call(bearer("demo", "prod", mint(prodIss, "pat", nil)), selUsers)
	expect(t, r, 200, "", "")
	// An env whose release trusts no issuer (none yet: no release) → 401.
	expect(t, s.call(bearer("demo", "empty", alice), selUsers), 401, "UNAUTHORIZED", "trusts no token issuer")

	// Credential form and context (§4.2 steps 2–3).
	expect(t, s.call(merge(bearer("demo", "dev", alice), key(admin.Key)), selUsers), 400, "BAD_REQUEST", "not both")
	expect(t, s.call(map[string]string{"Authorization": "Bearer " + alice}, selUsers), 400, "BAD_REQUEST", "X-Santokit-Project")
	expect(t, s.call(merge(map[string]string{"Authorization": "Bearer " + alice}, map[string]string{"X-Santokit-Env": "dev"}), selUsers),
		400, "BAD_REQUEST", "X-Santokit-Project")
	expect(t, s.call(bearer("demo", "nope", alice), selUsers), 404, "NOT_FOUND", "nope")
	expect(t, s.call(bearer("demo", "dev", alice), map[string]any{"path": "db/main/nope/select"}), 404, "NOT_FOUND", "nope")

	// The access log names the end user and the issuer, never the token.
	logs := s.logs.String()
	for _, tok := range []string{alice, editor, expired} {
		if strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.LastIndexByte(tok, '.')+1:]) {
			t.Fatal("a token is in the logs")
		}
	}
	var sawAlice, sawKey bool
	for _, line := range strings.Split(logs, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != "request" || e["route"] != "/call" {
			continue
		}
		if e["sub"] == "alice" && e["issuer"] == "devidp" && e["status"] == float64(200) {
			sawAlice = true
			if _, ok := e["keyId"]; ok {
				t.Fatalf("end-user log line carries keyId: %s", line)
			}
		}
		if e["keyId"] == admin.KeyID {
			sawKey = true
		}
	}
	if !sawAlice || !sawKey {
		t.Fatalf("access log lacks sub/issuer or keyId lines:\n%s", logs)
	}
}
