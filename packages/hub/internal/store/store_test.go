package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
)

// crashChildEnv tells a re-executed test binary to act as the child of
// TestSQLiteSurvivesKill9; its value is the SQLite file path.
const crashChildEnv = "STK_STORE_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" || os.Getenv(releaseChildEnv) != "" {
		// The child is killed with SIGKILL: it must not start a cluster that
		// nothing would stop.
		os.Exit(m.Run())
	}
	testpg.Main(m)
}

// forEachEngine runs fn against a fresh store on every engine: SQLite on a
// temporary file and PostgreSQL on a new database.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	engines := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", sqliteURL},
		{"postgres", func(t *testing.T) string { return testpg.New(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			fn(t, openStore(t, e.url(t)))
		})
	}
}

func sqliteURL(t *testing.T) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "hub.db")
}

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// t0 has nanoseconds and a non-UTC zone, so that tests see the truncation to
// microseconds and the conversion to UTC.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+1800))

// stored is what a time looks like after a round trip.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func mustProject(t *testing.T, s *Store, name string) Project {
	t.Helper()
	org, err := s.GetOrg(t.Context(), DefaultOrg)
	if err != nil {
		t.Fatal(err)
	}
	p := Project{ID: "prj_" + name, OrgID: org.ID, Name: name, CreatedAt: t0}
	if err := s.CreateProject(t.Context(), p); err != nil {
		t.Fatalf("CreateProject(%s): %v", name, err)
	}
	return p
}

func mustEnv(t *testing.T, s *Store, p Project, name string) Env {
	t.Helper()
	e := Env{ID: "env_" + p.Name + "_" + name, ProjectID: p.ID, Name: name, CreatedAt: t0}
	if err := s.CreateEnv(t.Context(), e); err != nil {
		t.Fatalf("CreateEnv(%s): %v", name, err)
	}
	got, err := s.GetEnv(t.Context(), p.Name, name)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func TestOpenURLs(t *testing.T) {
	for _, url := range []string{
		"",
		"hub.db",
		"mysql://u:secret@h/db",
		"sqlite://",
		"sqlite:hub.db",
		"sqlite://:memory:",
		"sqlite://./a?b.db",
		"postgres://u:secret@[::1/db", // unparsable
	} {
		s, err := Open(t.Context(), url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the password: %v", url, err)
		}
	}
}

func TestPostgresConnectErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections.
	_, err := Open(ctx, "postgresql://u:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") || strings.Contains(err.Error(), "postgresql://") {
		t.Errorf("error leaks the URL: %v", err)
	}
}

