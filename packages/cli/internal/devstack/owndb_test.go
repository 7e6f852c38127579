package devstack

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

// Outside a project, --db serves the user's own tables with _default rules
// (reader selects, writer writes), not the todo example's permissions,
// which name tables the database lacks (#11 item 7).
func TestDevOwnDatabaseOutsideProject(t *testing.T) {
	dbURL := testpg.New(t)
	pgExec(t, dbURL, `CREATE TABLE books (id bigserial PRIMARY KEY, title text NOT NULL);
		CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL)`)
	r := start(t, Options{Dir: t.TempDir(), DatabaseURL: dbURL})
	if !slices.Equal(r.info.Tables, []string{"authors", "books"}) || r.info.PermissionsFile != "" || r.info.Release.ID == "" {
		t.Fatalf("info %+v", r.info)
	}
	if r.info.CallPath != "db/main/authors/select" || !slices.Equal(r.info.Roles, []string{"reader", "writer"}) {
		t.Errorf("call %s, roles %v", r.info.CallPath, r.info.Roles)
	}
	rel, err := hub(t, r).GetRelease(context.Background(), Project, Env, r.info.Release.ID)
	if err != nil || len(rel.Exposes) != 2 {
		t.Errorf("release %+v, %v", rel, err)
	}
}

// An empty database outside a project is a clear error, not a stack that
// serves nothing.
func TestDevOwnDatabaseEmpty(t *testing.T) {
	dbURL := testpg.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := Run(ctx, Options{Dir: t.TempDir(), DatabaseURL: dbURL, HubAddr: "127.0.0.1:0", BridgeAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0",
		newBridge: newFakeBridge, Getenv: func(string) string { return "" }})
	var ne *NoTablesError
	if !errors.As(err, &ne) || ne.Database == "" {
		t.Fatalf("Run: %v", err)
	}
}

func pgExec(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
