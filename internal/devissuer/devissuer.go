// Package devissuer is a small OpenID Connect issuer for tests and local
// development (SPEC §7.3, §14): it serves discovery
// (/.well-known/openid-configuration) and a JWKS on loopback, holds
// signing keys (EdDSA, ES256, RS256, PS256) that it can rotate and keep in
// a 0600 file, and mints end-user tokens. The Bridge's verification tests,
// the conformance runner, the e2e suite and `stk dev` all trust one of
// these instead of a real identity provider. It never listens beyond
// loopback: anyone who can reach it can mint tokens it signs.
package devissuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signing algorithms the issuer can hold keys for: the Bridge's allow-list.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
	RS256 = "RS256"
	PS256 = "PS256"
)

// Options configure Start.
type Options struct {
	// Addr is the loopback address to listen on (default 127.0.0.1:0).
	Addr string
	// Listener, when set, is served instead of listening on Addr (stk dev
	// opens it itself, so that an address in use is reported as its other
	// listeners' are); it must be on loopback too.
	Listener net.Listener
	// Alg of the first signing key (default EdDSA).
	Alg string
	// KeyFile, when set, keeps the signing keys as PEM (mode 0600): they
	// are loaded from it when it exists and written to it otherwise, so
	// tokens stay valid across restarts (stk dev keeps it under .santokit/).
	KeyFile string
	// Audience, when set, is the `aud` of minted tokens.
	Audience string
	// MaxAge is the JWKS response's Cache-Control max-age (default 5m).
	MaxAge time.Duration
	// Now is the clock for iat/nbf/exp (time.Now when nil).
	Now func() time.Time
	// Routes, when set, adds routes to the issuer's listener before it
	// serves (stk dev's token endpoint, which mints with this issuer).
	Routes func(*Issuer, *http.ServeMux)
}

// Issuer is a running development issuer.
type Issuer struct {
	opts Options
	url  string
	srv  *http.Server
	ln   net.Listener

	mu   sync.Mutex
	keys []*key // keys[len-1] signs; all are published
	down bool

	jwksFetches atomic.Int64
}

type key struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// Start creates (or loads) the keys and serves discovery and the JWKS on
// a loopback address. Close stops it.
func Start(opts Options) (*Issuer, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Alg == "" {
		opts.Alg = EdDSA
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Listener != nil {
		opts.Addr = opts.Listener.Addr().String()
	}
	if err := checkLoopback(opts.Addr); err != nil {
		return nil, err
	}
	iss := &Issuer{opts: opts}
	if opts.KeyFile != "" {
		keys, err := loadKeys(opts.KeyFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		iss.keys = keys
	}
	if len(iss.keys) == 0 {
		if _, err := iss.Rotate(opts.Alg); err != nil {
			return nil, err
		}
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", opts.Addr); err != nil {
			return nil, fmt.Errorf("devissuer: %w", err)
		}
	}
	iss.ln = ln
	iss.url = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /jwks.json", iss.jwks)
	if opts.Routes != nil {
		opts.Routes(iss, mux)
	}
	iss.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = iss.srv.Serve(ln) }()
	return iss, nil
}

// checkLoopback refuses an address beyond loopback.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devissuer: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("devissuer: address %q is not loopback: a development issuer must not be reachable from other machines", addr)
	}
	return nil
}

// Open is an issuer that only mints: the keys kept in keyFile (by a Start
// with that KeyFile) signing as issuerURL, the URL that Start served. It
// serves nothing, so `stk dev token` mints while, or after, stk dev serves
// the same keys. A missing key file is an error wrapping fs.ErrNotExist.
func Open(keyFile, issuerURL string) (*Issuer, error) {
	keys, err := loadKeys(keyFile)
	if err != nil {
		return nil, err
	}
	return &Issuer{opts: Options{KeyFile: keyFile, Now: time.Now}, url: issuerURL, keys: keys}, nil
}

