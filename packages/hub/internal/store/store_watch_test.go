package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
)

// watcher runs s.WatchRevisions in the background and records what it
// reports.
type watcher struct {
	changed chan string
	resync  chan struct{}
	lost    chan struct{}
}

func watch(t *testing.T, s *Store) *watcher {
	t.Helper()
	w := &watcher{changed: make(chan string, 100), resync: make(chan struct{}, 10), lost: make(chan struct{}, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchRevisions(ctx, Watch{
			Changed: func(id string) { w.changed <- id },
			Resync:  func() { w.resync <- struct{}{} },
			Lost:    func(error) { w.lost <- struct{}{} },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("WatchRevisions did not return after its context ended")
		}
	})
	return w
}

func (w *watcher) waitResync(t *testing.T) {
	t.Helper()
	select {
	case <-w.resync:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch never started listening")
	}
}

func (w *watcher) want(t *testing.T, envID string) {
	t.Helper()
	select {
	case got := <-w.changed:
		if got != envID {
			t.Fatalf("notified %q, want %q", got, envID)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no notification for %s within 2s", envID)
	}
}

func (w *watcher) wantNone(t *testing.T) {
	t.Helper()
	select {
	case got := <-w.changed:
		t.Fatalf("unexpected notification for %q", got)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestWatchRevisionsAcrossStores: two stores on one PostgreSQL database
// stand for two Hub replicas; a revision bump committed through one is
// reported by the other's watch, a rolled-back one is not, and the watch
// comes back (with a resync) after its connection is killed.
func TestWatchRevisionsAcrossStores(t *testing.T) {
	url := testpg.New(t)
	a, b := openStore(t, url), openStore(t, url)
	if !a.Watching() {
		t.Fatal("a PostgreSQL store does not watch")
	}
	w := watch(t, a)
	w.waitResync(t)

	p := mustProject(t, b, "shop")
	dev, prod := mustEnv(t, b, p, "dev"), mustEnv(t, b, p, "prod")
	w.wantNone(t) // creating envs bumps nothing
	if _, _, err := b.PutConnection(t.Context(), Connection{ID: "conn_1", EnvID: dev.ID, Name: "main",
		Engine: "postgres", Ciphertext: []byte{1}, KeyVersion: "v1", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	w.want(t, dev.ID)

	// A bump in a transaction that rolls back is never announced.
	err := b.inTx(t.Context(), func(tx *sql.Tx) error {
		if _, err := b.bumpRevision(t.Context(), tx, prod.ID); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("inTx did not fail")
	}
	w.wantNone(t)

	// The listening connection dies (a store failover, an idle-session
	// killer): the watch reconnects, resyncs and keeps reporting.
	if _, err := b.db.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not notice its connection was killed")
	}
	w.waitResync(t)
	if _, _, err := b.DeleteProject(t.Context(), p.ID, true); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 {
		select {
		case id := <-w.changed:
			got[id] = true
		case <-time.After(2 * time.Second):
			t.Fatalf("project delete: notified %v, want both envs", got)
		}
	}
	if !got[dev.ID] || !got[prod.ID] {
		t.Fatalf("project delete: notified %v, want %s and %s", got, dev.ID, prod.ID)
	}
}

// TestWatchRevisionsSQLite: a SQLite store has no other writer to hear
// from; the watch returns at once.
func TestWatchRevisionsSQLite(t *testing.T) {
	s := openStore(t, sqliteURL(t))
	if s.Watching() {
		t.Fatal("a SQLite store claims to watch")
	}
	done := make(chan struct{})
	go func() { s.WatchRevisions(context.Background(), Watch{}); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("WatchRevisions blocks on SQLite")
	}
}

// TestOpenConcurrentlyOnEmptyPostgres starts several Hubs' stores at once on
// an empty database: the advisory lock serializes the migrations, so every
// Open succeeds, each migration is recorded once, and there is one default
// org.
func TestOpenConcurrentlyOnEmptyPostgres(t *testing.T) {
	url := testpg.New(t)
	const n = 5
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stores []*Store
		errs   []error
	)
	for range n {
		wg.Go(func() {
			s, err := Open(t.Context(), url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			stores = append(stores, s)
		})
	}
	wg.Wait()
	for _, s := range stores {
		t.Cleanup(func() { _ = s.Close() })
	}
	for _, err := range errs {
		t.Errorf("Open: %v", err)
	}
	if len(stores) == 0 {
		t.FailNow()
	}
	s := stores[0]
	var dup int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM (SELECT version_id FROM goose_db_version
		WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d migrations recorded more than once", dup)
	}
	var applied, orgs int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	entries, err := migrations.ReadDir(s.d.migrations)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(entries) {
		t.Errorf("%d migrations recorded, want %d", applied, len(entries))
	}
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM orgs WHERE name = $1`, DefaultOrg).Scan(&orgs); err != nil {
		t.Fatal(err)
	}
	if orgs != 1 {
		t.Errorf("%d default orgs, want 1", orgs)
	}
}
