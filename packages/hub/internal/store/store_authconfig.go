package store

import (
	"context"
	"time"
)

// AuthConfig is an immutable staged version of an env's end-user auth
// config (config/auth.yaml, SPEC §7.3). Source is the YAML text as applied;
// Hash is its content hash.
type AuthConfig struct {
	ID        string
	EnvID     string
	Hash      string
	Source    []byte
	CreatedAt time.Time
	CreatedBy string
}

// CreateAuthConfig stores an immutable auth config version (there is no
// update or delete but the project's); like every staging write it does not
// bump the revision. A taken id → ErrConflict; an unknown env → ErrNotFound.
func (s *Store) CreateAuthConfig(ctx context.Context, a AuthConfig) error {
	source := a.Source
	if source == nil {
		source = []byte{}
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO auth_configs (id, env_id, hash, source, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?)`, a.ID, a.EnvID, a.Hash, source, micros(a.CreatedAt), a.CreatedBy)
	if err != nil {
		return s.fail(err, "create auth config %q", a.ID)
	}
	return nil
}

const authConfigCols = `id, env_id, hash, source, created_at, created_by FROM auth_configs`

func scanAuthConfig(sc interface{ Scan(...any) error }) (AuthConfig, error) {
	var a AuthConfig
	err := sc.Scan(&a.ID, &a.EnvID, &a.Hash, &a.Source, timeCol{&a.CreatedAt}, &a.CreatedBy)
	return a, err
}

// LatestAuthConfig returns the staged auth config of the env: its newest
// version (by created_at, then id); ErrNotFound if none was applied.
func (s *Store) LatestAuthConfig(ctx context.Context, envID string) (AuthConfig, error) {
	a, err := scanAuthConfig(s.queryRow(ctx, s.db, `SELECT `+authConfigCols+`
WHERE env_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, envID))
	if err != nil {
		return AuthConfig{}, s.fail(err, "latest auth config")
	}
	return a, nil
}

// GetAuthConfig returns an auth config version by id.
func (s *Store) GetAuthConfig(ctx context.Context, id string) (AuthConfig, error) {
	a, err := scanAuthConfig(s.queryRow(ctx, s.db, `SELECT `+authConfigCols+` WHERE id = ?`, id))
	if err != nil {
		return AuthConfig{}, s.fail(err, "get auth config %q", id)
	}
	return a, nil
}
