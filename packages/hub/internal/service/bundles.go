package service

import (
	"context"
	"fmt"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// storePoll is how often a waiting long poll re-reads the env revision:
// the safety net for a change whose wake-up was lost (a NOTIFY sent while
// this replica's LISTEN connection was down). Changes made through this
// process, and on PostgreSQL through any replica (WatchStore), wake
// waiters at once.
const storePoll = time.Second

// WatchStore wakes this Hub's long polls on revision bumps committed by any
// Hub sharing a PostgreSQL store (LISTEN/NOTIFY), until ctx ends. It
// returns at once on SQLite.
func (s *Service) WatchStore(ctx context.Context) {
	s.store.WatchRevisions(ctx, store.Watch{
		Changed: s.changes.Changed,
		Resync:  s.changes.ChangedAll,
		Lost: func(error) {
			// Only the fact: driver texts name the store's host and user.
			s.log.Warn("the Hub store's LISTEN connection failed; retrying (long polls fall back to re-reading every second)")
		},
	})
}

// Bundle returns the env's bundle (SPEC §8.1). Callers are Bridges,
// authenticated by the HTTP edge with the bridge token.
func (s *Service) Bundle(ctx context.Context, project, env string) (*bundle.Bundle, error) {
	e, err := s.bundleEnv(ctx, project, env)
	if err != nil {
		return nil, err
	}
	return s.buildBundle(ctx, project, e)
}

// WaitBundle is the long poll: while the env's revision equals have, it
// waits up to wait for a change, then returns (nil, nil) — a 304. Otherwise
// it returns the bundle at the new revision.
func (s *Service) WaitBundle(ctx context.Context, project, env string, have int64, wait time.Duration) (*bundle.Bundle, error) {
	e, err := s.bundleEnv(ctx, project, env)
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(storePoll)
	defer tick.Stop()
	for {
		// Take the channel before reading the revision: a change between
		// the two still closes it.
		changed := s.changes.Wait(e.ID)
		rev, err := s.store.EnvRevision(ctx, e.ID)
		if err != nil {
			return nil, storeErr(err, "env")
		}
		if rev != have {
			e, err = s.store.GetEnv(ctx, project, env)
			if err != nil {
				return nil, storeErr(err, "env")
			}
			return s.buildBundle(ctx, project, e)
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Service) bundleEnv(ctx context.Context, project, env string) (store.Env, error) {
	if err := names.Resource("project", project); err != nil {
		return store.Env{}, err
	}
	if err := names.Resource("env", env); err != nil {
		return store.Env{}, err
	}
	e, err := s.store.GetEnv(ctx, project, env)
	if err != nil {
		return store.Env{}, storeErr(err, fmt.Sprintf("env %s/%s", project, env))
	}
	return e, nil
}

// buildBundle assembles the bundle of env e. e's revision was read before
// its content, so the content is at least as new as the ETag claims: a
// Bridge may fetch a change twice, never miss one.
func (s *Service) buildBundle(ctx context.Context, project string, e store.Env) (*bundle.Bundle, error) {
	b := &bundle.Bundle{Project: project, Env: e.Name, Revision: e.Revision,
		Connections: []bundle.Connection{}, APIKeys: []bundle.APIKey{}}
	if e.CurrentReleaseID != "" {
		rel, err := s.store.GetRelease(ctx, e.CurrentReleaseID)
		if err != nil {
			return nil, storeErr(err, "release")
		}
		_, doc, snaps, err := s.releaseContent(ctx, rel)
		if err != nil {
			return nil, err
		}
		authDoc, err := s.releaseAuthConfig(ctx, rel)
		if err != nil {
			return nil, err
		}
		logics, _, err := s.releaseLogics(ctx, rel)
		if err != nil {
			return nil, err
		}
		br := &bundle.Release{ID: rel.ID, Ref: rel.Ref, Hash: rel.Hash, CreatedAt: rel.CreatedAt,
			Snapshots: make(map[string]schema.Snapshot, len(snaps)), Permissions: *doc, Auth: authDoc, Logics: logics}
		for conn, snap := range snaps {
			br.Snapshots[conn] = *snap
		}
		b.Release = br
	}
	conns, err := s.store.ListConnections(ctx, e.ID)
	if err != nil {
		return nil, storeErr(err, "connections")
	}
	for _, c := range conns {
		u, err := s.openURL(project, e.Name, c)
		if err != nil {
			return nil, err
		}
		b.Connections = append(b.Connections, bundle.Connection{Name: c.Name, Engine: c.Engine, URL: u, Version: c.Version})
	}
	keys, err := s.store.ListAPIKeys(ctx, e.ID)
	if err != nil {
		return nil, storeErr(err, "API keys")
	}
	for _, k := range keys {
		b.APIKeys = append(b.APIKeys, bundle.APIKey{KeyID: k.ID, Name: k.Name, Roles: k.Roles, Hash: k.SecretHash,
			Status: k.Status, ExpiresAt: k.ExpiresAt})
	}
	return b, nil
}

// LocateAPIKey answers GET /internal/v1/apikeys/{keyId}: the project and env
// of any existing key, revoked ones included (the bundle decides).
func (s *Service) LocateAPIKey(ctx context.Context, keyID string) (hubapi.APIKeyLocation, error) {
	if !ids.Valid(ids.Key, keyID) {
		return hubapi.APIKeyLocation{}, apierr.New(apierr.NotFound, "API key not found")
	}
	_, loc, err := s.store.GetAPIKey(ctx, keyID)
	if err != nil {
		return hubapi.APIKeyLocation{}, storeErr(err, "API key")
	}
	return hubapi.APIKeyLocation{Project: loc.ProjectName, Env: loc.EnvName}, nil
}
