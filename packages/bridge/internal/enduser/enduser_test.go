package enduser

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/core/authconfig"
)

// clock is the injectable time shared by the issuer and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func issuer(t *testing.T, clk *clock, opts devissuer.Options) *devissuer.Issuer {
	t.Helper()
	opts.Now = clk.Now
	iss, err := devissuer.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

func docFor(issuers ...authconfig.Issuer) *authconfig.Document {
	return &authconfig.Document{Version: 1, Issuers: issuers}
}

func mint(t *testing.T, iss *devissuer.Issuer, sub string, roles []string, claims map[string]any, opts ...devissuer.MintOption) string {
	t.Helper()
	tok, err := iss.Mint(sub, roles, claims, time.Hour, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func verifier(clk *clock) *Verifier { return New(Config{Now: clk.Now}) }

// reason asserts a 401-class failure and returns its reason, checking that
// the token never shows in it.
func reason(t *testing.T, err error, token string) string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if token != "" && (strings.Contains(err.Error(), token) || strings.Contains(err.Error(), strings.Split(token, ".")[0])) {
		t.Fatalf("the error quotes the token: %v", err)
	}
	return e.Reason
}

func TestVerifyAcceptsEveryAllowedAlgorithm(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	for _, alg := range []string{devissuer.ES256, devissuer.RS256, devissuer.PS256} {
		if _, err := iss.Rotate(alg); err != nil {
			t.Fatal(err)
		}
	}
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	for _, alg := range []string{devissuer.EdDSA, devissuer.ES256, devissuer.RS256, devissuer.PS256} {
		tok := mint(t, iss, "alice", []string{"editor", "reader"}, map[string]any{"org": "acme", "n": 3}, devissuer.WithAlg(alg))
		id, err := v.Verify(context.Background(), doc, tok)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if id.IssuerName != "dev" || id.Subject != "alice" || strings.Join(id.Roles, ",") != "editor,reader,authenticated" {
			t.Fatalf("%s: identity %+v", alg, id)
		}
		if id.Claims["org"] != "acme" || id.Claims["n"] != json.Number("3") || id.Claims["sub"] != nil || id.Claims["roles"] != nil || id.Claims["iss"] != iss.URL() {
			t.Fatalf("%s: claims %v", alg, id.Claims)
		}
	}
	if got := iss.JWKSFetches(); got != 1 {
		t.Fatalf("JWKS fetched %d times for one issuer, want 1", got)
	}
}

func TestRolesClaim(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := verifier(clk)
	cases := []struct {
		name, rolesClaim string
		claims           map[string]any
		want             string
	}{
		{"default roles array", "", map[string]any{"roles": []string{"a", "b"}}, "a,b,authenticated"},
		{"default role string", "", map[string]any{"role": "editor"}, "editor,authenticated"},
		{"roles wins over role", "", map[string]any{"roles": "x", "role": "y"}, "x,authenticated"},
		{"custom claim", "https://example.com/roles", map[string]any{"https://example.com/roles": []any{"admin", 7}, "roles": "ignored"}, "admin,authenticated"},
		{"no roles", "", nil, "authenticated"},
		{"authenticated not doubled", "", map[string]any{"roles": []string{"authenticated"}}, "authenticated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL(), RolesClaim: c.rolesClaim})
			id, err := v.Verify(context.Background(), doc, mint(t, iss, "u-"+c.name, nil, c.claims))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(id.Roles, ","); got != c.want {
				t.Fatalf("roles %s, want %s", got, c.want)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{Audience: "my-api"})
	if _, err := iss.Rotate(devissuer.RS256); err != nil {
		t.Fatal(err)
	}
	other := issuer(t, clk, devissuer.Options{Audience: "my-api"})
	rsaKID := iss.KID()
	edKID := ""
	{
		// the first (EdDSA) key's kid, from a token it signs
		tok := mint(t, iss, "x", nil, nil, devissuer.WithAlg(devissuer.EdDSA))
		h, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
		edKID = h.Header["kid"].(string)
	}
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL(), Audience: "my-api"})
	now := clk.Now()

	// alg none and HS256 "signed" with the RSA public key (the classic
	// key-confusion attack), both naming the issuer's RSA kid.
	claims := jwt.MapClaims{"iss": iss.URL(), "sub": "mallory", "aud": "my-api", "exp": now.Add(time.Hour).Unix()}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	none.Header["kid"] = rsaKID
	noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey(rsaKID))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hs.Header["kid"] = rsaKID
	hsTok, err := hs.SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	// A token signed by another issuer's key but naming this issuer's kid
	// (unknown key with a known kid).
	forged := mint(t, other, "mallory", nil, nil, devissuer.WithIssuer(iss.URL()), devissuer.WithKID(edKID), devissuer.WithAlg(devissuer.EdDSA))
	big := mint(t, iss, "alice", nil, map[string]any{"pad": strings.Repeat("x", MaxTokenBytes)})

	cases := []struct {
		name, token string
		doc         *authconfig.Document
		want        string
	}{
		{"expired", mint(t, iss, "alice", nil, nil, devissuer.WithExpiry(now.Add(-2*time.Minute))), doc, "expired"},
		{"not yet valid", mint(t, iss, "alice", nil, nil, devissuer.WithNotBefore(now.Add(2*time.Minute))), doc, "not valid yet"},
		{"wrong iss", mint(t, iss, "alice", nil, nil, devissuer.WithIssuer(iss.URL()+"/")), doc, "issuer is not trusted"},
		{"wrong aud", mint(t, iss, "alice", nil, nil, devissuer.WithAudience("other-api")), doc, "audience"},
		{"no aud", mint(t, iss, "alice", nil, nil, devissuer.WithAudience()), doc, "audience"},
		{"unknown kid", mint(t, iss, "alice", nil, nil, devissuer.WithKID("nope")), doc, "signing key is not among"},
		{"unknown key with a known kid", forged, doc, "signature"},
		// RS256 header on the EdDSA key's kid: the key type must match the alg.
		{"kid of a key of another type", mint(t, iss, "alice", nil, nil, devissuer.WithAlg(devissuer.RS256), devissuer.WithKID(edKID)), doc, "signing key is not among"},
		{"alg none", noneTok, doc, "algorithm"},
		{"HS256 with the public key", hsTok, doc, "algorithm"},
		{"oversized", big, doc, "larger than"},
		{"garbage", "not-a-token", doc, "malformed"},
		{"garbage segments", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", doc, "issuer is not trusted"},
		{"binary", "\x00\x01.\xff.\xfe", doc, "malformed"},
		{"another env's issuer", mint(t, other, "alice", nil, nil), doc, "issuer is not trusted"},
		{"no sub", mint(t, iss, "", nil, nil), doc, "no sub"},
		{"sub not a string", mint(t, iss, "", nil, map[string]any{"sub": 42}), doc, "no sub"},
		{"no exp", mint(t, iss, "alice", nil, nil, devissuer.WithoutExpiry()), doc, "no exp"},
		{"no auth config", mint(t, iss, "alice", nil, nil), nil, "trusts no token issuer"},
		{"empty auth config", mint(t, iss, "alice", nil, nil), docFor(), "trusts no token issuer"},
	}
	v := verifier(clk)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), c.doc, c.token)
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if got := reason(t, err, c.token); !strings.Contains(got, c.want) {
				t.Fatalf("reason %q, want %q", got, c.want)
			}
		})
	}

	// Within the 60 s skew both ways, tokens are accepted.
	for _, tok := range []string{
		mint(t, iss, "alice", nil, nil, devissuer.WithExpiry(now.Add(-50*time.Second))),
		mint(t, iss, "alice", nil, nil, devissuer.WithNotBefore(now.Add(50*time.Second))),
	} {
		if _, err := v.Verify(context.Background(), doc, tok); err != nil {
			t.Fatalf("within skew: %v", err)
		}
	}
}

