package oauth

import (
	"slices"
	"strings"
	"testing"
)

const secret = "Sekrit-77-NEVER-SHOW"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	got, err := ConfigFromEnv(env(map[string]string{
		"STK_OAUTH_PROVIDERS":             " github , corp",
		"STK_OAUTH_CORP_ISSUER":           "https://id.example.com/",
		"STK_OAUTH_CORP_CLIENT_ID":        "cid",
		"STK_OAUTH_CORP_CLIENT_SECRET":    secret,
		"STK_OAUTH_CORP_SCOPES":           "email, profile groups",
		"STK_OAUTH_CORP_ALLOWED_DOMAINS":  "Example.com, @corp.example",
		"STK_OAUTH_GITHUB_TYPE":           "GitHub",
		"STK_OAUTH_GITHUB_CLIENT_ID":      "gid",
		"STK_OAUTH_GITHUB_CLIENT_SECRET":  secret,
		"STK_OAUTH_UNLISTED_CLIENT_ID":    "ignored",
		"STK_OAUTH_UNLISTED_CLIENT_SECRE": "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "corp" || got[1].Name != "github" {
		t.Fatalf("providers %+v", got)
	}
	corp, gh := got[0], got[1]
	if corp.Type != "oidc" || corp.Issuer != "https://id.example.com" || !slices.Equal(corp.Scopes, []string{"openid", "email", "profile", "groups"}) ||
		!slices.Equal(corp.AllowedDomains, []string{"example.com", "corp.example"}) {
		t.Fatalf("corp %+v", corp)
	}
	if gh.Type != "github" || gh.Issuer != "" || !slices.Equal(gh.Scopes, []string{"read:user", "user:email"}) {
		t.Fatalf("github %+v", gh)
	}
	if !corp.DomainAllowed("a@EXAMPLE.com") || corp.DomainAllowed("a@sub.example.com") || corp.DomainAllowed("example.com") {
		t.Fatal("DomainAllowed")
	}
	// Defaults: oidc scopes.
	got, err = ConfigFromEnv(env(map[string]string{"STK_OAUTH_PROVIDERS": "x", "STK_OAUTH_X_ISSUER": "http://127.0.0.1:9",
		"STK_OAUTH_X_CLIENT_ID": "c", "STK_OAUTH_X_CLIENT_SECRET": secret}))
	if err != nil || !slices.Equal(got[0].Scopes, []string{"openid", "email", "profile"}) {
		t.Fatalf("defaults %+v %v", got, err)
	}
	if got, err := ConfigFromEnv(env(nil)); err != nil || len(got) != 0 {
		t.Fatalf("none: %v %v", got, err)
	}
}

// Each misconfiguration stops the Hub with a message naming the variable
// and never quoting the client secret.
func TestConfigFromEnvErrors(t *testing.T) {
	base := map[string]string{
		"STK_OAUTH_PROVIDERS": "corp", "STK_OAUTH_CORP_ISSUER": "https://id.example.com",
		"STK_OAUTH_CORP_CLIENT_ID": "cid", "STK_OAUTH_CORP_CLIENT_SECRET": secret,
	}
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"STK_OAUTH_PROVIDERS": "Corp"}, "STK_OAUTH_PROVIDERS"},
		{map[string]string{"STK_OAUTH_PROVIDERS": "corp,corp"}, "STK_OAUTH_PROVIDERS"},
		{map[string]string{"STK_OAUTH_PROVIDERS": "a-b"}, "STK_OAUTH_PROVIDERS"},
		{map[string]string{"STK_OAUTH_CORP_TYPE": "saml"}, "STK_OAUTH_CORP_TYPE"},
		{map[string]string{"STK_OAUTH_CORP_ISSUER": ""}, "STK_OAUTH_CORP_ISSUER"},
		{map[string]string{"STK_OAUTH_CORP_ISSUER": "http://id.example.com"}, "STK_OAUTH_CORP_ISSUER"},
		{map[string]string{"STK_OAUTH_CORP_ISSUER": "id.example.com"}, "STK_OAUTH_CORP_ISSUER"},
		{map[string]string{"STK_OAUTH_CORP_ISSUER": "https://user:" + secret + "@id.example.com"}, "STK_OAUTH_CORP_ISSUER"},
		{map[string]string{"STK_OAUTH_CORP_ISSUER": "https://id.example.com/?x=1"}, "STK_OAUTH_CORP_ISSUER"},
		{map[string]string{"STK_OAUTH_CORP_CLIENT_ID": ""}, "STK_OAUTH_CORP_CLIENT_ID"},
		{map[string]string{"STK_OAUTH_CORP_CLIENT_SECRET": ""}, "STK_OAUTH_CORP_CLIENT_SECRET"},
		{map[string]string{"STK_OAUTH_CORP_ALLOWED_DOMAINS": "a@b.example"}, "STK_OAUTH_CORP_ALLOWED_DOMAINS"},
		{map[string]string{"STK_OAUTH_CORP_ALLOWED_DOMAINS": "localhost"}, "STK_OAUTH_CORP_ALLOWED_DOMAINS"},
		{map[string]string{"STK_OAUTH_CORP_TYPE": "github", "STK_OAUTH_CORP_ISSUER": "http://ghe.example.com"}, "STK_OAUTH_CORP_ISSUER"},
	} {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range tc.set {
			m[k] = v
		}
		_, err := ConfigFromEnv(env(m))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%v: error %v, want one naming %s (without the secret)", tc.set, err, tc.want)
		}
	}
}

func TestLogValueHidesSecret(t *testing.T) {
	c := Config{Name: "corp", Type: "oidc", Issuer: "https://id.example.com", ClientID: "cid", ClientSecret: secret}
	if s := c.LogValue().String(); strings.Contains(s, secret) || !strings.Contains(s, "corp") {
		t.Fatalf("LogValue %s", s)
	}
}
