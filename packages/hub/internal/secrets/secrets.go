// Package secrets is the Hub's key ring (SPEC §10): versioned AES-256-GCM
// keys from STK_MASTER_KEYS, the first one active. Every ciphertext records
// the version of the key that sealed it and a fresh 96-bit nonce, and is bound
// to its row by associated data, so that ciphertexts cannot be swapped
// between rows and old versions stay readable while a rotation runs.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

var versionRe = regexp.MustCompile(`^v[0-9]{1,9}$`)

// Ring is an immutable set of versioned keys; Active seals, all open.
type Ring struct {
	active string
	aeads  map[string]cipher.AEAD
	order  []string
}

// ErrUnknownVersion: a ciphertext names a key version the ring lacks.
var ErrUnknownVersion = errors.New("secrets: key version not in the key ring")

// ErrDecrypt: authentication failed (wrong key, wrong row, tampered data).
var ErrDecrypt = errors.New("secrets: ciphertext does not authenticate")

// Parse reads a key ring in the STK_MASTER_KEYS format
// "v2:<base64 32 bytes>,v1:<base64 32 bytes>". Error messages name the
// offending version but never echo key material.
func Parse(spec string) (*Ring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("STK_MASTER_KEYS is empty: set it to v1:<base64 of 32 random bytes> (e.g. `openssl rand -base64 32`)")
	}
	r := &Ring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		version, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !versionRe.MatchString(version) {
			return nil, fmt.Errorf("STK_MASTER_KEYS entry %d: want v<N>:<base64 key>", i+1)
		}
		if _, dup := r.aeads[version]; dup {
			return nil, fmt.Errorf("STK_MASTER_KEYS: version %s appears twice", version)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			key, err = base64.RawStdEncoding.DecodeString(b64)
		}
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("STK_MASTER_KEYS: key %s must be base64 of exactly %d bytes", version, KeySize)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		r.aeads[version] = aead
		r.order = append(r.order, version)
		if i == 0 {
			r.active = version
		}
	}
	return r, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// GenerateSpec returns a new one-key ring spec "v1:<base64>" (stk dev).
func GenerateSpec() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return "v1:" + base64.StdEncoding.EncodeToString(key), nil
}

// Active is the version new ciphertexts are sealed with.
func (r *Ring) Active() string { return r.active }

// Versions lists the ring's versions, active first.
func (r *Ring) Versions() []string { return append([]string(nil), r.order...) }

// Has reports whether the ring holds version v.
func (r *Ring) Has(v string) bool { _, ok := r.aeads[v]; return ok }

// Seal encrypts plaintext under the active key, bound to aad. The result is
// nonce || ciphertext+tag; the version is returned to be stored beside it.
func (r *Ring) Seal(plaintext, aad []byte) (version string, blob []byte, err error) {
	aead := r.aeads[r.active]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return r.active, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts blob sealed under version with the same aad.
func (r *Ring) Open(version string, blob, aad []byte) ([]byte, error) {
	aead, ok := r.aeads[version]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownVersion, version)
	}
	n := aead.NonceSize()
	if len(blob) < n+aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := aead.Open(nil, blob[:n], blob[n:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// ConnectionAAD is the associated data binding a connection URL ciphertext
// to its row (SPEC §10: project/env/connection).
func ConnectionAAD(project, env, connection string) []byte {
	return []byte("connection:" + project + "/" + env + "/" + connection)
}

// SigningKeyAAD is the associated data binding a sealed access-token
// signing key (an Ed25519 private key) to its row in signing_keys.
func SigningKeyAAD(id string) []byte {
	return []byte("signing-key:" + id)
}

// Reseal opens blob (sealed under version with aad) and seals its plaintext
// again under the active key, bound to the same aad: what `stk-hub keys
// rotate` does to each secret. The plaintext never leaves this function.
func (r *Ring) Reseal(version string, blob, aad []byte) (newVersion string, newBlob []byte, err error) {
	pt, err := r.Open(version, blob, aad)
	if err != nil {
		return "", nil, err
	}
	defer clear(pt)
	return r.Seal(pt, aad)
}