func TestTokenCache(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{MaxAge: time.Minute})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	tok := mint(t, iss, "alice", nil, nil) // valid one hour
	first, err := v.Verify(context.Background(), doc, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The issuer drops the key; once the key cache is past max-age a new
	// verification would refetch and fail, but the cached one is not
	// verified again.
	old := iss.KID()
	if _, err := iss.Rotate(devissuer.EdDSA); err != nil {
		t.Fatal(err)
	}
	iss.Retire(old)
	clk.Add(2 * time.Minute)
	again, err := v.Verify(context.Background(), doc, tok)
	if err != nil || again != first {
		t.Fatalf("repeat call re-verified: %v %p %p", err, again, first)
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times", n)
	}
	// Another env that does not trust the issuer gets no benefit of the cache.
	otherDoc := docFor(authconfig.Issuer{Name: "prod", Issuer: "https://idp.example.com/"})
	if _, err := v.Verify(context.Background(), otherDoc, tok); err == nil || !strings.Contains(reason(t, err, tok), "not trusted") {
		t.Fatalf("cached token accepted by another env: %v", err)
	}
	// Same issuer, new terms (an audience now required): verified again.
	audDoc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL(), Audience: "api"})
	if _, err := v.Verify(context.Background(), audDoc, tok); err == nil {
		t.Fatal("cached token accepted under a changed issuer config")
	}
	// Past exp, the cache no longer answers.
	clk.Add(time.Hour)
	if _, err := v.Verify(context.Background(), doc, tok); err == nil {
		t.Fatal("expired cached token accepted")
	}
}

