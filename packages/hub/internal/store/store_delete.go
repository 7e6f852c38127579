package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
)

// This file holds the deletes of connections, envs and projects (SPEC §9,
// §15). Each runs in one transaction that first bumps the revision of every
// env it touches: that locks the env rows on PostgreSQL (SQLite transactions
// queue at BEGIN IMMEDIATE), so a release created concurrently either lands
// before the in-use check sees it or waits and then finds the env gone; and
// it moves the bundle ETag, so long polls answer at once (the bundle route
// then answers 404 for a deleted env and Bridges drop it).
//
// What is removed and what stays:
//   - a connection: its row (the encrypted URL). Snapshots keep its name as
//     history; releases that froze them are immutable.
//   - an env: its API keys and connections are removed; the env row stays
//     as a tombstone (deleted_at set, name := id, no current release) with
//     its releases, permission sets, auth configs, logic sets and snapshots, because
//     releases of other envs promoted from it refer to those rows (and its
//     own releases to its auth configs).
//   - a project: every row of it and of its envs, its memberships and the
//     CI tokens scoped to it. Nothing outside a project refers to its rows
//     except audit events, which move to the org-level log (project_id
//     NULL): the trail survives the project.

// ErrInUse: a delete without force was refused because the current release
// of an env still needs what was to be deleted. The error is an *InUseError
// that names the envs and releases.
var ErrInUse = errors.New("store: in use by a current release")

// InUseError names the current releases that need what a delete would
// remove.
type InUseError struct {
	// Current maps env name → the id of its current release.
	Current map[string]string
}

func (e *InUseError) Error() string {
	parts := make([]string, 0, len(e.Current))
	for _, env := range slices.Sorted(maps.Keys(e.Current)) {
		parts = append(parts, env+" ("+e.Current[env]+")")
	}
	return "needed by the current release of " + strings.Join(parts, ", ")
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// DeleteConnection removes the connection called name from the env and
// bumps the env's revision, in one transaction, and returns the removed row
// and the new revision. Unless force, a connection that the env's current
// release froze a snapshot of → *InUseError. An unknown env or connection
// → ErrNotFound.
func (s *Store) DeleteConnection(ctx context.Context, envID, name string, force bool) (Connection, int64, error) {
	var (
		c   Connection
		rev int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rev, err = s.bumpRevision(ctx, tx, envID); err != nil {
			return err
		}
		c, err = scanConnection(s.queryRow(ctx, tx, `SELECT `+connectionCols+` WHERE env_id = ? AND name = ?`, envID, name))
		if err != nil {
			return err
		}
		if !force {
			var envName, relID string
			var snaps map[string]string
			err := s.queryRow(ctx, tx, `SELECT e.name, r.id, r.snapshots FROM envs e
JOIN releases r ON r.id = e.current_release_id WHERE e.id = ?`, envID).Scan(&envName, &relID, jsonCol{&snaps})
			switch {
			case err == nil:
				if _, used := snaps[name]; used {
					return &InUseError{Current: map[string]string{envName: relID}}
				}
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		_, err = s.exec(ctx, tx, `DELETE FROM connections WHERE id = ?`, c.ID)
		return err
	})
	if err != nil {
		return Connection{}, 0, s.fail(err, "delete connection %q", name)
	}
	return c, rev, nil
}

// DeleteEnv deletes the env at time at: its API keys and connections are
// removed and the env becomes a tombstone (see the top of this file), in one
// transaction that bumps its revision. It returns the env as it was. Unless
// force, an env with a current release → *InUseError. An unknown or
// already deleted env → ErrNotFound.
func (s *Store) DeleteEnv(ctx context.Context, envID string, at time.Time, force bool) (Env, error) {
	var e Env
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.bumpRevision(ctx, tx, envID); err != nil {
			return err
		}
		var err error
		e, err = scanEnv(s.queryRow(ctx, tx, `SELECT `+envCols+` WHERE e.id = ? AND e.deleted_at IS NULL`, envID))
		if err != nil {
			return err
		}
		if e.CurrentReleaseID != "" && !force {
			return &InUseError{Current: map[string]string{e.Name: e.CurrentReleaseID}}
		}
		for _, q := range []string{
			`DELETE FROM api_keys WHERE env_id = ?`,
			`DELETE FROM connections WHERE env_id = ?`,
		} {
			if _, err := s.exec(ctx, tx, q, envID); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, `UPDATE envs SET name = id, deleted_at = ?, current_release_id = NULL WHERE id = ?`,
			micros(at), envID)
		return err
	})
	if err != nil {
		return Env{}, s.fail(err, "delete env %q", envID)
	}
	return e, nil
}

// DeleteProject removes the project and everything in it (see the top of
// this file), in one transaction, and returns the project and the envs it
// had (tombstones excluded), whose long polls the caller wakes. Unless
// force, a project with an env that has a current release → *InUseError
// naming each. An unknown project → ErrNotFound.
func (s *Store) DeleteProject(ctx context.Context, projectID string, force bool) (Project, []Env, error) {
	var (
		p    Project
		envs []Env
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock (and bump) every env of the project first.
		if _, err := s.exec(ctx, tx, `UPDATE envs SET revision = revision + 1 WHERE project_id = ?`, projectID); err != nil {
			return err
		}
		if err := s.notifyRevision(ctx, tx, "project_id = ?", projectID); err != nil {
			return err
		}
		var err error
		if p, err = scanProject(s.queryRow(ctx, tx, `SELECT `+projectCols+` WHERE p.id = ?`, projectID)); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT `+envCols+` WHERE e.project_id = ? AND e.deleted_at IS NULL ORDER BY e.name`, projectID)
		if err != nil {
			return err
		}
		if envs, err = collect(rows, scanEnv); err != nil {
			return err
		}
		inUse := &InUseError{Current: map[string]string{}}
		for _, e := range envs {
			if e.CurrentReleaseID != "" {
				inUse.Current[e.Name] = e.CurrentReleaseID
			}
		}
		if len(inUse.Current) > 0 && !force {
			return inUse
		}
		const ofEnvs = ` WHERE env_id IN (SELECT id FROM envs WHERE project_id = ?)`
		for _, q := range []string{
			`UPDATE envs SET current_release_id = NULL WHERE project_id = ?`,
			`DELETE FROM api_keys` + ofEnvs,
			`DELETE FROM connections` + ofEnvs,
			// One statement for all releases: promoted_from points within
			// the project, and foreign keys are checked at its end.
			`DELETE FROM releases` + ofEnvs,
			`DELETE FROM permission_sets` + ofEnvs,
			`DELETE FROM auth_configs` + ofEnvs,
			`DELETE FROM logic_sets` + ofEnvs,
			`DELETE FROM snapshots` + ofEnvs,
			`DELETE FROM envs WHERE project_id = ?`,
			`DELETE FROM project_members WHERE project_id = ?`,
			`DELETE FROM ci_tokens WHERE project_id = ?`,
			`UPDATE audit_events SET project_id = NULL WHERE project_id = ?`,
			`DELETE FROM projects WHERE id = ?`,
		} {
			if _, err := s.exec(ctx, tx, q, projectID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Project{}, nil, s.fail(err, "delete project %q", projectID)
	}
	return p, envs, nil
}