// URL is the issuer identifier (the `iss` of its tokens), without a
// trailing slash.
func (i *Issuer) URL() string { return i.url }

// JWKSURL is the address of its key set.
func (i *Issuer) JWKSURL() string { return i.url + "/jwks.json" }

// Close stops serving (an Issuer from Open serves nothing).
func (i *Issuer) Close() error {
	if i.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return i.srv.Shutdown(ctx)
}

// SetDown makes discovery and the JWKS answer 503 (true) or serve again
// (false): an identity provider outage, for tests.
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	i.down = down
	i.mu.Unlock()
}

// JWKSFetches counts the JWKS responses served, for tests of caching.
func (i *Issuer) JWKSFetches() int64 { return i.jwksFetches.Load() }

// Rotate adds a new signing key of alg (EdDSA, ES256, RS256 or PS256) and
// signs with it from now on; earlier keys stay published, so tokens they
// signed still verify. It returns the new key's kid.
func (i *Issuer) Rotate(alg string) (string, error) {
	priv, err := generate(alg)
	if err != nil {
		return "", err
	}
	k := &key{kid: newKID(), alg: alg, priv: priv}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k)
	if i.opts.KeyFile != "" {
		if err := saveKeys(i.opts.KeyFile, i.keys); err != nil {
			i.keys = i.keys[:len(i.keys)-1]
			return "", err
		}
	}
	return k.kid, nil
}

// Retire stops publishing the key kid (it can no longer verify anything).
func (i *Issuer) Retire(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for n, k := range i.keys {
		if k.kid == kid {
			i.keys = append(i.keys[:n:n], i.keys[n+1:]...)
			break
		}
	}
	if i.opts.KeyFile != "" {
		_ = saveKeys(i.opts.KeyFile, i.keys)
	}
}

// KID is the kid of the current signing key.
func (i *Issuer) KID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keys[len(i.keys)-1].kid
}

// PublicKey returns the public key of kid (nil if unknown).
func (i *Issuer) PublicKey(kid string) crypto.PublicKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		if k.kid == kid {
			return k.priv.Public()
		}
	}
	return nil
}

// MintOption adjusts one minted token (tests use them to make bad ones).
type MintOption func(*mint)

type mint struct {
	kid       *string
	alg       string
	iss       *string
	aud       []string
	audSet    bool
	nbf, exp  *time.Time
	noExp     bool
	keyForAlg bool
}

// WithKID sets the header's kid (the token is still signed by the current key).
func WithKID(kid string) MintOption { return func(m *mint) { m.kid = &kid } }

// WithAlg signs with the newest key of alg (which Rotate must have made).
func WithAlg(alg string) MintOption { return func(m *mint) { m.alg = alg; m.keyForAlg = true } }

// WithIssuer sets `iss` (default: the issuer's URL).
func WithIssuer(iss string) MintOption { return func(m *mint) { m.iss = &iss } }

// WithAudience sets `aud` (default: Options.Audience, if any); with no
// value the token has no `aud`.
func WithAudience(aud ...string) MintOption { return func(m *mint) { m.aud, m.audSet = aud, true } }

// WithNotBefore sets `nbf`.
func WithNotBefore(t time.Time) MintOption { return func(m *mint) { m.nbf = &t } }

// WithExpiry sets `exp` (instead of now + ttl).
func WithExpiry(t time.Time) MintOption { return func(m *mint) { m.exp = &t } }

// WithoutExpiry leaves `exp` out.
func WithoutExpiry() MintOption { return func(m *mint) { m.noExp = true } }

