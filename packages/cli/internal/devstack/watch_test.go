package devstack

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// --watch reacts to schema.sql: the data database is rebuilt (the previous
// one kept as data.db.bak) and released with the new table; a schema.sql
// that fails leaves the database as it was; logics/ is applied (#11 item 8,
// #13 item 6).
func TestDevWatchSchemaAndLogics(t *testing.T) {
	dir := initProject(t)
	r := start(t, Options{Dir: dir, Watch: true})
	schemaFile := filepath.Join(dir, SchemaPath)
	dataDB := filepath.Join(dir, StateDirName, dataDBName)

	src := readFile(t, schemaFile) + "\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nINSERT INTO notes (body) VALUES ('new');\n"
	if err := os.WriteFile(schemaFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	a := nextApply(t, r)
	if a.Err != nil || a.Rebuilt != dataDB || a.Release.ID == "" || a.Release.ID == r.info.Release.ID {
		t.Fatalf("after a new table: %+v", a)
	}
	rel, err := hub(t, r).GetRelease(context.Background(), Project, Env, a.Release.ID)
	if err != nil || !slices.ContainsFunc(rel.Exposes, func(e hubapi.Exposure) bool { return e.Table == "notes" }) {
		t.Errorf("release %+v, %v", rel.Exposes, err)
	}
	if n := countRows(t, dataDB+backupSuffix, "todos"); n == 0 {
		t.Error("data.db.bak is not the previous database")
	}
	if n := countRows(t, dataDB, "notes"); n != 1 {
		t.Errorf("notes in data.db: %d", n)
	}

	// A schema.sql that SQLite refuses: reported, the database kept.
	if err := os.WriteFile(schemaFile, []byte("CREATE TABLE broken (;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a = nextApply(t, r)
	var se *SchemaError
	if !errors.As(a.Err, &se) || se.File != schemaFile || se.Line != 1 || a.Rebuilt != "" {
		t.Fatalf("broken schema.sql: %+v", a)
	}
	if n := countRows(t, dataDB, "notes"); n != 1 {
		t.Errorf("a failed rebuild changed data.db: %d notes", n)
	}

	// logics/ is applied and released on save (#13 item 6); a problem
	// names the file under logics/ and its line, and the release stays.
	list := "---\nauth: {roles: [reader]}\nreadonly: true\n---\nSELECT id, title FROM todos ORDER BY id\n"
	if err := os.WriteFile(filepath.Join(dir, LogicsDir, "todo-list.sql"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	a = nextApply(t, r)
	if a.Err != nil || a.File != filepath.Join(dir, LogicsDir) {
		t.Fatalf("after a new logic: %+v", a)
	}
	rel, err = hub(t, r).GetRelease(context.Background(), Project, Env, a.Release.ID)
	if err != nil || rel.LogicID == "" {
		t.Fatalf("release of a logic: %+v, %v", rel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, LogicsDir, "mine.sql"), []byte("SELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a = nextApply(t, r)
	var he *hubclient.Error
	if !errors.As(a.Err, &he) {
		t.Fatalf("a logic without front matter: %+v", a)
	}
	problems, _ := he.Details["problems"].([]any)
	if p, _ := problems[0].(map[string]any); len(problems) != 1 || p["file"] != filepath.Join(dir, LogicsDir, "mine.sql") || p["line"] != float64(1) {
		t.Errorf("problems %v", problems)
	}
}

// rebuild replaces the content of a database that another connection holds
// open in WAL mode (as the Bridge does): that connection sees the new schema.
func TestRebuildUnderAnOpenConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	if err := seed(context.Background(), path, []byte("CREATE TABLE a (id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)")); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO a VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if err := rebuild(context.Background(), path, []byte("CREATE TABLE b (x TEXT); INSERT INTO b VALUES ('new')")); err != nil {
		t.Fatal(err)
	}
	var x string
	if err := db.QueryRow("SELECT x FROM b").Scan(&x); err != nil || x != "new" {
		t.Errorf("the open connection reads %q, %v", x, err)
	}
	if _, err := db.Exec("SELECT 1 FROM a"); err == nil {
		t.Error("table a survived the rebuild")
	}
	if n := countRows(t, path+backupSuffix, "a"); n != 2 {
		t.Errorf("the backup has %d rows of a, want 2 (with the WAL's)", n)
	}
	if _, err := os.Stat(path + ".seeding"); !os.IsNotExist(err) {
		t.Errorf("the build file was left: %v", err)
	}
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return n
}

// SQLite's messages carry no position: errorLine finds the line.
func TestSchemaErrorLine(t *testing.T) {
	for _, c := range []struct {
		ddl  string
		line int
	}{
		{"CREATE TABLE a (id INTEGER PRIMARY KEY);\n\nCREATE TABLE b (\n  x TEXT,\n  y TEXT,,\n  z TEXT\n);\n", 5},
		{"CREATE TABLE a (id INTEGER PRIMARY KEY);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES\n  (2),\n  (1);\n", 5},
		{"-- comment\nINSERT INTO nosuch VALUES (1);\n", 2},
	} {
		_, err := build(context.Background(), filepath.Join(t.TempDir(), "data.db"), []byte(c.ddl))
		var se *SchemaError
		if !errors.As(err, &se) || se.Line != c.line {
			t.Errorf("%q: %v (line %d), want line %d", c.ddl, err, lineOf(se), c.line)
		}
	}
}

func lineOf(se *SchemaError) int {
	if se == nil {
		return -1
	}
	return se.Line
}
