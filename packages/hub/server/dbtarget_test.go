package server

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// sqliteDataFile creates an SQLite database with one table at path.
func sqliteDataFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

// withSQLiteDir makes the Hub's store directory its STK_SQLITE_DIR, as
// `stk dev` does with .santokit/: the store and its journals sit inside
// and must still be refused.
func withSQLiteDir(c *Config) {
	c.DBTargets.SQLiteDir = filepath.Dir(strings.TrimPrefix(c.DatabaseURL, "sqlite://"))
}

// TestConnectionPolicy is the takeover of issue #11 through the API: a
// project admin points a connection at the Hub's own store, or anywhere
// outside STK_SQLITE_DIR, or at a local PostgreSQL socket. Each is a 400
// naming the rule and not the URL, and nothing is stored.
func TestConnectionPolicy(t *testing.T) {
	h := newHub(t, "sqlite", withSQLiteDir)
	dir := filepath.Dir(h.dbFile)
	outside := t.TempDir()
	sqliteDataFile(t, filepath.Join(dir, "data.db"))
	sqliteDataFile(t, filepath.Join(outside, "other.db"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(outside, "other.db"), filepath.Join(dir, "link.db")))
	must(os.Symlink(outside, filepath.Join(dir, "out")))
	must(os.Link(h.dbFile, filepath.Join(dir, "copy.db")))

	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	base := "/v1/projects/demo/envs/dev/connections/"
	for _, c := range []struct{ name, url, reason string }{
		{"store", "sqlite://" + h.dbFile, "a file this server uses itself"},
		{"store-relative", "sqlite://" + dir + "/./x/../hub.db", "a file this server uses itself"},
		{"store-wal", "sqlite://" + h.dbFile + "-wal", "journal file"},
		{"hard-link", "sqlite://" + filepath.Join(dir, "copy.db"), "a file this server uses itself"},
		{"dotdot", "sqlite://" + dir + "/../" + filepath.Base(outside) + "/other.db", "outside STK_SQLITE_DIR"},
		{"absolute", "sqlite://" + filepath.Join(outside, "other.db"), "outside STK_SQLITE_DIR"},
		{"symlink", "sqlite://" + filepath.Join(dir, "link.db"), "outside STK_SQLITE_DIR"},
		{"symlinked-dir", "sqlite://" + filepath.Join(dir, "out", "other.db"), "outside STK_SQLITE_DIR"},
		{"options", "sqlite://" + filepath.Join(dir, "data.db") + "?vfs=memdb", "without ?options"},
		{"socket", "postgres://postgres:" + password + "@/postgres?host=/var/run/postgresql", "STK_ALLOW_LOCAL_SOCKETS=true"},
		{"socket-fallback", "postgres://postgres:" + password + "@127.0.0.1/postgres?host=127.0.0.1,/tmp", "STK_ALLOW_LOCAL_SOCKETS=true"},
	} {
		for _, noTest := range []bool{false, true} {
			r := h.do("PUT", base+c.name, hubapi.PutConnection{URL: c.url, NoTest: noTest})
			h.expect(r, 400, apierr.BadRequest, nil)
			e := r.envelope(t)
			if !strings.Contains(e.Message, c.reason) || !strings.Contains(e.Message, `connection "`+c.name+`"`) {
				t.Errorf("%s: message %q, want one naming %q", c.name, e.Message, c.reason)
			}
			if strings.Contains(string(r.body), dir) || strings.Contains(string(r.body), outside) || strings.Contains(string(r.body), password) {
				t.Errorf("%s: the answer quotes the url: %s", c.name, r.body)
			}
			h.expect(h.do("GET", base+c.name, nil), 404, apierr.NotFound, nil)
		}
	}
	// Rotating an allowed connection to the store is refused the same way.
	data := "sqlite://" + filepath.Join(dir, "data.db")
	h.expect(h.do("PUT", base+"main", hubapi.PutConnection{URL: data}), 201, "", nil)
	h.expect(h.do("POST", base+"main/rotate", hubapi.PutConnection{URL: "sqlite://" + h.dbFile}), 400, apierr.BadRequest, nil)
	var snap hubapi.Snapshot
	h.expect(h.do("POST", base+"main/snapshots", nil), 201, "", &snap)
	if len(snap.Tables) != 1 || snap.Tables[0].Name != "notes" {
		t.Fatalf("snapshot of the allowed file: %+v", snap.Tables)
	}
	// A file that does not exist fails the test (nothing stored) unless
	// noTest; it is never created.
	missing := "sqlite://" + filepath.Join(dir, "later.db")
	r := h.do("PUT", base+"later", hubapi.PutConnection{URL: missing})
	h.expect(r, 503, apierr.ServiceUnavailable, nil)
	if e := r.envelope(t); e.Message != `connection "later": file not found` {
		t.Fatalf("message %q", e.Message)
	}
	h.expect(h.do("GET", base+"later", nil), 404, apierr.NotFound, nil)
	h.expect(h.do("PUT", base+"later", hubapi.PutConnection{URL: missing, NoTest: true}), 201, "", nil)
	if _, err := os.Stat(filepath.Join(dir, "later.db")); !os.IsNotExist(err) {
		t.Fatalf("the missing file was created: %v", err)
	}

	// The same store under a Hub without STK_SQLITE_DIR: the stored
	// connection is refused wherever the Hub would open it.
	h2 := newHub(t, "sqlite", func(c *Config) { c.DatabaseURL = "sqlite://" + h.dbFile })
	for _, path := range []string{base + "main/test", base + "main/snapshots"} {
		r := h2.do("POST", path, nil)
		h2.expect(r, 400, apierr.BadRequest, nil)
		if e := r.envelope(t); !strings.Contains(e.Message, "set STK_SQLITE_DIR") {
			t.Fatalf("%s: message %q", path, e.Message)
		}
	}
	h.assertNoSecret()
}

