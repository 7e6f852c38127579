package service

import (
	"context"
	"fmt"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// maxKeyRoles bounds the roles of one API key.
const maxKeyRoles = 64

// CreateAPIKey creates a data-plane key bound to the env (SPEC §7.2). The
// returned key is the only time its secret exists outside the caller: the
// store keeps its SHA-256.
func (s *Service) CreateAPIKey(ctx context.Context, p auth.Principal, project, env string, in hubapi.CreateAPIKey) (hubapi.CreatedAPIKey, error) {
	if err := names.Resource("name", in.Name); err != nil {
		return hubapi.CreatedAPIKey{}, err
	}
	roles, err := keyRoles(in.Roles)
	if err != nil {
		return hubapi.CreatedAPIKey{}, err
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return hubapi.CreatedAPIKey{}, apierr.New(apierr.BadRequest, "expiresAt must be in the future").
			WithDetail("problems", []apierr.Problem{{Path: "expiresAt", Message: "in the past"}})
	}
	sc, err := s.env(ctx, p, auth.APIKeyCreate, project, env)
	if err != nil {
		return hubapi.CreatedAPIKey{}, err
	}
	keyID, secret, key, err := apikey.Generate()
	if err != nil {
		return hubapi.CreatedAPIKey{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	row := store.APIKey{ID: keyID, EnvID: sc.env.ID, Name: in.Name, Roles: roles, SecretHash: apikey.Hash(secret),
		Status: store.KeyActive, CreatedAt: now}
	if in.ExpiresAt != nil {
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		row.ExpiresAt = &t
	}
	if _, err := s.store.CreateAPIKey(ctx, row); err != nil {
		return hubapi.CreatedAPIKey{}, storeErr(err, "API key")
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, auth.APIKeyCreate, sc.target()+" "+keyID)
	return hubapi.CreatedAPIKey{APIKey: keyOut(sc, row), Key: key}, nil
}

// ListAPIKeys lists an env's keys, newest first, without secrets.
func (s *Service) ListAPIKeys(ctx context.Context, p auth.Principal, project, env string) ([]hubapi.APIKey, error) {
	sc, err := s.env(ctx, p, auth.APIKeyRead, project, env)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListAPIKeys(ctx, sc.env.ID)
	if err != nil {
		return nil, storeErr(err, "API keys")
	}
	out := make([]hubapi.APIKey, 0, len(rows))
	for _, r := range rows {
		out = append(out, keyOut(sc, r))
	}
	return out, nil
}

// RevokeAPIKey revokes a key of the env; revoking twice is harmless.
func (s *Service) RevokeAPIKey(ctx context.Context, p auth.Principal, project, env, keyID string) (hubapi.APIKey, error) {
	if !ids.Valid(ids.Key, keyID) {
		return hubapi.APIKey{}, apierr.New(apierr.BadRequest, "key id %q is malformed: want key_…", clip(keyID))
	}
	sc, err := s.env(ctx, p, auth.APIKeyRevoke, project, env)
	if err != nil {
		return hubapi.APIKey{}, err
	}
	now := s.now()
	key, _, err := s.store.RevokeAPIKey(ctx, sc.env.ID, keyID, now)
	if err != nil {
		return hubapi.APIKey{}, storeErr(err, fmt.Sprintf("API key %s in %s", keyID, sc.target()))
	}
	if key.RevokedAt != nil && key.RevokedAt.Equal(now) {
		// Revoked by this call, not earlier: a change to announce and audit.
		s.changes.Changed(sc.env.ID)
		s.record(ctx, p, sc.prj, auth.APIKeyRevoke, sc.target()+" "+keyID)
	}
	return keyOut(sc, key), nil
}

// keyRoles checks and de-duplicates the roles of a key (SPEC §2: the
// keywords public and authenticated cannot be given to a key).
func keyRoles(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apierr.New(apierr.BadRequest, "roles is required: give the key at least one role").
			WithDetail("problems", []apierr.Problem{{Path: "roles", Message: "required"}})
	}
	if len(in) > maxKeyRoles {
		return nil, apierr.New(apierr.BadRequest, "a key may have at most %d roles", maxKeyRoles)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for i, r := range in {
		if err := names.Role(fmt.Sprintf("roles[%d]", i), r, true); err != nil {
			return nil, err
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

func keyOut(sc scope, k store.APIKey) hubapi.APIKey {
	return hubapi.APIKey{KeyID: k.ID, Name: k.Name, Roles: k.Roles, Status: k.Status, Project: sc.prj.Name,
		Env: sc.env.Name, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
