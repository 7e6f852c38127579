package server

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the dev env's data database

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// One schema, two readings (issue #11 item 13, SPEC §1): a SQLite dev env,
// as stk dev runs it, declares DATETIME and TIMESTAMP WITH TIME ZONE where
// the PostgreSQL prod declares timestamp and timestamptz. Both snapshot to
// the same normalized types, so promoting dev's release to prod finds no
// drift; a prod column that really differs is still drift.
func TestPromoteSQLiteDatetimeToPostgresTimestamp(t *testing.T) {
	dataDir := t.TempDir()
	h := newHub(t, "sqlite", func(c *Config) { c.DBTargets.SQLiteDir = dataDir })
	devFile := filepath.Join(dataDir, "dev.db")
	c, err := sql.Open("sqlite", devFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME DEFAULT CURRENT_TIMESTAMP, at_tz TIMESTAMP WITH TIME ZONE)`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	prodDB := dataDB(t)
	execSQL(t, prodDB, `CREATE TABLE events (id bigint PRIMARY KEY, at timestamp DEFAULT now(), at_tz timestamptz)`)

	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	for env, db := range map[string]string{"dev": "sqlite://" + devFile, "prod": prodDB} {
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: env}), 201, "", nil)
		h.expect(h.do("PUT", "/v1/projects/demo/envs/"+env+"/connections/main", hubapi.PutConnection{URL: db}), 201, "", nil)
	}
	var snap struct {
		Tables []struct {
			Name    string `json:"name"`
			Columns []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"columns"`
		} `json:"tables"`
	}
	h.expect(h.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil), 201, "", &snap)
	types := map[string]string{}
	for _, tb := range snap.Tables {
		for _, col := range tb.Columns {
			types[col.Name] = col.Type
		}
	}
	if types["at"] != "timestamp" || types["at_tz"] != "timestamptz" {
		t.Fatalf("dev snapshot types %v; want at timestamp, at_tz timestamptz", types)
	}
	h.expect(h.apply("dev", "version: 1\ntables:\n  events:\n    select: [reader]\n"), 201, "", nil)
	h.release("dev", "r1", 201)
	h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 201, "", nil)

	// A prod column whose type really differs is drift, named.
	execSQL(t, prodDB, `ALTER TABLE events ALTER COLUMN at TYPE timestamptz`)
	h.release("dev", "r2", 201)
	r := h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"})
	h.expect(r, 409, apierr.SchemaDrift, nil)
	if !strings.Contains(string(r.body), `"column":"at"`) || !strings.Contains(string(r.body), "type changed from timestamp to timestamptz") {
		t.Fatalf("drift body %s", r.body)
	}
}
