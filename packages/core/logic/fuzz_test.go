package logic

import (
	"strings"
	"testing"
)

// FuzzScan checks that the bind scanner never panics, stays inside the
// text, and that every bind it reports starts with ':' in code.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"SELECT :a::int, ':b', \"c:d\", $$ :e $$, $t$ :f $t$ -- :g\n/* :h /* :i */ */ :auth.sub; ",
		"SELECT E'\\' :x', `a:b`, [c:d], ?1, @p, $n",
		"SELECT :auth.claims.tenant, :auth.roles, arr[1:2] FROM t; SELECT 2",
		"'unterminated", "/* open", "$tag$ open", ":", "::", ";;", "e'x", "x$y$:z",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, sqlite bool) {
		engine := EnginePostgres
		if sqlite {
			engine = EngineSQLite
		}
		res := scan(text, engine)
		if res.End < 0 || res.End > len(text) || res.Second > len(text) {
			t.Fatalf("offsets out of range: %+v", res)
		}
		last := -1
		for _, b := range res.Binds {
			if b.Start <= last || b.End > len(text) || text[b.Start] != ':' || !strings.HasPrefix(text[b.Start+1:b.End], strings.Split(b.Key, ".")[0]) && !b.Auth {
				t.Fatalf("bad bind %+v in %q", b, text)
			}
			last = b.Start
		}
		// The whole file path must not panic either.
		ParseFile("f.sql", "---\nauth: public\n---\n"+text, nil)
	})
}
