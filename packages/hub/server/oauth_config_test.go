package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testoidc"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// The Hub's OAuth variables: each mistake names its variable (SPEC §7.1,
// §12; decision 0026).
func TestOAuthConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"STK_OAUTH_PROVIDERS": "corp", "STK_OAUTH_CORP_ISSUER": "https://id.example.com",
		"STK_OAUTH_CORP_CLIENT_ID": "cid", "STK_OAUTH_CORP_CLIENT_SECRET": clientSecret,
	}
	read := func(set map[string]string) (Config, error) {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range set {
			m[k] = v
		}
		return ConfigFromEnv(func(k string) string { return m[k] })
	}
	c, err := read(map[string]string{"STK_HUB_PUBLIC_URL": "https://hub.example.com/", "STK_OAUTH_DEVICE_INTERVAL": "2s", "STK_OAUTH_DEVICE_TTL": "30s"})
	if err != nil || c.PublicURL != "https://hub.example.com" || c.DeviceInterval != 2*time.Second || c.DeviceTTL != 30*time.Second ||
		len(c.OAuth) != 1 || c.OAuth[0].ClientSecret != clientSecret {
		t.Fatalf("config %+v %v", c, err)
	}
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"STK_OAUTH_CORP_CLIENT_SECRET": ""}, "STK_OAUTH_CORP_CLIENT_SECRET"},
		{map[string]string{"STK_OAUTH_CORP_TYPE": "ldap"}, "STK_OAUTH_CORP_TYPE"},
		{map[string]string{"STK_HUB_PUBLIC_URL": "hub.example.com"}, "STK_HUB_PUBLIC_URL"},
		{map[string]string{"STK_HUB_PUBLIC_URL": "https://hub.example.com/?a=b"}, "STK_HUB_PUBLIC_URL"},
		{map[string]string{"STK_OAUTH_DEVICE_INTERVAL": "500ms"}, "STK_OAUTH_DEVICE_INTERVAL"},
		{map[string]string{"STK_OAUTH_DEVICE_INTERVAL": "soon"}, "STK_OAUTH_DEVICE_INTERVAL"},
		{map[string]string{"STK_OAUTH_DEVICE_TTL": "1.5s"}, "STK_OAUTH_DEVICE_TTL"},
	} {
		if _, err := read(tc.set); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), clientSecret) {
			t.Errorf("%v: %v, want an error naming %s", tc.set, err, tc.want)
		}
	}

	// The public URL: given, else from a loopback address, else required.
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "127.0.0.1:4000"}, "http://127.0.0.1:4000"},
		{Config{Addr: "[::1]:4000", TLSCert: "c"}, "https://[::1]:4000"},
		{Config{Addr: "0.0.0.0:4000", PublicURL: "https://hub.example.com"}, "https://hub.example.com"},
		{Config{Addr: "0.0.0.0:4000"}, ""},
	} {
		if got, err := tc.cfg.PublicBase(); err != nil || got != tc.want {
			t.Errorf("%+v: %q %v, want %q", tc.cfg, got, err, tc.want)
		}
	}
	c.Addr = "0.0.0.0:4000"
	c.PublicURL = ""
	if _, err := c.PublicBase(); err == nil || !strings.Contains(err.Error(), "STK_HUB_PUBLIC_URL") {
		t.Fatalf("no public URL for a non-loopback Hub with providers: %v", err)
	}
	c.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "hub.db")
	c.MasterKeys = "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	if _, err := New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil ||
		!strings.Contains(err.Error(), "STK_HUB_PUBLIC_URL") {
		t.Fatalf("New: %v", err)
	}
}

// An issuer unreachable at start does not stop the Hub: logins answer 503
// until discovery succeeds on a later try.
func TestOAuthIssuerDownAtStart(t *testing.T) {
	prov := startProvider(t)
	prov.SetDown(true)
	h := newOAuthHub(t, "sqlite", withProviders(prov))
	if !strings.Contains(h.logs.String(), "oauth provider unreachable at start") {
		t.Fatalf("no warning logged:\n%s", h.logs.String())
	}
	c := newCLI()
	res, body := get(t, c.startURL(h, "corp"))
	if res.StatusCode != 503 || res.Header.Get("Location") != "" {
		t.Fatalf("start while down: %d %s", res.StatusCode, body)
	}
	if e := (reply{res.StatusCode, res.Header, []byte(body)}).envelope(t); e.Code != apierr.ServiceUnavailable || !strings.Contains(e.Message, "corp") {
		t.Fatalf("envelope %+v", e)
	}
	if res, body := get(t, c.startURL(h, "corp"), "Accept", "text/html"); res.StatusCode != 503 || !strings.Contains(body, "unreachable") {
		t.Fatalf("page while down: %d %s", res.StatusCode, body)
	}
	prov.SetDown(false)
	prov.SetUser(testoidc.User{Subject: "s1", Email: adminEmail, EmailVerified: true})
	if who := whoami(t, h, c.tokens(t, h, "corp").AccessToken); who.Email != adminEmail {
		t.Fatalf("login after recovery as %s", who.Email)
	}
}

// A Hub without providers lists none, and its device routes say so.
func TestOAuthNoProviders(t *testing.T) {
	h := startHub(t, "sqlite")
	var list hubapi.List[hubapi.Provider]
	r := h.as("").do("GET", "/v1/auth/providers", nil)
	h.expect(r, 200, "", &list)
	if list.Items == nil || len(list.Items) != 0 || !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("providers %s", r.body)
	}
	h.as("").expect(h.as("").do("POST", "/v1/auth/device/code", nil), 404, apierr.NotFound, nil)
}

// The result page the CLI sends the browser to shows fixed text only.
func TestOAuthDonePage(t *testing.T) {
	h := startHub(t, "sqlite")
	for result, want := range map[string]string{
		"success":            "You are logged in to the Santokit Hub. You can close this tab and return to your terminal.",
		"unknown_email":      "stk user create --email",
		"unverified_email":   "not verified",
		"disabled":           "disabled",
		"denied":             "cancelled",
		"<script>x</script>": "The login failed",
	} {
		res, body := get(t, h.url+"/v1/auth/oauth/done?result="+strings.ReplaceAll(result, "<", "%3C"))
		if res.StatusCode != 200 || !strings.Contains(body, want) || strings.Contains(body, "<script") ||
			strings.Count(body, "<h1>") != 1 || !strings.Contains(body, "<title>") {
			t.Errorf("done?result=%s: %d %s", result, res.StatusCode, body)
		}
		checkPageHeaders(t, res)
	}
}