func TestOpenMigratesAndEnsuresDefaultOrg(t *testing.T) {
	engines := []struct {
		name, engine string
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", sqliteURL},
		{"postgres", "postgres", func(t *testing.T) string { return testpg.New(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			url := e.url(t)
			s := openStore(t, url)
			if got := s.Engine(); got != e.engine {
				t.Errorf("Engine() = %q, want %q", got, e.engine)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			org, err := s.GetOrg(t.Context(), DefaultOrg)
			if err != nil {
				t.Fatalf("GetOrg(default): %v", err)
			}
			if !strings.HasPrefix(org.ID, "org_") || org.Name != DefaultOrg || org.CreatedAt.IsZero() {
				t.Errorf("default org = %+v", org)
			}
			p := mustProject(t, s, "kept")

			// A second Open of the same database re-runs migrations (a
			// no-op) and finds the same default org and the data.
			s2 := openStore(t, url)
			org2, err := s2.GetOrg(t.Context(), DefaultOrg)
			if err != nil {
				t.Fatal(err)
			}
			if org2 != org {
				t.Errorf("default org after reopen = %+v, want %+v", org2, org)
			}
			if _, err := s2.GetProject(t.Context(), p.Name); err != nil {
				t.Errorf("GetProject after reopen: %v", err)
			}

			again, err := s2.EnsureOrg(t.Context(), DefaultOrg)
			if err != nil || again != org {
				t.Errorf("EnsureOrg(default) = %+v, %v; want %+v", again, err, org)
			}
			other, err := s2.EnsureOrg(t.Context(), "acme")
			if err != nil || other.Name != "acme" || other.ID == org.ID {
				t.Errorf("EnsureOrg(acme) = %+v, %v", other, err)
			}
			_, err = s2.GetOrg(t.Context(), "nope")
			wantErr(t, "GetOrg(nope)", err, ErrNotFound)
		})
	}
}

func TestProjects(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acme, err := s.EnsureOrg(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		// Hyphens sort before letters in byte order but not in most
		// locales: both engines must give byte order.
		mustProject(t, s, "ab")
		mustProject(t, s, "a-c")
		if err := s.CreateProject(ctx, Project{ID: "prj_z", OrgID: acme.ID, Name: "z", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}

		got, err := s.GetProject(ctx, "z")
		if err != nil {
			t.Fatal(err)
		}
		want := Project{ID: "prj_z", OrgID: acme.ID, OrgName: "acme", Name: "z", CreatedAt: stored(t0)}
		if got != want {
			t.Errorf("GetProject = %+v, want %+v", got, want)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
		}

		list, err := s.ListProjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range list {
			names = append(names, p.OrgName+"/"+p.Name)
		}
		if got, want := strings.Join(names, " "), "default/a-c default/ab acme/z"; got != want {
			t.Errorf("ListProjects = %s, want %s", got, want)
		}

		// Project names are unique in the Hub, across orgs.
		err = s.CreateProject(ctx, Project{ID: "prj_other", OrgID: acme.ID, Name: "ab", CreatedAt: t0})
		wantErr(t, "duplicate name", err, ErrConflict)
		err = s.CreateProject(ctx, Project{ID: "prj_z", OrgID: acme.ID, Name: "fresh", CreatedAt: t0})
		wantErr(t, "duplicate id", err, ErrConflict)
		err = s.CreateProject(ctx, Project{ID: "prj_x", OrgID: "org_missing", Name: "x", CreatedAt: t0})
		wantErr(t, "unknown org", err, ErrNotFound)
		_, err = s.GetProject(ctx, "missing")
		wantErr(t, "GetProject(missing)", err, ErrNotFound)
	})
}

func TestEnvs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		q := mustProject(t, s, "blog")

		dev := mustEnv(t, s, p, "dev")
		want := Env{ID: "env_shop_dev", ProjectID: p.ID, ProjectName: "shop", Name: "dev", Revision: 1, CreatedAt: stored(t0)}
		if dev != want {
			t.Errorf("GetEnv = %+v, want %+v", dev, want)
		}
		mustEnv(t, s, p, "prod")
		mustEnv(t, s, p, "pre-prod")
		mustEnv(t, s, q, "dev") // same name, other project

		list, err := s.ListEnvs(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range list {
			if e.ProjectName != "shop" || e.Revision != 1 {
				t.Errorf("ListEnvs row = %+v", e)
			}
			names = append(names, e.Name)
		}
		if got, want := strings.Join(names, " "), "dev pre-prod prod"; got != want {
			t.Errorf("ListEnvs = %s, want %s", got, want)
		}
		if list, err := s.ListEnvs(ctx, "prj_missing"); err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListEnvs(missing) = %v, %v; want empty", list, err)
		}

		err = s.CreateEnv(ctx, Env{ID: "env_2", ProjectID: p.ID, Name: "dev", CreatedAt: t0})
		wantErr(t, "duplicate env", err, ErrConflict)
		err = s.CreateEnv(ctx, Env{ID: "env_3", ProjectID: "prj_missing", Name: "dev", CreatedAt: t0})
		wantErr(t, "unknown project", err, ErrNotFound)
		_, err = s.GetEnv(ctx, "shop", "qa")
		wantErr(t, "unknown env", err, ErrNotFound)
		_, err = s.GetEnv(ctx, "missing", "dev")
		wantErr(t, "env of unknown project", err, ErrNotFound)
	})
}

