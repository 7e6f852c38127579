package devissuer

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func start(t *testing.T, opts Options) *Issuer {
	t.Helper()
	iss, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

func getJSON(t *testing.T, url string, v any) http.Header {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
	return res.Header
}

func TestDiscoveryAndJWKS(t *testing.T) {
	iss := start(t, Options{MaxAge: 90 * time.Second})
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", iss.URL())
	}
	var disc struct{ Issuer, JWKSURI string }
	var d map[string]any
	getJSON(t, iss.URL()+"/.well-known/openid-configuration", &d)
	disc.Issuer, _ = d["issuer"].(string)
	disc.JWKSURI, _ = d["jwks_uri"].(string)
	if disc.Issuer != iss.URL() || disc.JWKSURI != iss.JWKSURL() {
		t.Fatalf("discovery %v", d)
	}
	var set struct{ Keys []map[string]string }
	h := getJSON(t, iss.JWKSURL(), &set)
	if got := h.Get("Cache-Control"); got != "public, max-age=90" {
		t.Fatalf("Cache-Control %q", got)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != iss.KID() || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["alg"] != EdDSA {
		t.Fatalf("keys %v", set.Keys)
	}
	if iss.JWKSFetches() != 1 {
		t.Fatalf("fetches %d", iss.JWKSFetches())
	}
	iss.SetDown(true)
	res, err := http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("down: %d", res.StatusCode)
	}
}

func TestMintVerifiesWithEveryAlg(t *testing.T) {
	iss := start(t, Options{Audience: "api"})
	for _, alg := range []string{ES256, RS256, PS256} {
		if _, err := iss.Rotate(alg); err != nil {
			t.Fatal(err)
		}
	}
	for _, alg := range []string{EdDSA, ES256, RS256, PS256} {
		tok, err := iss.Mint("alice", []string{"editor"}, map[string]any{"org": "acme"}, time.Minute, WithAlg(alg))
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
			return iss.PublicKey(tk.Header["kid"].(string)), nil
		}, jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(iss.URL()), jwt.WithAudience("api"), jwt.WithExpirationRequired())
		if err != nil || !parsed.Valid {
			t.Fatalf("%s: %v", alg, err)
		}
		if claims["sub"] != "alice" || claims["org"] != "acme" || claims["roles"].([]any)[0] != "editor" {
			t.Fatalf("%s: claims %v", alg, claims)
		}
	}
	if _, err := iss.Rotate("HS256"); err == nil {
		t.Fatal("HS256 key accepted")
	}
}

func TestRotateRetireAndOptions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := start(t, Options{Now: func() time.Time { return now }})
	old := iss.KID()
	kid, err := iss.Rotate(ES256)
	if err != nil || kid == old || iss.KID() != kid {
		t.Fatalf("rotate: %v %s %s", err, kid, old)
	}
	var set struct{ Keys []map[string]string }
	getJSON(t, iss.JWKSURL(), &set)
	if len(set.Keys) != 2 {
		t.Fatalf("after rotate: %v", set.Keys)
	}
	iss.Retire(old)
	getJSON(t, iss.JWKSURL(), &set)
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != kid {
		t.Fatalf("after retire: %v", set.Keys)
	}
	tok, err := iss.Mint("bob", nil, nil, time.Hour, WithKID("other"), WithIssuer("https://elsewhere"), WithAudience("a", "b"),
		WithNotBefore(now.Add(time.Minute)), WithExpiry(now.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	tk, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Header["kid"] != "other" || tk.Header["alg"] != ES256 || claims["iss"] != "https://elsewhere" ||
		claims["nbf"].(float64) != float64(now.Add(time.Minute).Unix()) || claims["exp"].(float64) != float64(now.Add(2*time.Hour).Unix()) ||
		len(claims["aud"].([]any)) != 2 || claims["roles"] != nil {
		t.Fatalf("header %v claims %v", tk.Header, claims)
	}
	tok, _ = iss.Mint("bob", nil, nil, time.Hour, WithoutExpiry())
	claims = jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil || claims["exp"] != nil {
		t.Fatalf("without expiry: %v %v", err, claims)
	}
	if _, err := iss.Mint("bob", nil, nil, time.Hour, WithAlg(RS256)); err == nil {
		t.Fatal("minted with a missing RS256 key")
	}
}

func TestKeyFilePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".santokit", "issuer.pem")
	a := start(t, Options{KeyFile: path})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	tok, err := a.Mint("alice", nil, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	b := start(t, Options{KeyFile: path})
	if b.KID() != a.KID() {
		t.Fatalf("kid %s after reload, was %s", b.KID(), a.KID())
	}
	if _, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) { return b.PublicKey(tk.Header["kid"].(string)), nil },
		jwt.WithValidMethods([]string{EdDSA})); err != nil {
		t.Fatalf("old token with reloaded keys: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Options{KeyFile: path}); err == nil {
		t.Fatal("garbage key file accepted")
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		if iss, err := Start(Options{Addr: addr}); err == nil {
			_ = iss.Close()
			t.Fatalf("%s accepted", addr)
		}
	}
}
