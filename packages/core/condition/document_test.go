package condition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

func snaps() map[string]*schema.Snapshot {
	posts := *postsTable()
	posts.Indexes = []schema.Index{{Name: "posts_org", Columns: []string{"org", "id"}}}
	return map[string]*schema.Snapshot{"main": {Connection: "main", Engine: schema.EnginePostgres,
		Tables: schema.Normalize([]schema.Table{posts})}}
}

const goodDoc = `version: 1
tables:
  posts:
    owner: author_id
    select:
      - roles: [admin]
      - roles: [authenticated]
        condition: resource.org == request.auth.claims.org || resource.published
    insert:
      - roles: [authenticated]
        check: "resource.author_id == request.auth.sub"
    update:
      - roles: [authenticated]
        condition: >-
          resource.author_id == request.auth.sub
        check: resource.score >= 0.0
`

// TestDocument: conditions and checks compile into the rules, survive the
// bundle's JSON, and condition/owner columns without a leading index warn
// (SPEC §5.4) — checks do not.
func TestDocument(t *testing.T) {
	doc, problems := Document([]byte(goodDoc), snaps())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	pt, _ := doc.Table("main", "posts")
	sel, ins, upd := pt.Ops[permissions.OpSelect][1], pt.Ops[permissions.OpInsert][0], pt.Ops[permissions.OpUpdate][0]
	if sel.Cond == nil || sel.CheckPred != nil || ins.CheckPred == nil || upd.Cond == nil || upd.CheckPred == nil {
		t.Fatalf("trees: %+v %+v %+v", sel, ins, upd)
	}
	b, _ := json.Marshal(doc)
	var back permissions.Document
	if err := json.Unmarshal(b, &back); err != nil || back.Tables[0].Ops[permissions.OpSelect][1].Cond == nil {
		t.Fatalf("round trip: %v", err)
	}
	ws := permissions.IndexWarnings(doc, snaps())
	var got []string
	for _, w := range ws {
		got = append(got, w.Column+"@"+string(rune('0'+w.Line)))
	}
	// owner author_id (line 4), condition published (line 8); org leads
	// an index; id is the primary key; score is only in a check.
	if strings.Join(got, ",") != "author_id@4,published@8" {
		t.Errorf("warnings: %v (%+v)", got, ws)
	}
}

// TestDocumentPositions: compile problems point into the permissions file.
func TestDocumentPositions(t *testing.T) {
	src := `version: 1
tables:
  posts:
    select:
      - roles: [a]
        condition: resource.nope == 1
      - roles: [b]
        condition: "resource.id == 'x'"
    update:
      - roles: [a]
        condition: |
          resource.id == 1 &&
            size(resource.org) > 1
  nope:
    select:
      - roles: [a]
        condition: resource.x == 1
`
	_, problems := Document([]byte(src), snaps())
	type at struct {
		path      string
		line, col int
		msg       string
	}
	want := []at{
		{"tables.posts.select[0].condition", 6, 28, `unknown column "nope"`},
		{"tables.posts.select[1].condition", 8, 33, `no matching overload`},
		{"tables.posts.update[0].condition", 13, 0, `size() is not supported`},
		{"tables.nope", 14, 0, `unknown table "nope"`},
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems: %+v", len(problems), problems)
	}
	for i, w := range want {
		p := problems[i]
		if p.Path != w.path || p.Line != w.line || p.Column != w.col || !strings.Contains(p.Message, w.msg) {
			t.Errorf("problem %d: got %s %d:%d %q, want %s %d:%d %q", i, p.Path, p.Line, p.Column, p.Message, w.path, w.line, w.col, w.msg)
		}
	}
}
