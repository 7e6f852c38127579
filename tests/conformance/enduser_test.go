package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
)

// audience is the `aud` the runner's issuer puts in its tokens and that
// fixtures/auth.yaml requires.
const audience = "conformance"

// User is the end user a case calls as (SPEC §4.2, §7.3): the runner mints
// a token for it with its own issuer, which fixtures/auth.yaml makes env
// dev trust, and sends it as `Authorization: Bearer` with the hint headers
// of dev (a case's headers may name another env).
type User struct {
	// Sub is the token's `sub`; empty leaves the claim out.
	Sub string `json:"sub"`
	// Roles is the `roles` claim; empty leaves it out.
	Roles []string `json:"roles,omitempty"`
	// Claims are further claims (request.auth.claims.<name>).
	Claims map[string]any `json:"claims,omitempty"`
	// Token makes a bad token instead: "expired" (an hour ago, past the
	// 60 s skew), "wrong-audience", or "untrusted" (signed by an issuer no
	// env trusts).
	Token string `json:"token,omitempty"`
}

var tokenKinds = []string{"", "expired", "wrong-audience", "untrusted"}

func (u *User) problems() []string {
	var p []string
	if !slices.Contains(tokenKinds, u.Token) {
		p = append(p, fmt.Sprintf("unknown user token %q (known: expired, wrong-audience, untrusted)", u.Token))
	}
	return p
}

// issuers are the runner's own OIDC issuers: trusted (named in env dev's
// auth config) and untrusted (named nowhere).
type issuers struct {
	trusted, untrusted *devissuer.Issuer
}

// startIssuers starts both loopback issuers for the life of the test.
func startIssuers(t *testing.T) *issuers {
	t.Helper()
	var is issuers
	for _, p := range []**devissuer.Issuer{&is.trusted, &is.untrusted} {
		iss, err := devissuer.Start(devissuer.Options{Audience: audience})
		if err != nil {
			t.Fatalf("devissuer: %v", err)
		}
		t.Cleanup(func() { _ = iss.Close() })
		*p = iss
	}
	return &is
}

// authConfig is fixtures/auth.yaml with ${ISSUER} replaced by the trusted
// issuer's URL.
func (is *issuers) authConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("fixtures", "auth.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), "${ISSUER}", is.trusted.URL())
}

// token mints the case's token.
func (is *issuers) token(t *testing.T, u *User) string {
	t.Helper()
	iss := is.trusted
	var opts []devissuer.MintOption
	switch u.Token {
	case "expired":
		opts = append(opts, devissuer.WithExpiry(time.Now().Add(-time.Hour)))
	case "wrong-audience":
		opts = append(opts, devissuer.WithAudience("someone-else"))
	case "untrusted":
		iss = is.untrusted
	}
	tok, err := iss.Mint(u.Sub, u.Roles, u.Claims, 10*time.Minute, opts...)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}
