//go:build !wasip1

package apikey

// Hashing is left out of the wasip1 build: the Workers planner only parses
// keys, its TypeScript shell hashes secrets with WebCrypto (SPEC §16, #16),
// and crypto/sha256 would only add to its wasm module.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// Hash is the stored form of a secret: hex SHA-256. The secret is
// high-entropy, so a slow hash would add only latency (SPEC §7.2).
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether secret matches the stored hash, in constant time.
func Verify(storedHash, secret string) bool {
	want, ok := ParseHash(storedHash)
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}
