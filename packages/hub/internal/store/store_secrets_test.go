package store

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/hub/internal/secrets"
)

func sealRing(t *testing.T, spec ...byte) *secrets.Ring {
	t.Helper()
	var parts []string
	for _, b := range spec {
		parts = append(parts, fmt.Sprintf("v%d:%s", b, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, secrets.KeySize))))
	}
	r, err := secrets.Parse(strings.Join(parts, ","))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sealConn stores connection name of env e with url sealed by ring.
func sealConn(t *testing.T, s *Store, ring *secrets.Ring, e Env, name, url string) Connection {
	t.Helper()
	v, blob, err := ring.Seal([]byte(url), secrets.ConnectionAAD(e.ProjectName, e.Name, name))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := s.PutConnection(t.Context(), Connection{ID: "conn_" + e.Name + "_" + name, EnvID: e.ID, Name: name,
		Engine: "postgres", Ciphertext: blob, KeyVersion: v, RedactedURL: secrets.RedactURL(url), UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealSigningKey inserts a signing key row sealed by ring (the table's owner
// has its own methods; these tests need only the row).
func sealSigningKey(t *testing.T, s *Store, ring *secrets.Ring, id string) {
	t.Helper()
	v, blob, err := ring.Seal([]byte("private-"+id), secrets.SigningKeyAAD(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.exec(t.Context(), s.db, `INSERT INTO signing_keys (id, public_key, ciphertext, key_version, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, []byte("pub-"+id), blob, v, micros(t0)); err != nil {
		t.Fatal(err)
	}
}

func TestCountKeyVersions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		got, err := s.CountKeyVersions(t.Context())
		if err != nil || len(got) != 0 {
			t.Fatalf("empty store: %v %v", got, err)
		}
		v1, v2 := sealRing(t, 1), sealRing(t, 2, 1)
		e := mustEnv(t, s, mustProject(t, s, "p"), "dev")
		sealConn(t, s, v1, e, "a", "postgres://u:pw@h/a")
		sealConn(t, s, v1, e, "b", "postgres://u:pw@h/b")
		sealConn(t, s, v2, e, "c", "postgres://u:pw@h/c")
		sealSigningKey(t, s, v1, "sk_1")
		got, err = s.CountKeyVersions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := []KeyVersionCount{{ConnectionSecrets, "v1", 2}, {ConnectionSecrets, "v2", 1}, {SigningKeySecrets, "v1", 1}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("counts %+v, want %+v", got, want)
		}
	})
}

func TestListSealedAndWriteReseals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		v1, ring := sealRing(t, 1), sealRing(t, 2, 1)
		p := mustProject(t, s, "p")
		dev, prod := mustEnv(t, s, p, "dev"), mustEnv(t, s, p, "prod")
		a := sealConn(t, s, v1, dev, "a", "postgres://u:pw@h/a")
		b := sealConn(t, s, v1, prod, "b", "postgres://u:pw@h/b")
		sealConn(t, s, ring, dev, "current", "postgres://u:pw@h/c")
		sealSigningKey(t, s, v1, "sk_1")
		sealSigningKey(t, s, v1, "sk_2")

		// Pages by id past the cursor; rows under the active key are left out.
		page, err := s.ListSealed(t.Context(), ConnectionSecrets, "v2", "", 1)
		if err != nil || len(page) != 1 || page[0].ID != a.ID {
			t.Fatalf("first page %+v %v", page, err)
		}
		if x := page[0]; x.Project != "p" || x.Env != "dev" || x.Name != "a" || x.KeyVersion != "v1" || !bytes.Equal(x.Ciphertext, a.Ciphertext) {
			t.Fatalf("sealed row %+v", x)
		}
		page, err = s.ListSealed(t.Context(), ConnectionSecrets, "v2", a.ID, 10)
		if err != nil || len(page) != 1 || page[0].ID != b.ID || page[0].Env != "prod" {
			t.Fatalf("second page %+v %v", page, err)
		}
		if page, err = s.ListSealed(t.Context(), ConnectionSecrets, "v2", b.ID, 10); err != nil || len(page) != 0 {
			t.Fatalf("past the end %+v %v", page, err)
		}
		keys, err := s.ListSealed(t.Context(), SigningKeySecrets, "v2", "", 10)
		if err != nil || len(keys) != 2 || keys[0].ID != "sk_1" || keys[1].ID != "sk_2" || keys[0].Name != "" {
			t.Fatalf("signing keys %+v %v", keys, err)
		}

		// Re-encrypt both connections, but b is set again (still under v1,
		// as a replica with the old ring would) between the read and the
		// write: b keeps the newer value.
		rows, _ := s.ListSealed(t.Context(), ConnectionSecrets, "v2", "", 10)
		revBefore := envRevision(t, s, "dev")
		newer := sealConn(t, s, v1, prod, "b", "postgres://u:pw@h/b-newer")
		var batch []Reseal
		for _, r := range rows {
			aad := secrets.ConnectionAAD(r.Project, r.Env, r.Name)
			v, blob, err := ring.Reseal(r.KeyVersion, r.Ciphertext, aad)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, Reseal{Old: r, NewVersion: v, NewCiphertext: blob})
		}
		n, err := s.WriteReseals(t.Context(), ConnectionSecrets, batch)
		if err != nil || n != 1 {
			t.Fatalf("WriteReseals = %d, %v; want 1 (b changed under it)", n, err)
		}
		gotA, _ := s.GetConnection(t.Context(), dev.ID, "a")
		if gotA.KeyVersion != "v2" || gotA.Version != a.Version {
			t.Fatalf("a after reseal: version %d key %s", gotA.Version, gotA.KeyVersion)
		}
		if pt, err := ring.Open(gotA.KeyVersion, gotA.Ciphertext, secrets.ConnectionAAD("p", "dev", "a")); err != nil || string(pt) != "postgres://u:pw@h/a" {
			t.Fatalf("a opens to %q, %v", pt, err)
		}
		gotB, _ := s.GetConnection(t.Context(), prod.ID, "b")
		if gotB.KeyVersion != "v1" || !bytes.Equal(gotB.Ciphertext, newer.Ciphertext) {
			t.Fatal("the concurrent write to b was overwritten")
		}
		// Same plaintexts: no revision bump (the set of b bumped prod, not dev).
		if rev := envRevision(t, s, "dev"); rev != revBefore {
			t.Fatalf("reseal bumped dev's revision %d → %d", revBefore, rev)
		}

		// A batch of another table, or a table that is not one, is refused.
		if _, err := s.WriteReseals(t.Context(), SigningKeySecrets, batch); err == nil {
			t.Fatal("connections written as signing keys")
		}
		if _, err := s.ListSealed(t.Context(), SecretTable("users"), "v2", "", 1); err == nil {
			t.Fatal("ListSealed on a table that holds no secrets")
		}
	})
}

func envRevision(t *testing.T, s *Store, env string) int64 {
	t.Helper()
	e, err := s.GetEnv(t.Context(), "p", env)
	if err != nil {
		t.Fatal(err)
	}
	return e.Revision
}
