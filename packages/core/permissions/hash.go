//go:build !wasip1

package permissions

// The content hash is left out of the wasip1 build: the Workers planner
// reads the parsed document, and crypto/sha256 would only add to its wasm
// module (SPEC §16, #16).

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the content hash of a permissions source: "sha256:" + hex of the
// bytes as written (comments and layout included, since they are what the
// operator reviews).
func Hash(src []byte) string {
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}
