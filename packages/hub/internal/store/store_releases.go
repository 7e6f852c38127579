package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// This file holds the release side of the store (SPEC §7.2, §8.1, §9):
// permission sets, releases and the env's current-release pointer, API keys
// and audit events. Exactly these methods bump an env's revision, each in
// the transaction that makes the change: CreateRelease, SetCurrentRelease,
// CreateAPIKey, RevokeAPIKey (when it revokes) and PutConnection. Staging
// (CreatePermissionSet, CreateSnapshot) and audit events do not.

// bumpRevision adds one to the env's revision and returns the new value; an
// unknown env → ErrNotFound. Run first in a transaction, it also locks the
// env row on PostgreSQL, so that concurrent changes of one env queue there
// (SQLite transactions are BEGIN IMMEDIATE: they queue at BEGIN).
func (s *Store) bumpRevision(ctx context.Context, tx *sql.Tx, envID string) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, tx, `UPDATE envs SET revision = revision + 1 WHERE id = ? RETURNING revision`, envID).Scan(&rev); err != nil {
		return 0, err
	}
	return rev, s.notifyRevision(ctx, tx, "id = ?", envID)
}

// nullIfEmpty maps "" to SQL NULL.
func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullMicros maps a nil time to SQL NULL and any other to micros.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// nullTimeCol scans a nullable microsecond column: NULL → nil.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// jsonCol scans a JSON text column into v (a pointer).
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error {
	switch b := src.(type) {
	case string:
		return json.Unmarshal([]byte(b), c.v)
	case []byte:
		return json.Unmarshal(b, c.v)
	}
	return fmt.Errorf("JSON column holds %T, want text", src)
}

// CreatePermissionSet stores an immutable permission set (there is no
// update or delete); it does not bump the revision. Nil Warnings are stored
// as an empty JSON array. A taken id → ErrConflict; an unknown env →
// ErrNotFound.
func (s *Store) CreatePermissionSet(ctx context.Context, ps PermissionSet) error {
	source := ps.Source
	if source == nil {
		source = []byte{}
	}
	warnings := string(ps.Warnings)
	if len(ps.Warnings) == 0 {
		warnings = "[]"
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO permission_sets
    (id, env_id, hash, source, warnings, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ps.ID, ps.EnvID, ps.Hash, source, warnings, micros(ps.CreatedAt), ps.CreatedBy)
	if err != nil {
		return s.fail(err, "create permission set %q", ps.ID)
	}
	return nil
}

const permissionSetCols = `id, env_id, hash, source, warnings, created_at, created_by FROM permission_sets`

func scanPermissionSet(sc interface{ Scan(...any) error }) (PermissionSet, error) {
	var (
		ps       PermissionSet
		warnings string
	)
	err := sc.Scan(&ps.ID, &ps.EnvID, &ps.Hash, &ps.Source, &warnings, timeCol{&ps.CreatedAt}, &ps.CreatedBy)
	ps.Warnings = []byte(warnings)
	return ps, err
}

// LatestPermissionSet returns the newest permission set of the env (by
// created_at, then id); ErrNotFound if none was applied.
func (s *Store) LatestPermissionSet(ctx context.Context, envID string) (PermissionSet, error) {
	ps, err := scanPermissionSet(s.queryRow(ctx, s.db, `SELECT `+permissionSetCols+`
WHERE env_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, envID))
	if err != nil {
		return PermissionSet{}, s.fail(err, "latest permission set")
	}
	return ps, nil
}

// GetPermissionSet returns a permission set by id, whatever its env (a
// promoted release refers to its source env's set).
func (s *Store) GetPermissionSet(ctx context.Context, id string) (PermissionSet, error) {
	ps, err := scanPermissionSet(s.queryRow(ctx, s.db, `SELECT `+permissionSetCols+` WHERE id = ?`, id))
	if err != nil {
		return PermissionSet{}, s.fail(err, "get permission set %q", id)
	}
	return ps, nil
}

// GetSnapshotByID returns a snapshot by id, whatever its env (a promoted
// release refers to its source env's snapshots).
func (s *Store) GetSnapshotByID(ctx context.Context, id string) (Snapshot, error) {
	sn, err := scanSnapshot(s.queryRow(ctx, s.db, `SELECT `+snapshotCols+` FROM snapshots WHERE id = ?`, id))
	if err != nil {
		return Snapshot{}, s.fail(err, "get snapshot %q", id)
	}
	return sn, nil
}

// CreateRelease stores the immutable release r, makes it the env's current
// release and bumps the env's revision, in one transaction; it returns the
// new revision. r.Snapshots and r.PermissionsID may name rows of any env but
// must exist, as must r.AuthID and r.LogicID unless empty. An unknown env,
// permission set, auth config, logic set, snapshot or PromotedFrom release → ErrNotFound; a taken id →
// ErrConflict.
func (s *Store) CreateRelease(ctx context.Context, r Release) (int64, error) {
	snapshots := r.Snapshots
	if snapshots == nil {
		snapshots = map[string]string{}
	}
	snapJSON, err := json.Marshal(snapshots) // keys sorted: stable text
	if err != nil {
		return 0, fmt.Errorf("store: create release %q: %w", r.ID, err)
	}
	var rev int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rev, err = s.bumpRevision(ctx, tx, r.EnvID); err != nil {
			return err
		}
		// The map is JSON, out of reach of foreign keys: check the ids here.
		for _, conn := range slices.Sorted(maps.Keys(snapshots)) {
			var one int
			err := s.queryRow(ctx, tx, `SELECT 1 FROM snapshots WHERE id = ?`, snapshots[conn]).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("snapshot %q of connection %q: %w", snapshots[conn], conn, ErrNotFound)
			} else if err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO releases
    (id, env_id, ref, hash, permissions_id, auth_id, logic_id, snapshots, promoted_from, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.EnvID, r.Ref, r.Hash, r.PermissionsID, nullIfEmpty(r.AuthID), nullIfEmpty(r.LogicID), string(snapJSON), nullIfEmpty(r.PromotedFrom),
			micros(r.CreatedAt), r.CreatedBy); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE envs SET current_release_id = ? WHERE id = ?`, r.ID, r.EnvID)
		return err
	})
	if err != nil {
		return 0, s.fail(err, "create release %q", r.ID)
	}
	return rev, nil
}

