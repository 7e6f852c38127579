package call

import (
	"testing"

	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// BenchmarkPipelineLogic is BenchmarkPipeline for a custom SQL logic
// (SPEC §6): a read-only logic, callable by the reader role, that selects
// one row by primary key — the logic twin of BenchmarkPipeline's select.
// Target (issue #13): ≤ 10 µs and ≤ 40 allocations per call.
func BenchmarkPipelineLogic(b *testing.B) {
	doc, problems := permissions.Parse([]byte("version: 1\ntables:\n  items:\n    select: [reader]\n"))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	get := logic.Logic{Name: "items/get", Auth: logic.AuthRoles, Roles: []string{"reader"}, Connection: "main", Readonly: true,
		Params:  []logic.Param{{Name: "id", Type: logic.TypeInteger, Required: true}},
		SQL:     "SELECT id, name, qty FROM items WHERE id = $1",
		Binds:   []logic.Bind{{Kind: logic.BindParam, Name: "id"}},
		Columns: []logic.Column{{Name: "id", Type: schema.Bigint}, {Name: "name", Type: schema.Text}, {Name: "qty", Type: schema.Integer}}}
	env, key := benchEnv(b, benchItems(colName, colQty), doc, nil, get)
	benchAPIKeyCalls(b, env, key, []byte(`{"path":"logics/items/get","params":{"id":12345}}`))
}
