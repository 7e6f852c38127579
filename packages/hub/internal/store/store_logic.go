package store

import (
	"context"
	"time"
)

// LogicSet is an immutable staged version of an env's logic directory
// (SPEC §6): Files is the JSON of the files as applied (path → text),
// Logics the JSON of the compiled []logic.Logic with the types the
// database described at apply. The store keeps both as opaque JSON: the
// service owns their shape.
type LogicSet struct {
	ID        string
	EnvID     string
	Hash      string
	Files     []byte
	Logics    []byte
	CreatedAt time.Time
	CreatedBy string
}

// CreateLogicSet stores an immutable logic set version (no update or
// delete but the project's); like every staging write it does not bump the
// revision. A taken id → ErrConflict; an unknown env → ErrNotFound.
func (s *Store) CreateLogicSet(ctx context.Context, l LogicSet) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO logic_sets (id, env_id, hash, files, logics, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?)`, l.ID, l.EnvID, l.Hash, string(l.Files), string(l.Logics), micros(l.CreatedAt), l.CreatedBy)
	if err != nil {
		return s.fail(err, "create logic set %q", l.ID)
	}
	return nil
}

const logicSetCols = `id, env_id, hash, files, logics, created_at, created_by FROM logic_sets`

func scanLogicSet(sc interface{ Scan(...any) error }) (LogicSet, error) {
	var (
		l             LogicSet
		files, logics string
	)
	err := sc.Scan(&l.ID, &l.EnvID, &l.Hash, &files, &logics, timeCol{&l.CreatedAt}, &l.CreatedBy)
	l.Files, l.Logics = []byte(files), []byte(logics)
	return l, err
}

// LatestLogicSet returns the staged logic set of the env: its newest
// version (by created_at, then id); ErrNotFound if none was applied.
func (s *Store) LatestLogicSet(ctx context.Context, envID string) (LogicSet, error) {
	l, err := scanLogicSet(s.queryRow(ctx, s.db, `SELECT `+logicSetCols+`
WHERE env_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, envID))
	if err != nil {
		return LogicSet{}, s.fail(err, "latest logic set")
	}
	return l, nil
}

// GetLogicSet returns a logic set version by id, whatever its env.
func (s *Store) GetLogicSet(ctx context.Context, id string) (LogicSet, error) {
	l, err := scanLogicSet(s.queryRow(ctx, s.db, `SELECT `+logicSetCols+` WHERE id = ?`, id))
	if err != nil {
		return LogicSet{}, s.fail(err, "get logic set %q", id)
	}
	return l, nil
}