// SetCurrentRelease points the env at one of its existing releases
// (rollback) and bumps the env's revision, in one transaction, even when the
// release already is the current one; it returns the new revision. An
// unknown env or release → ErrNotFound; a release of another env →
// ErrConflict.
func (s *Store) SetCurrentRelease(ctx context.Context, envID, releaseID string) (int64, error) {
	var rev int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rev, err = s.bumpRevision(ctx, tx, envID); err != nil {
			return err
		}
		var owner string
		if err := s.queryRow(ctx, tx, `SELECT env_id FROM releases WHERE id = ?`, releaseID).Scan(&owner); err != nil {
			return err
		}
		if owner != envID {
			return fmt.Errorf("release belongs to another env: %w", ErrConflict)
		}
		_, err = s.exec(ctx, tx, `UPDATE envs SET current_release_id = ? WHERE id = ?`, releaseID, envID)
		return err
	})
	if err != nil {
		return 0, s.fail(err, "set current release %q", releaseID)
	}
	return rev, nil
}

const releaseCols = `id, env_id, ref, hash, permissions_id, COALESCE(auth_id, ''), COALESCE(logic_id, ''), snapshots, COALESCE(promoted_from, ''),
    created_at, created_by FROM releases`

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var r Release
	err := sc.Scan(&r.ID, &r.EnvID, &r.Ref, &r.Hash, &r.PermissionsID, &r.AuthID, &r.LogicID, jsonCol{&r.Snapshots},
		&r.PromotedFrom, timeCol{&r.CreatedAt}, &r.CreatedBy)
	return r, err
}

// GetRelease returns a release by id, whatever its env: the caller compares
// EnvID.
func (s *Store) GetRelease(ctx context.Context, id string) (Release, error) {
	r, err := scanRelease(s.queryRow(ctx, s.db, `SELECT `+releaseCols+` WHERE id = ?`, id))
	if err != nil {
		return Release{}, s.fail(err, "get release %q", id)
	}
	return r, nil
}

