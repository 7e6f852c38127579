package service

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// The rotation's SQL runs on both engines in the store's tests
// (store_secrets_test.go) and in server/keys_test.go; these tests drive the
// rotation logic on a SQLite store.

// rotPassword is planted in every connection URL; no report may show it.
const rotPassword = "Rot-Pw-51c2-NEVER-SHOW"

func rotRing(t *testing.T, versions ...int) *secrets.Ring {
	t.Helper()
	var parts []string
	for _, v := range versions {
		parts = append(parts, fmt.Sprintf("v%d:%s", v, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(v)}, secrets.KeySize))))
	}
	r, err := secrets.Parse(strings.Join(parts, ","))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type rotFixture struct {
	st   *store.Store
	path string
	// urls maps project/env/name to the plaintext URL.
	urls map[string]string
	// keys maps a signing key id to its plaintext.
	keys map[string]string
}

func rotURL(name string) string { return "postgres://app:" + rotPassword + "@db:5432/" + name }

// newRotFixture stores conns connections (over two envs) and nkeys signing
// keys, all sealed by ring.
func newRotFixture(t *testing.T, ring *secrets.Ring, conns, nkeys int) *rotFixture {
	t.Helper()
	f := &rotFixture{path: filepath.Join(t.TempDir(), "hub.db"), urls: map[string]string{}, keys: map[string]string{}}
	st, err := store.Open(t.Context(), "sqlite://"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	svc := New(st, ring, auth.AllowAll{}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, p := t.Context(), auth.Dev()
	if _, err := svc.CreateProject(ctx, p, hubapi.CreateProject{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "prod"} {
		if _, err := svc.CreateEnv(ctx, p, "demo", hubapi.CreateEnv{Name: env}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range conns {
		env, name := []string{"dev", "prod"}[i%2], fmt.Sprintf("c%02d", i)
		if _, _, err := svc.PutConnection(ctx, p, "demo", env, name, hubapi.PutConnection{URL: rotURL(name), NoTest: true}); err != nil {
			t.Fatal(err)
		}
		f.urls["demo/"+env+"/"+name] = rotURL(name)
	}
	for i := range nkeys {
		id := fmt.Sprintf("sk_%02d", i)
		f.keys[id] = "seed-" + id
		f.sqlExec(t, `INSERT INTO signing_keys (id, public_key, ciphertext, key_version, created_at) VALUES (?, ?, ?, ?, ?)`,
			append([]any{id, []byte("pub")}, sealArgs(t, ring, f.keys[id], secrets.SigningKeyAAD(id))...)...)
	}
	return f
}

func sealArgs(t *testing.T, ring *secrets.Ring, pt string, aad []byte) []any {
	v, blob, err := ring.Seal([]byte(pt), aad)
	if err != nil {
		t.Fatal(err)
	}
	return []any{blob, v, time.Now().UnixMicro()}
}

// sqlExec runs SQL on the store's file directly (for rows no service writes).
func (f *rotFixture) sqlExec(t *testing.T, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatal(err)
	}
}

// assertOpens checks that every secret opens under ring to its plaintext
// and is sealed with one of versions.
func (f *rotFixture) assertOpens(t *testing.T, ring *secrets.Ring, versions ...string) {
	t.Helper()
	n := 0
	for _, tbl := range store.SecretTables() {
		rows, err := f.st.ListSealed(t.Context(), tbl, "none", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			n++
			want := f.keys[r.ID]
			if tbl == store.ConnectionSecrets {
				want = f.urls[r.Project+"/"+r.Env+"/"+r.Name]
			}
			pt, err := ring.Open(r.KeyVersion, r.Ciphertext, sealedAAD(r))
			if err != nil || string(pt) != want {
				t.Fatalf("%s under %s opens to %q, %v", describeSealed(r), r.KeyVersion, pt, err)
			}
			ok := false
			for _, v := range versions {
				ok = ok || r.KeyVersion == v
			}
			if !ok {
				t.Fatalf("%s sealed with %s, want one of %v", describeSealed(r), r.KeyVersion, versions)
			}
		}
	}
	if n != len(f.urls)+len(f.keys) {
		t.Fatalf("%d secrets stored, want %d", n, len(f.urls)+len(f.keys))
	}
}

func (f *rotFixture) revisions(t *testing.T) [2]int64 {
	t.Helper()
	var out [2]int64
	for i, env := range []string{"dev", "prod"} {
		e, err := f.st.GetEnv(t.Context(), "demo", env)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e.Revision
	}
	return out
}

func TestRotateKeys(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 5, 2)
	revs := f.revisions(t)
	ring := rotRing(t, 2, 1)
	rep, err := RotateKeys(t.Context(), f.st, ring, RotateOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c, k := rep.Table(store.ConnectionSecrets), rep.Table(store.SigningKeySecrets); c.Rotated != 5 || c.AlreadyCurrent != 0 ||
		k.Rotated != 2 || k.AlreadyCurrent != 0 || rep.Rotated != 7 || rep.Active != "v2" {
		t.Fatalf("report %+v", rep)
	}
	// v1 is no longer needed: the ring v2 alone opens everything.
	f.assertOpens(t, rotRing(t, 2), "v2")
	if got := f.revisions(t); got != revs {
		t.Fatalf("rotation bumped env revisions %v → %v (plaintexts did not change)", revs, got)
	}

	// A second run changes nothing and says so.
	before := f.sealedBlobs(t)
	rep, err = RotateKeys(t.Context(), f.st, ring, RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, k := rep.Table(store.ConnectionSecrets), rep.Table(store.SigningKeySecrets); rep.Rotated != 0 || c.AlreadyCurrent != 5 || k.AlreadyCurrent != 2 {
		t.Fatalf("second run %+v", rep)
	}
	if after := f.sealedBlobs(t); after != before {
		t.Fatal("a second run rewrote ciphertexts")
	}
	assertNoSecretIn(t, rep)
}

// sealedBlobs fingerprints every stored ciphertext.
func (f *rotFixture) sealedBlobs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range store.SecretTables() {
		rows, err := f.st.ListSealed(t.Context(), tbl, "none", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "%s %s %x\n", r.ID, r.KeyVersion, r.Ciphertext)
		}
	}
	return b.String()
}

func TestRotateKeysResumes(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 5, 3)
	ring := rotRing(t, 2, 1)
	ctx, cancel := context.WithCancel(t.Context())
	batches := 0
	rep, err := RotateKeys(ctx, f.st, ring, RotateOptions{BatchSize: 2, AfterBatch: func(tbl store.SecretTable, n int) {
		batches++
		if tbl != store.ConnectionSecrets || n != 2 {
			t.Errorf("batch of %s wrote %d", tbl, n)
		}
		cancel() // the run dies after its first committed batch
	}})
	if !errors.Is(err, context.Canceled) || batches != 1 || rep.Rotated != 2 {
		t.Fatalf("interrupted run: %v, %d batches, report %+v", err, batches, rep)
	}
	// Every secret is readable under the version it records.
	f.assertOpens(t, ring, "v1", "v2")
	ks, err := KeyRingStatus(t.Context(), f.st, ring)
	if err != nil || ks.Version("v2").Total != 2 || ks.Version("v1").Total != 6 {
		t.Fatalf("status after the interruption %+v %v", ks, err)
	}
	// The next run goes on from there.
	rep, err = RotateKeys(t.Context(), f.st, ring, RotateOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c, k := rep.Table(store.ConnectionSecrets), rep.Table(store.SigningKeySecrets); c.Rotated != 3 || c.AlreadyCurrent != 2 || k.Rotated != 3 {
		t.Fatalf("resumed run %+v", rep)
	}
	f.assertOpens(t, rotRing(t, 2), "v2")
}

func TestRotateKeysFailures(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 3, 1)
	// One connection under a key the ring lacks, one that does not
	// authenticate (a damaged row).
	lost := rotRing(t, 7)
	v, blob, _ := lost.Seal([]byte(rotURL("c00")), secrets.ConnectionAAD("demo", "dev", "c00"))
	f.sqlExec(t, `UPDATE connections SET key_version = ?, ciphertext = ? WHERE name = 'c00'`, v, blob)
	f.sqlExec(t, `UPDATE connections SET ciphertext = ? WHERE name = 'c01'`, bytes.Repeat([]byte{1}, 64))

	ring := rotRing(t, 2, 1)
	rep, err := RotateKeys(t.Context(), f.st, ring, RotateOptions{})
	if !errors.Is(err, ErrRotateIncomplete) {
		t.Fatalf("err %v", err)
	}
	if c := rep.Table(store.ConnectionSecrets); c.Rotated != 1 || c.Failed != 2 || rep.Table(store.SigningKeySecrets).Rotated != 1 {
		t.Fatalf("report %+v", rep)
	}
	all := strings.Join(rep.Failures, "\n")
	if !strings.Contains(all, "connection demo/dev/c00: sealed with key v7, which STK_MASTER_KEYS lacks") ||
		!strings.Contains(all, "connection demo/prod/c01: does not authenticate under key v1") {
		t.Fatalf("failures %q", all)
	}
	assertNoSecretIn(t, rep)
	// The failed rows are untouched.
	ks, _ := KeyRingStatus(t.Context(), f.st, ring)
	if ks.Version("v7").Connections != 1 || ks.Version("v1").Connections != 1 || ks.Version("v2").Total != 2 {
		t.Fatalf("status %+v", ks)
	}
}

func TestKeyRingStatusAndCheck(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 2, 1)
	// One more connection under v2: the store holds v1 and v2 secrets.
	svc := New(f.st, rotRing(t, 2, 1), auth.AllowAll{}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, err := svc.PutConnection(t.Context(), auth.Dev(), "demo", "dev", "newer", hubapi.PutConnection{URL: rotURL("newer"), NoTest: true}); err != nil {
		t.Fatal(err)
	}

	ring := rotRing(t, 3, 2, 1)
	ks, err := KeyRingStatus(t.Context(), f.st, ring)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Active != "v3" || ks.Total != 4 || len(ks.Missing) != 0 || len(ks.Versions) != 3 {
		t.Fatalf("status %+v", ks)
	}
	if v := ks.Version("v3"); !v.Active || !v.InRing || v.Total != 0 {
		t.Fatalf("v3 %+v", v)
	}
	if v := ks.Version("v1"); v.Active || !v.InRing || v.Connections != 2 || v.SigningKeys != 1 || v.Total != 3 {
		t.Fatalf("v1 %+v", v)
	}
	if ks.Tables[0].Table != "connections" || ks.Tables[0].Versions["v2"] != 1 || ks.Tables[0].Total != 3 || ks.Tables[1].Total != 1 {
		t.Fatalf("tables %+v", ks.Tables)
	}
	if err := CheckKeyRing(t.Context(), f.st, ring); err != nil {
		t.Fatalf("a complete ring refused: %v", err)
	}

	// The ring lacks v1.
	err = CheckKeyRing(t.Context(), f.st, rotRing(t, 2))
	want := "STK_MASTER_KEYS lacks key version v1, which seals 3 secrets (connections: 2, signing keys: 1): " +
		"add it back to the ring (the active key stays first), run stk-hub keys rotate, then remove it"
	if err == nil || err.Error() != want {
		t.Fatalf("CheckKeyRing = %v\nwant %s", err, want)
	}
	if ks, _ := KeyRingStatus(t.Context(), f.st, rotRing(t, 2)); len(ks.Missing) != 1 || ks.Missing[0] != "v1" || ks.Version("v1").InRing {
		t.Fatalf("missing %+v", ks)
	}
	// It lacks both.
	err = CheckKeyRing(t.Context(), f.st, rotRing(t, 3))
	if err == nil || !strings.Contains(err.Error(), "lacks key versions v1, which seals 3 secrets (connections: 2, signing keys: 1); v2, which seals 1 secret (connections: 1, signing keys: 0): add them back") {
		t.Fatalf("CheckKeyRing = %v", err)
	}
}

func TestRotateConnection(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 2, 0)
	svc := New(f.st, rotRing(t, 2, 1), auth.AllowAll{}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, p := t.Context(), auth.Dev()
	revs := f.revisions(t)

	newURL := "postgres://app:" + rotPassword + "-2@db2:5432/c00"
	out, err := svc.RotateConnection(ctx, p, "demo", "dev", "c00", hubapi.PutConnection{URL: newURL, NoTest: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != 2 || out.Engine != "postgres" || out.URL != "postgres://app:***@db2:5432/c00" || out.UpdatedAt.Before(out.CreatedAt) {
		t.Fatalf("rotated %+v", out)
	}
	if got := f.revisions(t); got[0] != revs[0]+1 || got[1] != revs[1] {
		t.Fatalf("revisions %v → %v: want dev's bumped only", revs, got)
	}
	f.urls["demo/dev/c00"] = newURL
	row, _ := f.st.GetConnection(ctx, mustEnvID(t, f.st, "dev"), "c00")
	if row.KeyVersion != "v2" {
		t.Fatalf("rotated URL sealed with %s", row.KeyVersion)
	}
	f.assertOpens(t, rotRing(t, 2, 1), "v1", "v2")

	// Engine given and equal is fine; different engine, or a URL of another
	// engine, is 400; an unknown connection is 404 and nothing is created.
	if _, err := svc.RotateConnection(ctx, p, "demo", "dev", "c00", hubapi.PutConnection{Engine: "postgres", URL: newURL, NoTest: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   hubapi.PutConnection
		code apierr.Code
		path string
	}{
		{"c00", hubapi.PutConnection{Engine: "sqlite", URL: "sqlite://./x.db"}, apierr.BadRequest, "engine"},
		{"c00", hubapi.PutConnection{URL: "sqlite://./x.db"}, apierr.BadRequest, "url"},
		{"c00", hubapi.PutConnection{}, apierr.BadRequest, "url"},
		{"c00", hubapi.PutConnection{Engine: "sqlite", URL: newURL}, apierr.BadRequest, "url"},
		{"nope", hubapi.PutConnection{URL: newURL}, apierr.NotFound, ""},
		{"Bad!", hubapi.PutConnection{URL: newURL}, apierr.BadRequest, ""},
	} {
		_, err := svc.RotateConnection(ctx, p, "demo", "dev", tc.name, tc.in)
		e := apierr.As(err)
		if err == nil || e.Code != tc.code {
			t.Errorf("rotate %s %+v: %v, want %s", tc.name, tc.in.Engine, err, tc.code)
			continue
		}
		if strings.Contains(e.Message, rotPassword) {
			t.Errorf("error message holds the password: %s", e.Message)
		}
		if tc.path != "" {
			probs, _ := e.Details["problems"].([]apierr.Problem)
			if len(probs) != 1 || probs[0].Path != tc.path {
				t.Errorf("rotate %s: problems %+v, want path %s", tc.name, e.Details, tc.path)
			}
		}
	}
	if _, err := f.st.GetConnection(ctx, mustEnvID(t, f.st, "dev"), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rotate of an unknown connection created it: %v", err)
	}
	if _, err := svc.RotateConnection(ctx, p, "demo", "nope", "c00", hubapi.PutConnection{URL: newURL}); apierr.As(err).Code != apierr.NotFound {
		t.Fatalf("unknown env: %v", err)
	}

	// Audited as connection.rotate, without the URL.
	evs, err := svc.ProjectAudit(ctx, p, "demo", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[0].Action != string(auth.ConnectionRotate) || evs[0].Target != "demo/dev/c00" || evs[0].Outcome != "success" {
		t.Fatalf("audit %+v", evs)
	}
	for _, ev := range evs {
		if strings.Contains(fmt.Sprint(ev), rotPassword) {
			t.Fatalf("audit event holds the password: %+v", ev)
		}
	}
}

// denyAll refuses everything.
type denyAll struct{}

func (denyAll) Authorize(context.Context, auth.Principal, auth.Action, auth.Target) error {
	return apierr.New(apierr.Forbidden, "denied")
}

func TestRotateConnectionAuthorized(t *testing.T) {
	f := newRotFixture(t, rotRing(t, 1), 1, 0)
	var asked []auth.Action
	svc := New(f.st, rotRing(t, 1), recordAuthz{&asked, denyAll{}}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := svc.RotateConnection(t.Context(), auth.Dev(), "demo", "dev", "c00", hubapi.PutConnection{URL: rotURL("x"), NoTest: true})
	if apierr.As(err).Code != apierr.Forbidden || len(asked) != 1 || asked[0] != auth.ConnectionRotate {
		t.Fatalf("err %v, asked %v", err, asked)
	}
	row, _ := f.st.GetConnection(t.Context(), mustEnvID(t, f.st, "dev"), "c00")
	if row.Version != 1 {
		t.Fatal("a denied rotate changed the connection")
	}
}

type recordAuthz struct {
	asked *[]auth.Action
	next  auth.Authorizer
}

func (r recordAuthz) Authorize(ctx context.Context, p auth.Principal, a auth.Action, t auth.Target) error {
	*r.asked = append(*r.asked, a)
	return r.next.Authorize(ctx, p, a, t)
}

func mustEnvID(t *testing.T, st *store.Store, env string) string {
	t.Helper()
	e, err := st.GetEnv(t.Context(), "demo", env)
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func assertNoSecretIn(t *testing.T, v any) {
	t.Helper()
	if s := fmt.Sprintf("%+v", v); strings.Contains(s, rotPassword) || strings.Contains(s, "seed-") {
		t.Fatalf("report holds a secret: %s", s)
	}
}