func TestTokenCacheBounded(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := New(Config{Now: clk.Now, MaxTokens: 8})
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	for i := range 50 {
		if _, err := v.Verify(context.Background(), doc, mint(t, iss, fmt.Sprint("u", i), nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	v.tokMu.RLock()
	n := len(v.tokens)
	v.tokMu.RUnlock()
	if n > 8 {
		t.Fatalf("token cache holds %d entries, bound 8", n)
	}
}

func TestKeyRotationAtTheIssuer(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "alice", nil, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Rotate(devissuer.ES256); err != nil {
		t.Fatal(err)
	}
	tok := mint(t, iss, "bob", nil, nil)
	// Right after the last fetch the refresh is not due yet.
	clk.Add(10 * time.Second)
	if _, err := v.Verify(context.Background(), doc, tok); err == nil {
		t.Fatal("new kid accepted without a refresh")
	}
	clk.Add(RefreshInterval)
	id, err := v.Verify(context.Background(), doc, tok)
	if err != nil || id.Subject != "bob" {
		t.Fatalf("new kid after the refresh: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refresh)", n)
	}
}

func TestUnknownKidFloodFetchesOncePerInterval(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "alice", nil, nil)); err != nil {
		t.Fatal(err)
	}
	flood := func(round int) {
		var wg sync.WaitGroup
		for i := range 200 {
			tok := mint(t, iss, "mallory", nil, nil, devissuer.WithKID(fmt.Sprintf("kid-%d-%d", round, i)))
			wg.Go(func() {
				if _, err := v.Verify(context.Background(), doc, tok); err == nil {
					t.Error("unknown kid accepted")
				}
			})
		}
		wg.Wait()
	}
	clk.Add(RefreshInterval)
	flood(1)
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("after a flood: %d fetches, want 2", n)
	}
	clk.Add(RefreshInterval - time.Second)
	flood(2)
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("a flood within 30 s of the last fetch: %d fetches, want 2", n)
	}
	clk.Add(time.Second)
	flood(3)
	if n := iss.JWKSFetches(); n != 3 {
		t.Fatalf("a flood 30 s later: %d fetches, want 3", n)
	}
}

func TestIssuerDownWithKeysCached(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{MaxAge: time.Minute})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "alice", nil, nil)); err != nil {
		t.Fatal(err)
	}
	iss.SetDown(true)
	clk.Add(3 * time.Hour) // far past max-age: a refresh is due and fails
	tok := mint(t, iss, "bob", nil, nil)
	id, err := v.Verify(context.Background(), doc, tok)
	if err != nil || id.Subject != "bob" {
		t.Fatalf("stale keys not used while the issuer is down: %v", err)
	}
	// Back up: the next due refresh succeeds.
	iss.SetDown(false)
	clk.Add(RefreshInterval)
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "carol", nil, nil)); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS served %d times, want 2", n)
	}
}