// ListReleases returns the releases of the env, newest first (by
// created_at, then id).
func (s *Store) ListReleases(ctx context.Context, envID string) ([]Release, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+releaseCols+` WHERE env_id = ? ORDER BY created_at DESC, id DESC`, envID)
	if err != nil {
		return nil, s.fail(err, "list releases")
	}
	out, err := collect(rows, scanRelease)
	if err != nil {
		return nil, s.fail(err, "list releases")
	}
	return out, nil
}

// LatestReleaseByRef returns the newest release of the env made with ref
// (promote --ref); ErrNotFound if there is none.
func (s *Store) LatestReleaseByRef(ctx context.Context, envID, ref string) (Release, error) {
	r, err := scanRelease(s.queryRow(ctx, s.db, `SELECT `+releaseCols+`
WHERE env_id = ? AND ref = ? ORDER BY created_at DESC, id DESC LIMIT 1`, envID, ref))
	if err != nil {
		return Release{}, s.fail(err, "latest release with ref %q", ref)
	}
	return r, nil
}

// EnvRevision returns the env's revision (the bundle ETag) with one indexed
// read; an unknown env → ErrNotFound.
func (s *Store) EnvRevision(ctx context.Context, envID string) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, s.db, `SELECT revision FROM envs WHERE id = ?`, envID).Scan(&rev); err != nil {
		return 0, s.fail(err, "env revision")
	}
	return rev, nil
}

// GetEnvByID returns the env by id, with ProjectName filled.
func (s *Store) GetEnvByID(ctx context.Context, envID string) (Env, error) {
	e, err := scanEnv(s.queryRow(ctx, s.db, `SELECT `+envCols+` WHERE e.id = ? AND e.deleted_at IS NULL`, envID))
	if err != nil {
		return Env{}, s.fail(err, "get env %q", envID)
	}
	return e, nil
}

// EnvLocation names the env an API key belongs to.
type EnvLocation struct {
	ProjectName string
	EnvName     string
	EnvID       string
}

// CreateAPIKey stores k and bumps its env's revision, in one transaction;
// it returns the new revision. An empty Status is stored as KeyActive; nil
// Roles as an empty list. A taken id → ErrConflict; an unknown env →
// ErrNotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (int64, error) {
	roles := k.Roles
	if roles == nil {
		roles = []string{}
	}
	rolesJSON, err := json.Marshal(roles)
	if err != nil {
		return 0, fmt.Errorf("store: create API key %q: %w", k.ID, err)
	}
	if k.Status == "" {
		k.Status = KeyActive
	}
	var rev int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rev, err = s.bumpRevision(ctx, tx, k.EnvID); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO api_keys
    (id, env_id, name, roles, secret_hash, status, created_at, expires_at, revoked_at, last_used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.EnvID, k.Name, string(rolesJSON), k.SecretHash, k.Status, micros(k.CreatedAt),
			nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt), nullMicros(k.LastUsedAt))
		return err
	})
	if err != nil {
		return 0, s.fail(err, "create API key %q", k.ID)
	}
	return rev, nil
}

const apiKeyCols = `k.id, k.env_id, k.name, k.roles, k.secret_hash, k.status, k.created_at,
    k.expires_at, k.revoked_at, k.last_used_at`

func scanAPIKey(sc interface{ Scan(...any) error }, extra ...any) (APIKey, error) {
	var k APIKey
	err := sc.Scan(append([]any{&k.ID, &k.EnvID, &k.Name, jsonCol{&k.Roles}, &k.SecretHash, &k.Status,
		timeCol{&k.CreatedAt}, nullTimeCol{&k.ExpiresAt}, nullTimeCol{&k.RevokedAt}, nullTimeCol{&k.LastUsedAt}},
		extra...)...)
	return k, err
}

// GetAPIKey returns a key by id, revoked ones included, and the env it
// belongs to.
func (s *Store) GetAPIKey(ctx context.Context, keyID string) (APIKey, EnvLocation, error) {
	var loc EnvLocation
	k, err := scanAPIKey(s.queryRow(ctx, s.db, `SELECT `+apiKeyCols+`, p.name, e.name, e.id
FROM api_keys k JOIN envs e ON e.id = k.env_id JOIN projects p ON p.id = e.project_id
WHERE k.id = ?`, keyID), &loc.ProjectName, &loc.EnvName, &loc.EnvID)
	if err != nil {
		return APIKey{}, EnvLocation{}, s.fail(err, "get API key %q", keyID)
	}
	return k, loc, nil
}

