package enduser

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/santokit/santokit/packages/core/authconfig"
)

// Key cache rules of SPEC §7.3.
const (
	// DefaultMaxAge applies when the JWKS response gives no max-age.
	DefaultMaxAge = 10 * time.Minute
	MinMaxAge     = time.Minute
	MaxMaxAge     = 24 * time.Hour
	// RefreshInterval: an issuer's JWKS is fetched at most once per
	// interval once it has keys (an unknown kid, or keys past max-age).
	RefreshInterval = 30 * time.Second
	// retryFirstLoad: an issuer never reached is retried this often, so a
	// Bridge that starts before its issuer recovers quickly.
	retryFirstLoad = time.Second
	// fetchTimeout bounds discovery plus the JWKS fetch.
	fetchTimeout = 5 * time.Second
	// maxDocBytes bounds a discovery document or JWKS.
	maxDocBytes = 1 << 20
	minRSABits  = 2048
)

// issuerKey identifies a key source: the same issuer trusted by several
// envs shares one cache.
type issuerKey struct{ issuer, jwksURL string }

// keySet is one issuer's cached JWKS.
type keySet struct {
	src  issuerKey
	name string // for logs

	mu        sync.Mutex
	keys      []publicKey
	loaded    bool          // keys came from at least one successful fetch
	expires   time.Time     // max-age of the last successful fetch
	lastFetch time.Time     // last attempt, successful or not
	jwksURI   string        // from discovery (or the configured jwksUrl)
	inflight  chan struct{} // closed when the running fetch ends; nil when none runs
}

type publicKey struct {
	kid, alg string // alg may be empty (the JWK did not say)
	key      crypto.PublicKey
}

func (v *Verifier) keys(iss *authconfig.Issuer) *keySet {
	k := issuerKey{iss.Issuer, iss.JWKSURL}
	v.mu.Lock()
	defer v.mu.Unlock()
	ks := v.issuer[k]
	if ks == nil {
		ks = &keySet{src: k, name: iss.Name, jwksURI: iss.JWKSURL}
		v.issuer[k] = ks
	}
	return ks
}

// lookup returns the key(s) that may verify a token of alg with kid
// (golang-jwt tries each of a VerificationKeySet), fetching the JWKS when
// nothing is cached, when the cache is past max-age, or when kid is
// unknown — within the refresh interval, one fetch at a time: callers that
// find no usable key while a fetch runs wait for it. Stale keys keep
// serving while the issuer cannot be reached.
func (ks *keySet) lookup(ctx context.Context, v *Verifier, kid, alg string) (any, error) {
	now := v.cfg.Now()
	ks.mu.Lock()
	found := ks.match(kid, alg)
	due := false
	switch {
	case !ks.loaded:
		due = ks.lastFetch.IsZero() || now.Sub(ks.lastFetch) >= retryFirstLoad
	case len(found.Keys) == 0 || !now.Before(ks.expires):
		due = now.Sub(ks.lastFetch) >= RefreshInterval
	}
	switch {
	case ks.inflight != nil && len(found.Keys) == 0:
		wait := ks.inflight
		ks.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
		}
		ks.mu.Lock()
		found = ks.match(kid, alg)
	case ks.inflight == nil && due:
		done := make(chan struct{})
		ks.inflight, ks.lastFetch = done, now
		ks.mu.Unlock()
		ks.refresh(ctx, v)
		ks.mu.Lock()
		ks.inflight = nil
		close(done)
		found = ks.match(kid, alg)
	}
	loaded := ks.loaded
	ks.mu.Unlock()
	if len(found.Keys) > 0 {
		return found, nil
	}
	if !loaded {
		return nil, &Error{Reason: fmt.Sprintf("the keys of token issuer %s cannot be fetched", ks.name), Unavailable: true}
	}
	if kid != "" {
		return nil, invalid("the token's signing key is not among issuer %s's keys", ks.name)
	}
	return nil, invalid("issuer %s has no %s key", ks.name, alg)
}

// match returns the cached keys usable for alg: the one with kid, or every
// compatible key when the token names none. The caller holds ks.mu.
func (ks *keySet) match(kid, alg string) jwt.VerificationKeySet {
	var set jwt.VerificationKeySet
	for _, k := range ks.keys {
		if (kid == "" || k.kid == kid) && compatible(k, alg) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	return set
}

// compatible: the key's type must match the algorithm (an RSA key never
// verifies an ES256 token, an EC key only on P-256), and a JWK that names
// its alg is used for that alg only.
func compatible(k publicKey, alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "PS256"
	case *ecdsa.PublicKey:
		return alg == "ES256" && key.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// refresh fetches the JWKS (after discovery when needed) and swaps it in;
// a failure keeps the keys held so far. The caller owns ks.inflight.
func (ks *keySet) refresh(ctx context.Context, v *Verifier) {
	ks.mu.Lock()
	jwksURI := ks.jwksURI
	ks.mu.Unlock()

	// Detached from the caller: waiting callers share this fetch.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	keys, maxAge, jwksURI, err := fetchKeys(ctx, v.cfg.Client, ks.src.issuer, jwksURI)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		if ks.src.jwksURL == "" {
			ks.jwksURI = "" // discover again next time: the IdP may have moved it
		}
		v.cfg.Log.Warn("token issuer keys unavailable", "issuer", ks.name, "stale", ks.loaded, "error", err.Error())
		return
	}
	ks.keys, ks.loaded, ks.jwksURI = keys, true, jwksURI
	ks.expires = v.cfg.Now().Add(maxAge)
	v.cfg.Log.Debug("token issuer keys fetched", "issuer", ks.name, "keys", len(keys), "maxAge", maxAge.String())
}

