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

// The Bridge reads the same variables as the Hub.
func TestConfigDBTargets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"STK_BRIDGE_TOKEN": "t", "STK_SQLITE_DIR": dir, "STK_ALLOW_LOCAL_SOCKETS": "true", "STK_DB_ALLOWED_HOSTS": "10.0.0.0/8"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.DBTargets.SQLiteDir != dir || !c.DBTargets.AllowLocalSockets || c.DBTargets.AllowedHosts != "10.0.0.0/8" {
		t.Fatalf("config %+v, %v", c.DBTargets, err)
	}
	env["STK_DB_ALLOWED_HOSTS"] = "not a host"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "STK_DB_ALLOWED_HOSTS") {
		t.Fatalf("a bad list: %v", err)
	}
}
