//go:build !wasip1

package apikey

// Key generation is left out of the wasip1 build: the Workers planner only
// parses and verifies keys, and crypto/rand with math/big would only add to
// its wasm module (decision 0030).

import (
	"crypto/rand"
	"math/big"
	"strings"

	"github.com/santokit/santokit/packages/core/ids"
)

// Generate returns a new key id, its secret and the full key to hand out.
func Generate() (keyID, secret, key string, err error) {
	if secret, err = Secret(); err != nil {
		return "", "", "", err
	}
	keyID = ids.New(ids.Key)
	return keyID, secret, prefix + keyID + "_" + secret, nil
}

// Secret returns 32 random bytes as SecretLen base62 characters. The Hub
// also uses it for CI tokens and refresh tokens.
func Secret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := new(big.Int).SetBytes(b).Text(62)
	// Leading zero bytes shorten the number: pad so every secret has one length.
	return strings.Repeat("0", SecretLen-len(secret)) + secret, nil
}
