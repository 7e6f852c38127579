package server

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// TestCallRefusedByPolicy: the Bridge applies the connection policy again
// when it opens a pool. Here the Hub allows a SQLite file that the
// Bridge's own STK_SQLITE_DIR does not hold: /call answers 503 naming the
// connection and the rule, never the path (docs/decisions/0011).
func TestCallRefusedByPolicy(t *testing.T) {
	bridgeDir := t.TempDir()
	s := newStack(t, func(c *Config) { c.DBTargets.SQLiteDir = bridgeDir })
	path := filepath.Join(t.TempDir(), "data.db")
	c, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, secret TEXT, active BOOLEAN, born DATE, at DATETIME); CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	admin, _, _ := s.setup("sqlite://" + path)
	r := s.call(key(admin), map[string]any{"path": "db/main/users/select"})
	expect(t, r, 503, apierr.ServiceUnavailable, "connection main is refused by this Bridge's connection policy: sqlite path resolves outside STK_SQLITE_DIR")
	if strings.Contains(string(r.body), path) || strings.Contains(s.logs.String(), path) {
		t.Fatalf("the path leaked: %s", r.body)
	}
}
