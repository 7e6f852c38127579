//go:build !wasip1

package plan

// Hashing the secret is left out of the wasip1 build: the Workers runtime
// hashes with WebCrypto and calls AuthenticateDigest, and crypto/sha256
// would only add to its wasm module (SPEC §16, #16).

import (
	"crypto/sha256"
	"time"
)

// Authenticate is AuthenticateDigest of the secret's SHA-256: the Bridge's
// API-key check (SPEC §4.2 step 3, §7.2).
func (e *Env) Authenticate(keyID, secret string, now time.Time) (Caller, error) {
	return e.AuthenticateDigest(keyID, hashSecret(secret), now)
}

// hashSecret is sha256.Sum256 of the secret without a heap copy for the
// usual lengths (secrets are 43 characters).
func hashSecret(secret string) [sha256.Size]byte {
	var buf [128]byte
	if len(secret) <= len(buf) {
		n := copy(buf[:], secret)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(secret))
}