// ListAPIKeys returns the keys of the env, revoked ones included, newest
// first (by created_at, then id).
func (s *Store) ListAPIKeys(ctx context.Context, envID string) ([]APIKey, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+apiKeyCols+` FROM api_keys k
WHERE k.env_id = ? ORDER BY k.created_at DESC, k.id DESC`, envID)
	if err != nil {
		return nil, s.fail(err, "list API keys")
	}
	out, err := collect(rows, func(sc interface{ Scan(...any) error }) (APIKey, error) { return scanAPIKey(sc) })
	if err != nil {
		return nil, s.fail(err, "list API keys")
	}
	return out, nil
}

// RevokeAPIKey revokes the key keyID of the env at time at and bumps the
// env's revision, in one transaction, and returns the stored key and the
// env's revision. A key that is already revoked comes back unchanged with
// the current revision, which is not bumped. A key of another env, or an
// unknown one → ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, envID, keyID string, at time.Time) (APIKey, int64, error) {
	var (
		k   APIKey
		rev int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The status condition makes a concurrent second revoke (which
		// waits for this row's lock on PostgreSQL) change nothing.
		res, err := s.exec(ctx, tx, `UPDATE api_keys SET status = ?, revoked_at = ?
WHERE id = ? AND env_id = ? AND status = ?`, KeyRevoked, micros(at), keyID, envID, KeyActive)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			rev, err = s.bumpRevision(ctx, tx, envID)
		} else {
			err = s.queryRow(ctx, tx, `SELECT revision FROM envs WHERE id = ?`, envID).Scan(&rev)
		}
		if err != nil {
			return err
		}
		k, err = scanAPIKey(s.queryRow(ctx, tx, `SELECT `+apiKeyCols+` FROM api_keys k
WHERE k.id = ? AND k.env_id = ?`, keyID, envID))
		return err
	})
	if err != nil {
		return APIKey{}, 0, s.fail(err, "revoke API key %q", keyID)
	}
	return k, rev, nil
}

// Event list bounds (SPEC §9: ?limit=).
const (
	DefaultEventLimit = 50
	MaxEventLimit     = 500
)

// AppendEvent stores an audit event; ProjectID "" makes it org-level. A
// taken id → ErrConflict; an unknown org or project → ErrNotFound.
func (s *Store) AppendEvent(ctx context.Context, ev Event) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO audit_events
    (id, org_id, project_id, at, actor, action, target, outcome, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.OrgID, nullIfEmpty(ev.ProjectID), micros(ev.Time), ev.Actor, ev.Action, ev.Target,
		ev.Outcome, ev.RequestID)
	if err != nil {
		return s.fail(err, "append event %q", ev.ID)
	}
	return nil
}

const eventCols = `id, org_id, COALESCE(project_id, ''), at, actor, action, target, outcome, request_id FROM audit_events`

func scanEvent(sc interface{ Scan(...any) error }) (Event, error) {
	var ev Event
	err := sc.Scan(&ev.ID, &ev.OrgID, &ev.ProjectID, timeCol{&ev.Time}, &ev.Actor, &ev.Action, &ev.Target,
		&ev.Outcome, &ev.RequestID)
	return ev, err
}

// ListEvents returns audit events newest first (by id): with f.ProjectID
// "", the org-level events of f.OrgID; otherwise the events of that project
// (f.OrgID is then not needed). f.Before, when set, keeps only events with
// a smaller id; f.Limit ≤ 0 means DefaultEventLimit and is capped at
// MaxEventLimit.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultEventLimit
	case limit > MaxEventLimit:
		limit = MaxEventLimit
	}
	query := `SELECT ` + eventCols + ` WHERE org_id = ? AND project_id IS NULL`
	args := []any{f.OrgID}
	if f.ProjectID != "" {
		query = `SELECT ` + eventCols + ` WHERE project_id = ?`
		args = []any{f.ProjectID}
	}
	if f.Before != "" {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, s.fail(err, "list events")
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, s.fail(err, "list events")
	}
	return out, nil
}
