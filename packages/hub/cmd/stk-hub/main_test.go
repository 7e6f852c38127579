package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/service"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// password is planted in every connection URL and signing key; no output
// of stk-hub may show it.
const password = "Cli-Pw-9d41-NEVER-SHOW"

func masterKey(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

var (
	keyV1 = "v1:" + masterKey(1)
	keyV2 = "v2:" + masterKey(2)
)

// seedStore fills a new store at dbURL with 3 connections and 1 signing
// key, sealed with key v1.
func seedStore(t *testing.T, dbURL string) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring, err := secrets.Parse(keyV1)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, ring, auth.AllowAll{}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := auth.Dev()
	if _, err := svc.CreateProject(ctx, p, hubapi.CreateProject{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateEnv(ctx, p, "demo", hubapi.CreateEnv{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, _, err := svc.PutConnection(ctx, p, "demo", "dev", name,
			hubapi.PutConnection{URL: "postgres://app:" + password + "@db:5432/" + name, NoTest: true}); err != nil {
			t.Fatal(err)
		}
	}
	// A signing key row as the auth package writes it.
	v, blob, err := ring.Seal([]byte(password+"-seed"), secrets.SigningKeyAAD("sk_1"))
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dbURL)
	defer db.Close()
	q := `INSERT INTO signing_keys (id, public_key, ciphertext, key_version, created_at) VALUES (?, ?, ?, ?, ?)`
	if strings.HasPrefix(dbURL, "postgres") {
		q = `INSERT INTO signing_keys (id, public_key, ciphertext, key_version, created_at) VALUES ($1, $2, $3, $4, $5)`
	}
	if _, err := db.ExecContext(ctx, q, "sk_1", []byte("pub"), blob, v, time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

// rawDB opens the store's database directly (drivers "sqlite" and "pgx" are
// registered by the store package).
func rawDB(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type result struct {
	code           int
	stdout, stderr string
}

// stkHub runs the subcommand args with the given environment.
func stkHub(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := dispatch(context.Background(), args, env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errOut})
	r := result{code, out.String(), errOut.String()}
	for _, s := range []string{password, masterKey(1), masterKey(2)} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("stk-hub %s printed a secret:\n%s\n%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
	return r
}

func forEachEngine(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite://"+filepath.Join(t.TempDir(), "hub.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, testpg.New(t)) })
}

func TestKeysRotateAndStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		seedStore(t, dbURL)
		vars := map[string]string{"STK_HUB_DATABASE_URL": dbURL, "STK_MASTER_KEYS": keyV2 + "," + keyV1}

		r := stkHub(t, vars, "keys", "status")
		if r.code != 0 || !strings.Contains(r.stdout, "active key: v2 (STK_MASTER_KEYS holds v2, v1)") {
			t.Fatalf("status: %+v", r)
		}
		assertRow(t, r.stdout, "v2", "0", "0", "0", "active")
		assertRow(t, r.stdout, "v1", "3", "1", "4", "in the ring: run stk-hub keys rotate")
		assertRow(t, r.stdout, "total", "3", "1", "4")

		r = stkHub(t, vars, "keys", "rotate", "--batch", "2")
		if r.code != 0 || r.stderr != "" ||
			!strings.Contains(r.stdout, "connections: rotated 3, already current 0\n") ||
			!strings.Contains(r.stdout, "signing keys: rotated 1, already current 0\n") ||
			!strings.Contains(r.stdout, "rotated 4 secrets to key v2\n") ||
			!strings.Contains(r.stdout, "key v1 seals no secret now: it can be removed from STK_MASTER_KEYS") {
			t.Fatalf("rotate: %+v", r)
		}

		// Idempotent, and says so.
		r = stkHub(t, vars, "keys", "rotate")
		if r.code != 0 || !strings.Contains(r.stdout, "connections: rotated 0, already current 3\n") ||
			!strings.Contains(r.stdout, "nothing to rotate: every secret is sealed with the active key v2") {
			t.Fatalf("second rotate: %+v", r)
		}
		var rep service.RotateReport
		r = stkHub(t, vars, "keys", "rotate", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || rep.Rotated != 0 || rep.Tables[1].AlreadyCurrent != 1 {
			t.Fatalf("rotate --json: %+v %v", r, err)
		}

		var ks service.KeyStatus
		r = stkHub(t, vars, "keys", "status", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil || r.code != 0 {
			t.Fatalf("status --json: %+v %v", r, err)
		}
		if ks.Active != "v2" || ks.Total != 4 || ks.Version("v2").Connections != 3 || ks.Version("v2").SigningKeys != 1 ||
			ks.Version("v1").Total != 0 || len(ks.Missing) != 0 {
			t.Fatalf("status --json %+v", ks)
		}

		// v1 can go now; a ring without v2 lacks what seals everything.
		if r = stkHub(t, map[string]string{"STK_HUB_DATABASE_URL": dbURL, "STK_MASTER_KEYS": keyV2}, "keys", "status"); r.code != 0 {
			t.Fatalf("status with v2 alone: %+v", r)
		}
		r = stkHub(t, map[string]string{"STK_HUB_DATABASE_URL": dbURL, "STK_MASTER_KEYS": keyV1}, "keys", "status")
		if r.code != 1 || !strings.Contains(r.stderr, "STK_MASTER_KEYS lacks key version v2, which seals 4 secrets (connections: 3, signing keys: 1)") {
			t.Fatalf("status with v1 alone: %+v", r)
		}
		assertRow(t, r.stdout, "v2", "3", "1", "4", "MISSING from STK_MASTER_KEYS: these secrets cannot be opened")
		r = stkHub(t, map[string]string{"STK_HUB_DATABASE_URL": dbURL, "STK_MASTER_KEYS": keyV1}, "keys", "rotate")
		if r.code != 1 || !strings.Contains(r.stderr, "connection demo/dev/a: sealed with key v2, which STK_MASTER_KEYS lacks") ||
			!strings.Contains(r.stderr, "4 secrets could not be re-encrypted and are unchanged") {
			t.Fatalf("rotate with v1 alone: %+v", r)
		}
	})
}

// assertRow finds the status table row starting with first and checks its
// cells.
func assertRow(t *testing.T, out string, cells ...string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != cells[0] {
			continue
		}
		if got := strings.Join(f, " "); got != strings.Join(cells, " ") {
			t.Fatalf("row %q, want %q", got, strings.Join(cells, " "))
		}
		return
	}
	t.Fatalf("no row %s in:\n%s", cells[0], out)
}

func TestUsage(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "hub.db")
	seedStore(t, "sqlite://"+dbFile)
	ok := map[string]string{"STK_HUB_DATABASE_URL": "sqlite://" + dbFile, "STK_MASTER_KEYS": keyV1}
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"help", ok, []string{"help"}, 0, "stk-hub keys rotate"},
		{"--help", ok, []string{"--help"}, 0, "stk-hub keys status"},
		{"unknown", ok, []string{"nope"}, 2, `unknown command "nope"`},
		{"keys alone", ok, []string{"keys"}, 2, `unknown command "keys"`},
		{"unknown keys command", ok, []string{"keys", "spin"}, 2, `unknown command "keys spin"`},
		{"stray argument", ok, []string{"keys", "rotate", "now"}, 2, `unexpected argument "now"`},
		{"bad flag", ok, []string{"keys", "status", "--bogus"}, 2, "flag provided but not defined"},
		{"bad batch", ok, []string{"keys", "rotate", "--batch", "0"}, 2, "--batch must be positive"},
		{"flag help", ok, []string{"keys", "rotate", "-h"}, 0, "Usage: stk-hub keys rotate"},
		{"no keys", map[string]string{"STK_HUB_DATABASE_URL": ok["STK_HUB_DATABASE_URL"]}, []string{"keys", "status"}, 2, "STK_MASTER_KEYS is required"},
		{"bad keys", map[string]string{"STK_HUB_DATABASE_URL": ok["STK_HUB_DATABASE_URL"], "STK_MASTER_KEYS": "v1:" + password}, []string{"keys", "rotate"}, 2, "key v1 must be base64"},
		{"no store", map[string]string{"STK_HUB_DATABASE_URL": "sqlite://" + dbFile + ".typo", "STK_MASTER_KEYS": keyV1}, []string{"keys", "status"}, 1, "no Hub store at"},
		{"bad store url", map[string]string{"STK_HUB_DATABASE_URL": "mysql://u:" + password + "@h/db", "STK_MASTER_KEYS": keyV1}, []string{"keys", "status"}, 1, "unsupported database URL"},
		{"ok", ok, []string{"keys", "status"}, 0, "active key: v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stkHub(t, tc.vars, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
	if m, _ := filepath.Glob(dbFile + ".typo*"); len(m) != 0 {
		t.Fatalf("status created a store at a mistyped path: %v", m)
	}
}

// Adding a subcommand is one entry in commands(); every entry is reachable
// by its words and listed by help.
func TestCommandsTable(t *testing.T) {
	var help bytes.Buffer
	usage(&help, commands())
	for words, c := range commands() {
		if c.run == nil || c.summary == "" || len(strings.Fields(words)) != 2 {
			t.Errorf("command %q is malformed", words)
		}
		if !strings.Contains(help.String(), "stk-hub "+words) {
			t.Errorf("help does not list %q", words)
		}
	}
}

// keys rotate-signing adds a signing key and retires the previous one,
// which stays listed for verification.
func TestKeysRotateSigning(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "hub.db")
	fresh, err := store.Open(t.Context(), "sqlite://"+dbFile)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Close()
	vars := map[string]string{"STK_HUB_DATABASE_URL": "sqlite://" + dbFile, "STK_MASTER_KEYS": keyV1}
	if r := stkHub(t, vars, "keys", "rotate-signing"); r.code != 0 {
		t.Fatalf("first rotation: exit %d: %s", r.code, r.stderr)
	}
	r := stkHub(t, vars, "keys", "rotate-signing")
	if r.code != 0 || !strings.Contains(r.stdout, "now signs access tokens") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	st, err := store.Open(t.Context(), "sqlite://"+dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := st.SigningKeys(t.Context(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].RetiredAt != nil || keys[1].RetiredAt == nil || !strings.Contains(r.stdout, keys[0].ID) {
		t.Fatalf("after rotate-signing: %+v\n%s", keys, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Fatal("output holds a secret")
	}
}
