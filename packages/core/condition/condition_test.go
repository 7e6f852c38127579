package condition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

func postsTable() *schema.Table {
	return &schema.Table{Name: "posts", Columns: []schema.Column{
		{Name: "id", Type: schema.Bigint},
		{Name: "author_id", Type: schema.Text},
		{Name: "org", Type: schema.Text, Nullable: true},
		{Name: "score", Type: schema.Float, Nullable: true},
		{Name: "price", Type: schema.Numeric},
		{Name: "published", Type: schema.Boolean},
		{Name: "ext", Type: schema.UUID},
		{Name: "created_at", Type: schema.Timestamptz},
		{Name: "meta", Type: schema.JSONB},
		{Name: "tags", Type: schema.ArrayOf(schema.Text)},
		{Name: "blob", Type: schema.Bytea},
	}, PrimaryKey: []string{"id"}}
}

// render prints a tree compactly, for the table below.
func render(n predicate.Node) string {
	switch n.Op {
	case predicate.Column:
		return "resource." + n.Name
	case predicate.Claim:
		return "claims." + n.Name
	case predicate.Sub, predicate.Roles:
		return string(n.Op)
	case predicate.Lit:
		s := string(n.Value)
		if n.Int {
			s += "i"
		}
		return s
	}
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		parts[i] = render(a)
	}
	switch n.Op {
	case predicate.List:
		return "[" + strings.Join(parts, ",") + "]"
	case predicate.Not:
		return "!" + parts[0]
	case predicate.And, predicate.Or:
		return "(" + strings.Join(parts, " "+string(n.Op)+" ") + ")"
	}
	return "(" + parts[0] + " " + string(n.Op) + " " + parts[1] + ")"
}

// TestCompile: every construct of the SPEC §5.2 subset.
func TestCompile(t *testing.T) {
	c := NewCompiler()
	for _, tc := range []struct{ src, want string }{
		{`resource.author_id == request.auth.sub`, `(resource.author_id == sub)`},
		{`resource.author_id != request.auth.sub`, `(resource.author_id != sub)`},
		{`resource.id < 10`, `(resource.id < 10i)`},
		{`resource.id <= 10`, `(resource.id <= 10i)`},
		{`resource.id > -3`, `(resource.id > -3i)`},
		{`resource.id >= 10`, `(resource.id >= 10i)`},
		{`resource.score > 1.5`, `(resource.score > 1.5)`},
		{`resource.score > 1`, `(resource.score > 1i)`},
		{`resource.price >= 2.0`, `(resource.price >= 2)`},
		{`resource.id in [1, 2, 3]`, `(resource.id in [1i,2i,3i])`},
		{`"admin" in request.auth.roles`, `("admin" in roles)`},
		{`request.auth.sub in ["a", "b"]`, `(sub in ["a","b"])`},
		{`resource.org in request.auth.claims.orgs`, `(resource.org in claims.orgs)`},
		{`resource.org == request.auth.claims["https://x.io/org"]`, `(resource.org == claims.https://x.io/org)`},
		{`resource.org == null`, `(resource.org == null)`},
		{`resource.org != null && resource.published`, `((resource.org != null) and (resource.published == true))`},
		{`a || b`, ``}, // unknown names: see TestCompileErrors
		{`!(resource.published || resource.id == 1) && (true)`, `(!((resource.published == true) or (resource.id == 1i)) and (true == true))`},
		{`resource.id == 1 && resource.id == 2 && resource.id == 3`, `((resource.id == 1i) and (resource.id == 2i) and (resource.id == 3i))`},
		{`request.auth.claims.admin`, `(claims.admin == true)`},
		{`resource.ext == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, `(resource.ext == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")`},
		{`resource.created_at > "2024-01-01T00:00:00Z"`, `(resource.created_at > "2024-01-01T00:00:00Z")`},
		{"resource.author_id ==\n  request.auth.sub", `(resource.author_id == sub)`},
	} {
		if tc.want == "" {
			continue
		}
		n, probs := c.Compile(tc.src, postsTable())
		if len(probs) > 0 {
			t.Errorf("%s: %v", tc.src, probs)
			continue
		}
		if got := render(*n); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.want)
		}
		if err := n.Validate(); err != nil {
			t.Errorf("%s: invalid tree: %v", tc.src, err)
		}
		// The tree survives the release bundle's JSON.
		b, _ := json.Marshal(n)
		var back predicate.Node
		if err := json.Unmarshal(b, &back); err != nil || render(back) != tc.want {
			t.Errorf("%s: JSON round trip: %s %v", tc.src, b, err)
		}
	}
}

