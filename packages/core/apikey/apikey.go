// Package apikey is the data-plane API key format of SPEC §7.2:
// "stk_" + keyId + "_" + secret, keyId = "key_" + ULID, secret = 32 random
// bytes in base62. The Hub generates keys and stores only the SHA-256 of the
// secret; the Bridge parses presented keys and verifies them against that
// hash in constant time.
package apikey

import (
	"strings"

	"github.com/santokit/santokit/packages/core/ids"
)

const (
	prefix = "stk_"
	// secretBytes is the entropy of a secret (SPEC §7.2: ≥ 32 bytes).
	secretBytes = 32
	// SecretLen is the base62 length of a secret: ceil(256 / log2(62)).
	SecretLen = 43
)

// Parse splits a presented key into key id and secret. ok is false for
// anything not shaped like a key (→ 401 at the Bridge, SPEC §4.2).
func Parse(key string) (keyID, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, prefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return "", "", false
	}
	keyID, secret = rest[:i], rest[i+1:]
	if !ids.Valid(ids.Key, keyID) || len(secret) != SecretLen || !base62(secret) {
		return "", "", false
	}
	return keyID, secret, true
}

func base62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// HashSize is the size of a secret's SHA-256, the stored form's bytes.
const HashSize = 32

// ParseHash decodes a stored hash (Hash's hex, either case). ok is false
// unless it is exactly HashSize bytes of hex. It is written out rather than
// encoding/hex's because hex's error type formats with fmt, which the
// Workers planner does not link (SPEC §16, #16).
func ParseHash(s string) (sum [HashSize]byte, ok bool) {
	if len(s) != 2*HashSize {
		return sum, false
	}
	for i := range sum {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return [HashSize]byte{}, false
		}
		sum[i] = hi<<4 | lo
	}
	return sum, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
