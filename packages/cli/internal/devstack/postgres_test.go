package devstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// --db names a PostgreSQL database: no data.db is made, the database is
// snapshotted and released, and its URL is shown only redacted.
func TestDevWithPostgres(t *testing.T) {
	dbURL := testpg.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE todos (id bigserial PRIMARY KEY, title text NOT NULL, done boolean NOT NULL DEFAULT false);
		INSERT INTO todos (title) VALUES ('from postgres')`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := initProject(t)
	r := start(t, Options{Dir: dir, DatabaseURL: dbURL})
	if r.info.Seeded || r.info.Release.ID == "" || r.info.CallPath != "db/main/todos/select" {
		t.Errorf("info %+v", r.info)
	}
	if !strings.HasPrefix(r.info.Database, "postgres ") {
		t.Errorf("database %q", r.info.Database)
	}
	if _, err := os.Stat(filepath.Join(dir, StateDirName, dataDBName)); !os.IsNotExist(err) {
		t.Errorf("data.db made with --db: %v", err)
	}
	rel, err := hub(t, r).GetRelease(ctx, Project, Env, r.info.Release.ID)
	if err != nil || len(rel.Exposes) != 1 || rel.Exposes[0].Table != "todos" {
		t.Errorf("release %+v, %v", rel, err)
	}
}