// TestCompileErrors: type errors, unknown names and everything outside the
// subset are refused with a position in the expression.
func TestCompileErrors(t *testing.T) {
	c := NewCompiler()
	for _, tc := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{`resource.nope == 1`, 1, 9, `unknown column "nope" in table "posts"`},
		{`resource.meta == 1`, 1, 9, `column "meta" (jsonb) cannot be used`},
		{`"a" in resource.tags`, 1, 16, `column "tags" (array<text>) cannot be used`},
		{`resource.blob == null`, 1, 9, `cannot be used`},
		{`resource.id == "x"`, 1, 13, `no matching overload for '_==_' applied to '(int, string)'`},
		{`resource.author_id > 3`, 1, 20, `no matching overload`},
		{`resource.published == 1`, 1, 20, `no matching overload`},
		{`request.auth.sub == 1`, 1, 18, `no matching overload`},
		{`resource.author_id`, 1, 1, `must be true or false`},
		{`resource.author_id.size() > 1`, 1, 20, `the function size() is not supported`},
		{`size(resource.author_id) > 1`, 1, 1, `the function size() is not supported`},
		{`resource.author_id.startsWith("a")`, 1, 20, `the function startsWith() is not supported`},
		{`resource.id + 1 == 2`, 1, 13, `the operator + is not supported`},
		{`-resource.id == 2`, 1, 1, `negation is only supported on number literals`},
		{`resource.id == 1 ? true : false`, 1, 18, `the conditional operator ?: is not supported`},
		{`(resource.id == 1) == true`, 1, 14, `is a condition, not a value`},
		{`request.auth.roles == ["a"]`, 1, 13, `does not compare lists`},
		{`request.auth.roles`, 1, 13, `a list is not a condition`},
		{`resource.id in resource.id`, 1, 24, `the right side of in must be a list`},
		{`[1] in [[1]]`, 1, 9, `may only hold literals`},
		{`[1] in request.auth.roles`, 1, 1, `the left side of in must be one value`},
		{`resource.id in [resource.id]`, 1, 25, `may only hold literals`},
		{`resource.org in ["a", null]`, 1, 23, `null is not allowed in a list`},
		{`resource.org < null`, 1, 14, `only == and != compare with null`},
		{`b"x" == b"y"`, 1, 1, `only string, number, boolean and null literals`},
		{`{"a": 1} == {"a": 1}`, 1, 1, `this expression is not supported`},
		{`has(resource.org)`, 1, 1, `the function has() is not supported`},
		{`[1, 2].all(x, x > 0)`, 1, 8, `the function all() is not supported`},
		{`request.auth.claims.a.b == 1`, 1, 22, `claims are read one level deep`},
		{`request.auth.token == "x"`, 1, 13, `unknown name "request.auth.token"`},
		{`resource == 1`, 1, 1, `resource takes one column name`},
		{`resource.a.b == 1`, 1, 11, `resource takes one column name`},
		{`request.auth.claims[1] == 1`, 1, 20, `indexing is only supported as request.auth.claims["name"]`},
		{`resource.id == 1 &&`, 1, 20, `Syntax error`},
		{"resource.id == 1 &&\n  resource.nope", 2, 11, `unknown column "nope"`},
		{`'unterminated`, 1, 1, `Syntax error`},
		{`resource.ext == "nope"`, 1, 17, `"nope" is not a value of column "ext" (uuid): expected a UUID`},
		{`resource.created_at > "yesterday"`, 1, 23, `is not a value of column "created_at" (timestamptz)`},
		{`resource.ext in ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "x"]`, 1, 58, `"x" is not a value of column "ext"`},
	} {
		n, probs := c.Compile(tc.src, postsTable())
		if n != nil || len(probs) == 0 {
			t.Errorf("%s: compiled, want %q", tc.src, tc.msg)
			continue
		}
		p := probs[0]
		if !strings.Contains(p.Message, tc.msg) || p.Line != tc.line || p.Column != tc.col {
			t.Errorf("%s: got %d:%d %q, want %d:%d %q", tc.src, p.Line, p.Column, p.Message, tc.line, tc.col, tc.msg)
		}
	}
}

// TestCompileLimits: a hostile expression is refused, not compiled.
func TestCompileLimits(t *testing.T) {
	c := NewCompiler()
	deep := strings.Repeat("!(", 40) + "resource.published" + strings.Repeat(")", 40)
	wide := "resource.id == 0" + strings.Repeat(" || resource.id == 1", 250)
	for _, src := range []string{deep, wide} {
		if n, probs := c.Compile(src, postsTable()); n != nil || len(probs) == 0 {
			t.Errorf("%.30s…: compiled", src)
		}
	}
}
