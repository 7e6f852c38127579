package devstack

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
)

// The development OIDC issuer (SPEC §14, docs/decisions/0021). Its URL is
// its identifier (the `iss` of its tokens, the `issuer` in auth.yaml), so a
// fixed default address keeps it, and the tokens it signed, valid across
// restarts; the example and the `stk init` template name that URL in their
// config/auth.yaml.
const (
	DefaultIssuerAddr = "127.0.0.1:4001"
	DefaultIssuerURL  = "http://" + DefaultIssuerAddr
	// DevUser is the end user of the printed end-user curl: the example
	// seeds notes of alice and bob.
	DevUser = "alice"
	// DefaultTokenTTL is how long `stk dev token` tokens stay valid.
	DefaultTokenTTL = time.Hour
	// readyTokenTTL is how long the token of the printed curl stays valid.
	readyTokenTTL = 24 * time.Hour
)

// The issuer's files in .santokit/: its signing keys (PEM, 0600, written by
// devissuer) and the URL it last served, for `stk dev token`.
const (
	issuerKeysName = "issuer.keys"
	issuerURLName  = "issuer.url"
)

// startIssuer serves the dev issuer on l with the keys of .santokit/ (made
// on first use) and records its URL there.
// routes adds the token endpoint.
func (s *state) startIssuer(l net.Listener, routes func(*devissuer.Issuer, *http.ServeMux)) (*devissuer.Issuer, error) {
	iss, err := devissuer.Start(devissuer.Options{Listener: l, KeyFile: s.path(issuerKeysName), Routes: routes})
	if err != nil {
		return nil, fmt.Errorf("start the dev issuer: %w", err)
	}
	if err := os.WriteFile(s.path(issuerURLName), []byte(iss.URL()+"\n"), 0o600); err != nil {
		_ = iss.Close()
		return nil, fmt.Errorf("write %s: %w", s.path(issuerURLName), unwrapPath(err))
	}
	return iss, nil
}

// resolveIssuer makes an auth config trust the dev issuer where it runs:
// each DefaultIssuerURL in src becomes url when the issuer listens
// elsewhere (--issuer-addr), so that the same config/auth.yaml works on any
// port. Only that URL is rewritten, on its own line, so line numbers in the
// Hub's problems stay those of the file.
func resolveIssuer(src []byte, url string) []byte {
	if url == DefaultIssuerURL || len(src) == 0 {
		return src
	}
	return defaultIssuerRe.ReplaceAll(src, []byte(url+"${1}"))
}

// defaultIssuerRe matches DefaultIssuerURL and the character after it,
// which must not continue the port (http://127.0.0.1:40010 is another URL).
var defaultIssuerRe = regexp.MustCompile(regexp.QuoteMeta(DefaultIssuerURL) + `([^0-9]|$)`)

// Token is an end-user token minted by the dev issuer.
type Token struct {
	Token     string         `json:"token"`
	Sub       string         `json:"sub"`
	Roles     []string       `json:"roles"`
	Claims    map[string]any `json:"claims"`
	Issuer    string         `json:"issuer"`
	ExpiresAt time.Time      `json:"expiresAt"`
}

// NoIssuerError is a directory without the dev issuer's keys: stk dev has
// not run there.
type NoIssuerError struct {
	// Dir is the state directory looked in, as given.
	Dir string
}

func (e *NoIssuerError) Error() string {
	return "no dev issuer in " + e.Dir + ": run stk dev in that directory first (it creates the issuer's keys there), or name the project directory: stk dev token DIR --sub …"
}

// reservedClaims are the claims a token's options set themselves.
var reservedClaims = []string{"iss", "sub", "exp", "iat", "nbf", "roles"}

// MintToken signs an end-user token for sub with the dev issuer kept in
// dir/.santokit (while stk dev serves it, or after): roles become the
// `roles` claim, claims are added as they are, ttl from now (>0).
func MintToken(dir, sub string, roles []string, claims map[string]any, ttl time.Duration) (Token, error) {
	if field, msg := tokenProblem(sub, roles, claims); field != "" {
		return Token{}, usagef("--%s: %s", field, msg)
	}
	if ttl <= 0 {
		return Token{}, usagef("--ttl: want a positive duration, e.g. 1h or 30m")
	}
	if dir == "" {
		dir = "."
	}
	stateDir := filepath.Join(dir, StateDirName)
	b, err := os.ReadFile(filepath.Join(stateDir, issuerURLName))
	if errors.Is(err, fs.ErrNotExist) {
		return Token{}, &NoIssuerError{Dir: stateDir}
	}
	if err != nil {
		return Token{}, fmt.Errorf("read %s: %w", filepath.Join(stateDir, issuerURLName), unwrapPath(err))
	}
	url := strings.TrimSpace(string(b))
	iss, err := devissuer.Open(filepath.Join(stateDir, issuerKeysName), url)
	if errors.Is(err, fs.ErrNotExist) {
		return Token{}, &NoIssuerError{Dir: stateDir}
	}
	if err != nil {
		return Token{}, err
	}
	exp := time.Now().Add(ttl)
	tok, err := iss.Mint(sub, roles, claims, ttl, devissuer.WithExpiry(exp))
	if err != nil {
		return Token{}, err
	}
	if roles == nil {
		roles = []string{}
	}
	if claims == nil {
		claims = map[string]any{}
	}
	return Token{Token: tok, Sub: sub, Roles: roles, Claims: claims, Issuer: url, ExpiresAt: exp.UTC().Truncate(time.Second)}, nil
}
