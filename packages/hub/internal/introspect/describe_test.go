package introspect

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// TestDescribePostgres prepares logic statements without running them:
// result columns get normalized types, params the server's types, and a
// statement that does not prepare gets the server's message and where.
func TestDescribePostgres(t *testing.T) {
	url := execPG(t, `CREATE TABLE posts (id bigint PRIMARY KEY, title text, tags text[], at timestamptz);
INSERT INTO posts VALUES (1, 'one', '{a}', now());`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Describe(ctx, testTargets, schema.EnginePostgres, url, []string{
		"SELECT id, title, tags, at FROM posts WHERE id = $1 AND title = $2",
		"SELECT id FROM posts\nWHERE nope = $1",
		"DELETE FROM posts WHERE id = $1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want0 := Statement{Offset: -1, ParamTypes: []string{"bigint", "text"}, Columns: []logic.Column{
		{Name: "id", Type: schema.Bigint}, {Name: "title", Type: schema.Text}, {Name: "tags", Type: "array<text>"},
		{Name: "at", Type: schema.Timestamptz}}}
	if !reflect.DeepEqual(got[0], want0) {
		t.Errorf("select: %+v, want %+v", got[0], want0)
	}
	if got[1].Problem != `column "nope" does not exist` || got[1].Offset != strings.Index("SELECT id FROM posts\nWHERE nope = $1", "nope") {
		t.Errorf("bad column: %+v", got[1])
	}
	if got[2].Problem != "" || len(got[2].Columns) != 0 || !reflect.DeepEqual(got[2].ParamTypes, []string{"bigint"}) {
		t.Errorf("delete: %+v", got[2])
	}
	// Nothing ran: the row is still there.
	again, err := Describe(ctx, testTargets, schema.EnginePostgres, url, []string{"SELECT id FROM posts WHERE id = 1"})
	if err != nil || again[0].Problem != "" {
		t.Fatalf("%+v %v", again, err)
	}
}

func TestDescribeSQLite(t *testing.T) {
	url := sqliteFile(t, `CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, at TIMESTAMP);
INSERT INTO posts VALUES (1, 'one', '2024-01-01');`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Describe(ctx, testTargets, schema.EngineSQLite, url, []string{
		"SELECT id, title, at FROM posts WHERE id = ?1 AND title = ?2",
		"SELECT id FROM nope WHERE id = ?1",
		"DELETE FROM posts WHERE id = ?1",
		// A LIMIT or OFFSET bound to NULL is a runtime error in SQLite: the
		// describe must still learn the columns (todo-web's todos/mine).
		"SELECT id, title FROM posts ORDER BY id LIMIT ?1 OFFSET ?2",
	})
	if err != nil {
		t.Fatal(err)
	}
	want0 := []logic.Column{{Name: "id", Type: schema.Bigint}, {Name: "title", Type: schema.Text}, {Name: "at", Type: schema.NormalizeSQLite("TIMESTAMP")}}
	if got[0].Problem != "" || !reflect.DeepEqual(got[0].Columns, want0) {
		t.Errorf("select: %+v", got[0])
	}
	if got[1].Problem != "no such table: nope" {
		t.Errorf("missing table: %+v", got[1])
	}
	if got[2].Problem != "" || len(got[2].Columns) != 0 {
		t.Errorf("delete: %+v", got[2])
	}
	want3 := []logic.Column{{Name: "id", Type: schema.Bigint}, {Name: "title", Type: schema.Text}}
	if got[3].Problem != "" || !reflect.DeepEqual(got[3].Columns, want3) {
		t.Errorf("select with LIMIT/OFFSET params: %+v", got[3])
	}
	rows, err := Tables(ctx, testTargets, schema.EngineSQLite, url)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
}