// fetchKeys runs discovery when jwksURI is empty, then fetches the JWKS.
func fetchKeys(ctx context.Context, client *http.Client, issuer, jwksURI string) ([]publicKey, time.Duration, string, error) {
	if jwksURI == "" {
		var disc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if _, err := getJSON(ctx, client, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
			return nil, 0, "", fmt.Errorf("discovery: %w", err)
		}
		// OpenID Connect Discovery §4.3: the document must name the
		// issuer it was fetched for.
		if disc.Issuer != issuer {
			return nil, 0, "", errors.New("discovery: the document names another issuer")
		}
		if disc.JWKSURI == "" {
			return nil, 0, "", errors.New("discovery: no jwks_uri")
		}
		jwksURI = disc.JWKSURI
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	hdr, err := getJSON(ctx, client, jwksURI, &set)
	if err != nil {
		return nil, 0, "", fmt.Errorf("jwks: %w", err)
	}
	keys := make([]publicKey, 0, len(set.Keys))
	for _, raw := range set.Keys {
		if k, ok := parseJWK(raw); ok {
			keys = append(keys, k)
		}
	}
	return keys, maxAge(hdr.Get("Cache-Control")), jwksURI, nil
}

// maxAge reads Cache-Control's max-age, clamped to [MinMaxAge, MaxMaxAge];
// no-store/no-cache get the minimum, absence the default.
func maxAge(cc string) time.Duration {
	age := DefaultMaxAge
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store", d == "no-cache":
			return MinMaxAge
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(d, "max-age="), `"`), 10, 64)
			if err == nil && n >= 0 {
				age = time.Duration(min(n, int64(MaxMaxAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, MinMaxAge), MaxMaxAge)
}

// jwk is the part of RFC 7517/7518/8037 JSON Web Keys the allow-list uses.
type jwk struct {
	Kty, Kid, Alg, Use, Crv string
	N, E, X, Y              string
}

// parseJWK returns a verification key, skipping (ok=false) encryption
// keys, private or unsupported key types, weak RSA and invalid points.
func parseJWK(raw json.RawMessage) (publicKey, bool) {
	var j jwk
	if json.Unmarshal(raw, &j) != nil || (j.Use != "" && j.Use != "sig") {
		return publicKey{}, false
	}
	if j.Alg != "" && !contains(algorithms, j.Alg) {
		return publicKey{}, false
	}
	b64 := base64.RawURLEncoding.DecodeString
	k := publicKey{kid: j.Kid, alg: j.Alg}
	switch j.Kty {
	case "RSA":
		n, err1 := b64(j.N)
		e, err2 := b64(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return k, false
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < minRSABits || pub.E < 3 || pub.E%2 == 0 {
			return k, false
		}
		k.key = pub
	case "EC":
		x, err1 := b64(j.X)
		y, err2 := b64(j.Y)
		if j.Crv != "P-256" || err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return k, false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return k, false
		}
		k.key = pub
	case "OKP":
		x, err := b64(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return k, false
		}
		k.key = ed25519.PublicKey(x)
	default:
		return k, false
	}
	return k, true
}

// getJSON GETs a bounded JSON document over an allowed URL.
func getJSON(ctx context.Context, client *http.Client, rawURL string, v any) (http.Header, error) {
	if err := checkURL(rawURL); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return nil, fmt.Errorf("answered %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxDocBytes {
		return nil, fmt.Errorf("document larger than %d bytes", maxDocBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, errors.New("not a JSON document")
	}
	return res.Header, nil
}

// checkURL allows https, and http only to loopback hosts (SPEC §7.3): the
// Hub validated the config, the Bridge checks again what it fetches —
// including discovered jwks_uri values and redirects.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return errors.New("only https:// (or http:// on loopback) is fetched")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewClient is the default discovery/JWKS client: bounded time, a few
// redirects that must stay on allowed URLs.
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = fetchTimeout
	return &http.Client{
		Transport: tr,
		Timeout:   fetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return checkURL(req.URL.String())
		},
	}
}
