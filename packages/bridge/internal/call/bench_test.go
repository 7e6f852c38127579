package call

import (
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
)

// BenchmarkPipeline measures /call without the database or HTTP: body
// decoding (§4.2 step 1), API key parsing and verification against the
// bundle (steps 2–3), authorization and params to SQL text (steps 5–6).
// Target (issue #4): ≤ 10 µs and ≤ 40 allocations per call.
func BenchmarkPipeline(b *testing.B) {
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  items:\n    select: [reader]\n"))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	env, key := benchEnv(b, benchItems(colName, colQty), doc, nil)
	benchAPIKeyCalls(b, env, key, []byte(`{"path":"db/main/items/select","params":{"where":{"id":12345}}}`))
}