// Mint signs a token for sub with roles (the `roles` claim, omitted when
// empty) and extra claims, valid for ttl from now.
func (i *Issuer) Mint(sub string, roles []string, claims map[string]any, ttl time.Duration, opts ...MintOption) (string, error) {
	var m mint
	for _, o := range opts {
		o(&m)
	}
	now := i.opts.Now()
	c := jwt.MapClaims{}
	for k, v := range claims {
		c[k] = v
	}
	c["iss"] = i.url
	if m.iss != nil {
		c["iss"] = *m.iss
	}
	if sub != "" {
		c["sub"] = sub
	}
	if len(roles) > 0 {
		c["roles"] = roles
	}
	switch {
	case m.audSet && len(m.aud) > 0:
		c["aud"] = m.aud
	case m.audSet:
	case i.opts.Audience != "":
		c["aud"] = i.opts.Audience
	}
	c["iat"] = now.Unix()
	if m.nbf != nil {
		c["nbf"] = m.nbf.Unix()
	}
	if !m.noExp {
		exp := now.Add(ttl)
		if m.exp != nil {
			exp = *m.exp
		}
		c["exp"] = exp.Unix()
	}

	i.mu.Lock()
	k := i.keys[len(i.keys)-1]
	if m.keyForAlg {
		k = nil
		for _, cand := range i.keys {
			if cand.alg == m.alg {
				k = cand
			}
		}
	}
	i.mu.Unlock()
	if k == nil {
		return "", fmt.Errorf("devissuer: no key for %s (Rotate(%q) makes one)", m.alg, m.alg)
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.alg), c)
	tok.Header["kid"] = k.kid
	if m.kid != nil {
		tok.Header["kid"] = *m.kid
	}
	return tok.SignedString(k.priv)
}

func (i *Issuer) isDown() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.down
}

func (i *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	if i.isDown() {
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.JWKSURL(),
		"id_token_signing_alg_values_supported": []string{EdDSA, ES256, RS256, PS256},
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"id_token"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	if i.isDown() {
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	i.jwksFetches.Add(1)
	i.mu.Lock()
	set := make([]map[string]string, 0, len(i.keys))
	for _, k := range i.keys {
		set = append(set, jwk(k))
	}
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(i.opts.MaxAge/time.Second)))
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
}

// jwk is the public JWK (RFC 7517/7518/8037) of k.
func jwk(k *key) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": k.kid, "alg": k.alg, "use": "sig"}
	switch pub := k.priv.Public().(type) {
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(pub)
	case *ecdsa.PublicKey:
		if raw, err := pub.Bytes(); err == nil { // 0x04 || X || Y
			m["kty"], m["crv"] = "EC", "P-256"
			m["x"], m["y"] = b64(raw[1:33]), b64(raw[33:])
		}
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return m
}

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256, PS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("devissuer: unsupported algorithm %q (EdDSA, ES256, RS256, PS256)", alg)
}

// generateCheck reports whether alg is one the issuer can sign with.
func generateCheck(alg string) (bool, error) {
	switch alg {
	case EdDSA, ES256, RS256, PS256:
		return true, nil
	}
	return false, fmt.Errorf("devissuer: unsupported algorithm %q", alg)
}

func newKID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "dev-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// saveKeys writes the keys as PKCS#8 PEM blocks carrying kid and alg
// headers, atomically and readable by the owner only.
func saveKeys(path string, keys []*key) error {
	var out []byte
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return fmt.Errorf("devissuer: %w", err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Kid": k.kid, "Alg": k.alg}, Bytes: der})...)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".devissuer-*")
	if err != nil {
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("devissuer: key file: %w", err)
	}
	return nil
}

func loadKeys(path string) ([]*key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []*key
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		parsed, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("devissuer: key file %s: %w", path, err)
		}
		signer, ok := parsed.(crypto.Signer)
		if _, err := generateCheck(b.Headers["Alg"]); !ok || b.Headers["Kid"] == "" || err != nil {
			return nil, fmt.Errorf("devissuer: key file %s: a key without kid or of an unknown type", path)
		}
		keys = append(keys, &key{kid: b.Headers["Kid"], alg: b.Headers["Alg"], priv: signer})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("devissuer: key file %s holds no key", path)
	}
	return keys, nil
}