func TestConnections(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		env := mustEnv(t, s, p, "dev")
		other := mustEnv(t, s, p, "prod")

		created := t0
		c, isNew, err := s.PutConnection(ctx, Connection{
			ID: "conn_1", EnvID: env.ID, Name: "main", Engine: "postgres",
			Ciphertext: []byte{0, 1, 2, 0xff}, KeyVersion: "v1",
			RedactedURL: "postgres://app:***@db/app", UpdatedAt: created,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := Connection{
			ID: "conn_1", EnvID: env.ID, Name: "main", Engine: "postgres",
			Ciphertext: []byte{0, 1, 2, 0xff}, KeyVersion: "v1",
			RedactedURL: "postgres://app:***@db/app", Version: 1,
			CreatedAt: stored(created), UpdatedAt: stored(created),
		}
		if !isNew || !equalConn(c, want) {
			t.Errorf("PutConnection (create) = %+v, %v; want %+v, true", c, isNew, want)
		}
		assertRevision(t, s, "dev", 2)

		// Update: same id and created_at, new contents, version 2. The id
		// the caller passes is ignored for an existing row.
		updated := t0.Add(time.Hour + 123*time.Nanosecond)
		c, isNew, err = s.PutConnection(ctx, Connection{
			ID: "conn_ignored", EnvID: env.ID, Name: "main", Engine: "sqlite",
			Ciphertext: []byte("new"), KeyVersion: "v2",
			RedactedURL: "sqlite://./x.db", UpdatedAt: updated,
		})
		if err != nil {
			t.Fatal(err)
		}
		want = Connection{
			ID: "conn_1", EnvID: env.ID, Name: "main", Engine: "sqlite",
			Ciphertext: []byte("new"), KeyVersion: "v2", RedactedURL: "sqlite://./x.db",
			Version: 2, CreatedAt: stored(created), UpdatedAt: stored(updated),
		}
		if isNew || !equalConn(c, want) {
			t.Errorf("PutConnection (update) = %+v, %v; want %+v, false", c, isNew, want)
		}
		assertRevision(t, s, "dev", 3)
		assertRevision(t, s, "prod", 1)

		got, err := s.GetConnection(ctx, env.ID, "main")
		if err != nil || !equalConn(got, want) {
			t.Errorf("GetConnection = %+v, %v; want %+v", got, err, want)
		}

		for _, name := range []string{"replica", "a-side"} {
			if _, _, err := s.PutConnection(ctx, Connection{
				ID: "conn_" + name, EnvID: env.ID, Name: name, Engine: "postgres",
				Ciphertext: []byte(name), KeyVersion: "v1", UpdatedAt: t0,
			}); err != nil {
				t.Fatal(err)
			}
		}
		// Same name in another env is another connection.
		if _, isNew, err := s.PutConnection(ctx, Connection{
			ID: "conn_prod", EnvID: other.ID, Name: "main", Engine: "postgres",
			Ciphertext: []byte("p"), KeyVersion: "v1", UpdatedAt: t0,
		}); err != nil || !isNew {
			t.Fatalf("PutConnection(prod/main) = %v, %v", isNew, err)
		}
		assertRevision(t, s, "dev", 5)
		assertRevision(t, s, "prod", 2)

		list, err := s.ListConnections(ctx, env.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range list {
			names = append(names, c.Name)
		}
		if got, want := strings.Join(names, " "), "a-side main replica"; got != want {
			t.Errorf("ListConnections = %s, want %s", got, want)
		}
		if !equalConn(list[1], want) {
			t.Errorf("ListConnections[1] = %+v, want %+v", list[1], want)
		}

		_, err = s.GetConnection(ctx, env.ID, "missing")
		wantErr(t, "GetConnection(missing)", err, ErrNotFound)
		_, _, err = s.PutConnection(ctx, Connection{
			ID: "conn_x", EnvID: "env_missing", Name: "main", Engine: "postgres",
			Ciphertext: []byte("secret-ciphertext"), KeyVersion: "v1", UpdatedAt: t0,
		})
		wantErr(t, "PutConnection(unknown env)", err, ErrNotFound)
		if err != nil && strings.Contains(err.Error(), "secret-ciphertext") {
			t.Errorf("error leaks the ciphertext: %v", err)
		}
		// Reusing an id for another name is a conflict, and the failed
		// transaction leaves the revision alone.
		_, _, err = s.PutConnection(ctx, Connection{
			ID: "conn_1", EnvID: env.ID, Name: "fresh", Engine: "postgres",
			Ciphertext: []byte("x"), KeyVersion: "v1", UpdatedAt: t0,
		})
		wantErr(t, "PutConnection(duplicate id)", err, ErrConflict)
		assertRevision(t, s, "dev", 5)
	})
}

func equalConn(a, b Connection) bool {
	return a.ID == b.ID && a.EnvID == b.EnvID && a.Name == b.Name && a.Engine == b.Engine &&
		bytes.Equal(a.Ciphertext, b.Ciphertext) && a.KeyVersion == b.KeyVersion &&
		a.RedactedURL == b.RedactedURL && a.Version == b.Version &&
		a.CreatedAt == b.CreatedAt && a.UpdatedAt == b.UpdatedAt
}

func assertRevision(t *testing.T, s *Store, env string, want int64) {
	t.Helper()
	e, err := s.GetEnv(t.Context(), "shop", env)
	if err != nil {
		t.Fatal(err)
	}
	if e.Revision != want {
		t.Errorf("revision of %s = %d, want %d", env, e.Revision, want)
	}
}

func TestSnapshots(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		env := mustEnv(t, s, p, "dev")
		other := mustEnv(t, s, p, "prod")

		snap := func(id, env, conn string, at time.Time) Snapshot {
			return Snapshot{
				ID: id, EnvID: env, Connection: conn, Engine: "postgres",
				Hash: "h-" + id, Content: []byte(`[{"name":"` + id + `"}]`), CreatedAt: at,
			}
		}
		all := []Snapshot{
			snap("snap_01", env.ID, "main", t0),
			snap("snap_02", env.ID, "main", t0.Add(time.Minute)),
			snap("snap_03", env.ID, "main", t0.Add(-time.Minute)), // older, created later
			snap("snap_04", env.ID, "b-side", t0),
			snap("snap_06", env.ID, "audit", t0), // same time: id decides
			snap("snap_05", env.ID, "audit", t0),
			snap("snap_07", other.ID, "main", t0.Add(time.Hour)),
		}
		for _, sn := range all {
			if err := s.CreateSnapshot(ctx, sn); err != nil {
				t.Fatalf("CreateSnapshot(%s): %v", sn.ID, err)
			}
		}
		assertRevision(t, s, "dev", 1) // staging does not bump (SPEC §8.1)

		got, err := s.GetSnapshot(ctx, env.ID, "snap_01")
		want := all[0]
		want.CreatedAt = stored(want.CreatedAt)
		if err != nil || !equalSnap(got, want) {
			t.Errorf("GetSnapshot = %+v, %v; want %+v", got, err, want)
		}
		_, err = s.GetSnapshot(ctx, other.ID, "snap_01")
		wantErr(t, "GetSnapshot(other env)", err, ErrNotFound)

		latest, err := s.LatestSnapshot(ctx, env.ID, "main")
		if err != nil || latest.ID != "snap_02" {
			t.Errorf("LatestSnapshot(main) = %s, %v; want snap_02", latest.ID, err)
		}
		latest, err = s.LatestSnapshot(ctx, env.ID, "audit")
		if err != nil || latest.ID != "snap_06" {
			t.Errorf("LatestSnapshot(audit) = %s, %v; want snap_06", latest.ID, err)
		}
		_, err = s.LatestSnapshot(ctx, env.ID, "missing")
		wantErr(t, "LatestSnapshot(missing)", err, ErrNotFound)

		list, err := s.LatestSnapshots(ctx, env.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, sn := range list {
			ids = append(ids, sn.Connection+"="+sn.ID)
		}
		if got, want := strings.Join(ids, " "), "audit=snap_06 b-side=snap_04 main=snap_02"; got != want {
			t.Errorf("LatestSnapshots = %s, want %s", got, want)
		}
		if want := stored(all[1].CreatedAt); list[2].CreatedAt != want || !bytes.Equal(list[2].Content, all[1].Content) {
			t.Errorf("LatestSnapshots[2] = %+v", list[2])
		}
		if list, err := s.LatestSnapshots(ctx, "env_missing"); err != nil || len(list) != 0 {
			t.Errorf("LatestSnapshots(missing) = %v, %v", list, err)
		}

		err = s.CreateSnapshot(ctx, snap("snap_01", env.ID, "main", t0))
		wantErr(t, "duplicate snapshot", err, ErrConflict)
		err = s.CreateSnapshot(ctx, snap("snap_99", "env_missing", "main", t0))
		wantErr(t, "snapshot of unknown env", err, ErrNotFound)
	})
}