func TestIssuerUnreachableWithNothingCached(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	iss.SetDown(true)
	v := verifier(clk)
	tok := mint(t, iss, "alice", nil, nil)
	for _, doc := range []*authconfig.Document{
		docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()}),
		docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL(), JWKSURL: iss.JWKSURL()}),
	} {
		_, err := v.Verify(context.Background(), doc, tok)
		var e *Error
		if !errors.As(err, &e) || !e.Unavailable || !strings.Contains(e.Reason, "dev") {
			t.Fatalf("want an unavailable error naming the issuer, got %v", err)
		}
	}
	// Plain HTTP beyond loopback is never fetched, whatever the config says.
	insecure := docFor(authconfig.Issuer{Name: "far", Issuer: iss.URL(), JWKSURL: "http://192.0.2.1/jwks.json"})
	_, err := v.Verify(context.Background(), insecure, tok)
	var e *Error
	if !errors.As(err, &e) || !e.Unavailable {
		t.Fatalf("http JWKS beyond loopback: %v", err)
	}
	// jwksUrl given: no discovery needed.
	iss.SetDown(false)
	clk.Add(time.Second)
	direct := docFor(authconfig.Issuer{Name: "direct", Issuer: iss.URL(), JWKSURL: iss.JWKSURL()})
	if _, err := v.Verify(context.Background(), direct, tok); err != nil {
		t.Fatal(err)
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                           DefaultMaxAge,
		"public, max-age=300":        5 * time.Minute,
		"max-age=5":                  MinMaxAge,
		"max-age=999999999999999999": MaxMaxAge,
		"no-store":                   MinMaxAge,
		"private, no-cache":          MinMaxAge,
		"max-age=abc":                DefaultMaxAge,
		`MAX-AGE="7200"`:             2 * time.Hour,
	} {
		if got := maxAge(cc); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestParseJWKRefusesWeakAndForeignKeys(t *testing.T) {
	for name, raw := range map[string]string{
		"oct (HMAC)":   `{"kty":"oct","k":"c2VjcmV0"}`,
		"encryption":   `{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		"RSA 1024":     `{"kty":"RSA","n":"` + strings.Repeat("A", 170) + `","e":"AQAB"}`,
		"P-384":        `{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}`,
		"off-curve":    `{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}`,
		"alg HS256":    `{"kty":"OKP","crv":"Ed25519","alg":"HS256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		"short Ed key": `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`,
	} {
		if k, ok := parseJWK(json.RawMessage(raw)); ok {
			t.Errorf("%s accepted: %+v", name, k)
		}
	}
	if _, ok := parseJWK(json.RawMessage(`{"kty":"OKP","crv":"Ed25519","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)); !ok {
		t.Error("a valid Ed25519 JWK refused")
	}
}

// Concurrent first verifications of distinct tokens share one JWKS fetch
// and all succeed (run with -race).
func TestConcurrentVerification(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = mint(t, iss, fmt.Sprint("user", i), []string{"r"}, nil)
	}
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Go(func() {
			for range 3 {
				id, err := v.Verify(context.Background(), doc, tok)
				if err != nil || id.Subject != fmt.Sprint("user", i) {
					t.Errorf("%d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}

// A numeric claim keeps its exact value: decoded as a float64, a 64-bit id
// such as 9007199254740993 became 9007199254740992, so a condition
// resource.org == request.auth.claims.org matched another org's rows.
func TestNumericClaimsKeepTheirExactValue(t *testing.T) {
	clk := newClock()
	iss := issuer(t, clk, devissuer.Options{})
	v := verifier(clk)
	doc := docFor(authconfig.Issuer{Name: "dev", Issuer: iss.URL()})
	tok := mint(t, iss, "u-1", nil, map[string]any{
		"org": json.Number("9007199254740993"), "ids": []any{json.Number("9007199254740995")}, "level": 1.5})
	id, err := v.Verify(context.Background(), doc, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(id.Claims["org"]); got != "9007199254740993" {
		t.Errorf("org claim %s, want 9007199254740993", got)
	}
	if got := fmt.Sprint(id.Claims["ids"]); got != "[9007199254740995]" {
		t.Errorf("ids claim %s, want [9007199254740995]", got)
	}
	if got := fmt.Sprint(id.Claims["level"]); got != "1.5" {
		t.Errorf("level claim %s, want 1.5", got)
	}
	// exp and nbf still read as times.
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "u-2", nil, nil, devissuer.WithExpiry(clk.Now().Add(-2*time.Minute)))); err == nil {
		t.Error("an expired token verified")
	}
	if _, err := v.Verify(context.Background(), doc, mint(t, iss, "u-3", nil, nil, devissuer.WithNotBefore(clk.Now().Add(2*time.Minute)))); err == nil {
		t.Error("a token not valid yet verified")
	}
}
