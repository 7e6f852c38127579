//go:build !wasip1

package schema

// The content hash is left out of the wasip1 build: the Workers planner
// reads snapshots with their hash already computed by the Hub, and
// crypto/sha256 with encoding/json would only add to its wasm module
// (SPEC §16, #16).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash is the content hash of a schema: "sha256:" + hex of the canonical JSON
// of the engine and the normalized tables. Ids and times are not part of it.
func Hash(engine string, tables []Table) string {
	tables = Normalize(tables)
	b, err := json.Marshal(struct {
		Engine string  `json:"engine"`
		Tables []Table `json:"tables"`
	}{engine, tables})
	if err != nil {
		// Marshal of these plain structs cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