func equalSnap(a, b Snapshot) bool {
	return a.ID == b.ID && a.EnvID == b.EnvID && a.Connection == b.Connection &&
		a.Engine == b.Engine && a.Hash == b.Hash && bytes.Equal(a.Content, b.Content) &&
		a.CreatedAt == b.CreatedAt
}

func TestTimesRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		org, err := s.GetOrg(t.Context(), DefaultOrg)
		if err != nil {
			t.Fatal(err)
		}
		for i, at := range []time.Time{
			t0,
			time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			time.Date(2262, 4, 11, 23, 47, 16, 854775000, time.FixedZone("Y", -7*3600)),
			time.Unix(0, 1000).In(time.FixedZone("Z", 3600)),
		} {
			name := fmt.Sprintf("t%d", i)
			if err := s.CreateProject(t.Context(), Project{ID: "prj_" + name, OrgID: org.ID, Name: name, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			p, err := s.GetProject(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			if want := stored(at); p.CreatedAt != want || p.CreatedAt.Location() != time.UTC {
				t.Errorf("%v came back as %v, want %v", at, p.CreatedAt, want)
			}
		}
	})
}

func TestConcurrentPutConnection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		p := mustProject(t, s, "shop")
		env := mustEnv(t, s, p, "dev")
		const n, names = 20, 5
		var (
			wg   sync.WaitGroup
			errs = make(chan error, n)
		)
		for i := range n {
			wg.Go(func() {
				_, _, err := s.PutConnection(t.Context(), Connection{
					ID: fmt.Sprintf("conn_%d", i), EnvID: env.ID, Name: fmt.Sprintf("c%d", i%names),
					Engine: "postgres", Ciphertext: []byte{byte(i)}, KeyVersion: "v1", UpdatedAt: t0,
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("PutConnection: %v", err)
			}
		}
		assertRevision(t, s, "dev", 1+n)
		list, err := s.ListConnections(t.Context(), env.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != names {
			t.Fatalf("%d connections, want %d", len(list), names)
		}
		for _, c := range list {
			if c.Version != n/names {
				t.Errorf("%s: version %d, want %d", c.Name, c.Version, n/names)
			}
		}
	})
}

// TestSQLitePragmas checks that every pooled connection, not just the
// first, runs with the durability and integrity settings.
func TestSQLitePragmas(t *testing.T) {
	s := openStore(t, sqliteURL(t))
	ctx := t.Context()
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := s.db.Conn(ctx) // hold each so the next is a new connection
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var fk, sync, busy int
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != 2 || busy != 10000 {
			t.Errorf("journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d", mode, fk, sync, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestSQLiteSurvivesKill9 re-executes the test binary as a child that
// commits a project and then blocks; the parent kills it with SIGKILL and
// expects the project in the file.
func TestSQLiteSurvivesKill9(t *testing.T) {
	const ready = "STORE-CHILD-COMMITTED"
	if path := os.Getenv(crashChildEnv); path != "" {
		s, err := Open(context.Background(), "sqlite://"+path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child open:", err)
			os.Exit(2)
		}
		org, err := s.GetOrg(context.Background(), DefaultOrg)
		if err == nil {
			err = s.CreateProject(context.Background(), Project{ID: "prj_durable", OrgID: org.ID, Name: "durable", CreatedAt: t0})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child create:", err)
			os.Exit(2)
		}
		fmt.Println(ready)
		select {} // wait for SIGKILL with the store still open
	}

	path := filepath.Join(t.TempDir(), "hub.db")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSQLiteSurvivesKill9$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sawReady := false
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if sc.Text() == ready {
			sawReady = true
			break
		}
	}
	if !sawReady {
		_ = cmd.Wait()
		t.Fatalf("child exited without committing: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}

	s := openStore(t, "sqlite://"+path)
	p, err := s.GetProject(t.Context(), "durable")
	if err != nil {
		t.Fatalf("project committed before kill -9 is gone: %v", err)
	}
	if p.ID != "prj_durable" || p.CreatedAt != stored(t0) {
		t.Errorf("project after crash = %+v", p)
	}
}
