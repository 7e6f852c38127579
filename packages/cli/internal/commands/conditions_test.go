package commands

import (
	"strings"
	"testing"
)

// validate compiles conditions offline with the Hub's CEL compiler (SPEC
// §5.2): problems carry the file's line and column, and a condition column
// without an index is a warning (SPEC §5.4), not a failure.
func TestPermissionsValidateConditions(t *testing.T) {
	const snap = `{"id":"snap_01","connection":"main","engine":"postgres","tables":[{"name":"posts","columns":[{"name":"id","type":"bigint"},{"name":"author","type":"text"},{"name":"org","type":"text"}],"primaryKey":["id"],"indexes":[{"name":"posts_author","columns":["author"]}]}]}`
	schemaFile := writeFile(t, "snap.json", snap)
	good := writeFile(t, "good.yaml", `version: 1
tables:
  posts:
    select:
      - roles: [reader]
        condition: resource.author == request.auth.sub || resource.org in ["a", "b"]
`)
	bad := writeFile(t, "bad.yaml", `version: 1
tables:
  posts:
    select:
      - roles: [reader]
        condition: "resource.id == request.auth.sub"
    update:
      - roles: [reader]
        condition: resource.author.startsWith("x")
`)
	h := newFakeHub(t)
	r := stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", good, "--schema", schemaFile)
	if r.code != 0 || r.stdout != "ok\n" || r.stderr != good+`:6: warning: main.posts.org: condition column "org" of table "posts" has no index: every query it filters will scan the table`+"\n" {
		t.Errorf("good: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = stk(t, h.srv.URL, nil, "", "permissions", "validate", "--file", bad, "--schema", schemaFile)
	want := []string{
		bad + `:6:33: tables.posts.select[0].condition: found no matching overload for '_==_' applied to '(int, string)'`,
		bad + `:9:36: tables.posts.update[0].condition: the function startsWith() is not supported in conditions`,
		"error: " + bad + " does not validate: 2 problems (code SCHEMA_VALIDATION_FAILED)",
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("bad: exit %d stderr %s\nwant %s", r.code, r.stderr, w)
		}
	}
	if r.code != 1 {
		t.Errorf("bad: exit %d", r.code)
	}
}