// TestConnectionAllowedHosts: with STK_DB_ALLOWED_HOSTS, a host outside it
// is refused before anything is dialed, with one message whether the host
// answers or not, and noTest does not bypass it.
func TestConnectionAllowedHosts(t *testing.T) {
	h := newHub(t, "sqlite", func(c *Config) { c.DBTargets.AllowedHosts = "10.0.0.0/8, db.example.internal" })
	up := dataDB(t)
	down := "postgres://app:" + password + "@" + closedPort(t) + "/app"
	h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	var bodies []string
	for _, u := range []string{up, down} {
		for _, noTest := range []bool{false, true} {
			r := h.do("PUT", "/v1/projects/demo/envs/dev/connections/main", hubapi.PutConnection{URL: u, NoTest: noTest})
			h.expect(r, 400, apierr.BadRequest, nil)
			bodies = append(bodies, r.envelope(t).Message)
		}
	}
	for _, b := range bodies {
		if b != `connection "main": a postgres host of this url is not in STK_DB_ALLOWED_HOSTS` {
			t.Fatalf("messages %q", bodies)
		}
	}
	h.expect(h.do("GET", "/v1/projects/demo/envs/dev/connections/main", nil), 404, apierr.NotFound, nil)
	// A listed name is allowed (stored without a test: it does not resolve).
	h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/main",
		hubapi.PutConnection{URL: "postgres://app:" + password + "@db.example.internal/app", NoTest: true}), 201, "", nil)
	h.assertNoSecret()
}

// The policy's variables are read from the environment and checked at
// start.
func TestConfigDBTargets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"STK_MASTER_KEYS": "v1:x", "STK_SQLITE_DIR": dir, "STK_ALLOW_LOCAL_SOCKETS": "true",
		"STK_DB_ALLOWED_HOSTS": "db.internal, 10.0.0.0/8"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.DBTargets.SQLiteDir != dir || !c.DBTargets.AllowLocalSockets || c.DBTargets.AllowedHosts != env["STK_DB_ALLOWED_HOSTS"] {
		t.Fatalf("config %+v, %v", c.DBTargets, err)
	}
	for k, v := range map[string]string{"STK_SQLITE_DIR": filepath.Join(dir, "missing"), "STK_ALLOW_LOCAL_SOCKETS": "maybe", "STK_DB_ALLOWED_HOSTS": "10.0.0.0/99"} {
		bad := map[string]string{k: v}
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
