package store

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// RevisionChannel is the PostgreSQL NOTIFY channel of revision bumps: every
// transaction that bumps an env's revision queues a notification whose
// payload is the env's id. PostgreSQL delivers it at commit, never for a
// rolled-back transaction, so a listener that re-reads the revision on
// wake-up always sees the change.
const RevisionChannel = "stk_env_revision"

// notifyRevision queues, in tx, a notification on RevisionChannel for each
// env matching where (a condition on envs with one `?`). A no-op on SQLite,
// whose store is never shared by two Hubs.
func (s *Store) notifyRevision(ctx context.Context, tx *sql.Tx, where string, arg any) error {
	if s.pg == nil {
		return nil
	}
	_, err := s.exec(ctx, tx, `SELECT pg_notify('`+RevisionChannel+`', id) FROM envs WHERE `+where, arg)
	return err
}

// Watch is what WatchRevisions reports to.
type Watch struct {
	// Changed is called with the env id of each revision bump committed
	// by any Hub sharing the store, this one included.
	Changed func(envID string)
	// Resync is called each time the listening connection is
	// (re)established: notifications sent while it was down are lost, so
	// every waiter should re-read.
	Resync func()
	// Lost is called when the listening connection fails or cannot be
	// opened; WatchRevisions retries after a backoff. The error never
	// carries the store URL (pgx's texts name host and user, not the
	// password; still, callers log only its category).
	Lost func(err error)
}

// Listen backoff bounds: a store that is down is retried quickly at first,
// then every few seconds at most.
const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 5 * time.Second
)

// Watching reports whether WatchRevisions delivers anything: true on
// PostgreSQL, false on SQLite (one process per store: local wake-ups
// suffice).
func (s *Store) Watching() bool { return s.pg != nil }

// WatchRevisions LISTENs on RevisionChannel over a dedicated connection
// (outside the pool, which must not lose a connection to a session-level
// LISTEN) until ctx ends, reconnecting with a jittered exponential backoff
// when the connection drops. On SQLite it returns at once.
func (s *Store) WatchRevisions(ctx context.Context, w Watch) {
	if s.pg == nil {
		return
	}
	backoff := watchBackoffMin
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, w, func() { backoff = watchBackoffMin })
		if ctx.Err() != nil {
			return
		}
		if w.Lost != nil {
			w.Lost(err)
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// listenOnce opens one listening connection and reads notifications until
// it fails; listening is called once LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, w Watch, listening func()) error {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, s.pg.Copy())
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{RevisionChannel}.Sanitize()); err != nil {
		return err
	}
	listening()
	if w.Resync != nil {
		w.Resync()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if w.Changed != nil && n.Channel == RevisionChannel {
			w.Changed(n.Payload)
		}
	}
}
