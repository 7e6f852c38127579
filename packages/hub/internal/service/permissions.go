package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/santokit/santokit/packages/core/accessdiff"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// ApplyPermissions validates a permissions.yaml against the env's latest
// snapshots and stages it as a new immutable version (SPEC §5.1, §9).
// Staging does not change what Bridges serve. Text equal to the latest
// staged version returns that version (Reused) instead of a copy. Either
// way the result carries what releasing it would change from the current
// release (SPEC §9), so every client can show it before a release is made.
func (s *Service) ApplyPermissions(ctx context.Context, p auth.Principal, project, env string, src []byte) (hubapi.Permissions, error) {
	sc, err := s.env(ctx, p, auth.PermissionsApply, project, env)
	if err != nil {
		return hubapi.Permissions{}, err
	}
	if strings.TrimSpace(string(src)) == "" {
		return hubapi.Permissions{}, apierr.New(apierr.BadRequest, "the request body must be the permissions YAML document")
	}
	snaps, err := s.latestSnapshots(ctx, sc.env.ID)
	if err != nil {
		return hubapi.Permissions{}, err
	}
	doc, err := validatePermissions(src, snaps)
	if err != nil {
		return hubapi.Permissions{}, err
	}
	warnings := warningsOut(permissions.IndexWarnings(doc, snaps))
	hash := permissions.Hash(src)
	latest, err := s.store.LatestPermissionSet(ctx, sc.env.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return hubapi.Permissions{}, storeErr(err, "permissions")
	}
	staged := accessdiff.Release{Permissions: doc, Snapshots: snaps}
	if err == nil && latest.Hash == hash {
		out := permissionsOut(project, env, latest, false)
		out.Reused = true
		out.Diff, err = s.stagedDiff(ctx, sc, staged, latest.ID)
		return out, err
	}
	wj, _ := json.Marshal(warnings)
	row := store.PermissionSet{ID: ids.New(ids.Permission), EnvID: sc.env.ID, Hash: hash, Source: src,
		Warnings: wj, CreatedAt: s.now(), CreatedBy: p.Name}
	if err := s.store.CreatePermissionSet(ctx, row); err != nil {
		return hubapi.Permissions{}, storeErr(err, "permissions")
	}
	s.record(ctx, p, sc.prj, auth.PermissionsApply, sc.target()+" "+row.ID)
	out := permissionsOut(project, env, row, false)
	out.Diff, err = s.stagedDiff(ctx, sc, staged, row.ID)
	return out, err
}

// GetPermissions returns the latest staged permissions with their source.
func (s *Service) GetPermissions(ctx context.Context, p auth.Principal, project, env string) (hubapi.Permissions, error) {
	sc, err := s.env(ctx, p, auth.PermissionsRead, project, env)
	if err != nil {
		return hubapi.Permissions{}, err
	}
	row, err := s.store.LatestPermissionSet(ctx, sc.env.ID)
	if err != nil {
		return hubapi.Permissions{}, storeErr(err, "staged permissions of "+sc.target())
	}
	return permissionsOut(project, env, row, true), nil
}

// validatePermissions parses src, checks it against snaps and compiles its
// conditions (SPEC §5.1, §5.2), returning SCHEMA_VALIDATION_FAILED with
// every problem found.
func validatePermissions(src []byte, snaps map[string]*schema.Snapshot) (*permissions.Document, error) {
	doc, problems := condition.Document(src, snaps)
	if len(problems) > 0 {
		return nil, apierr.Validation(apierr.Summary("permissions", problems), problems)
	}
	return doc, nil
}

// latestSnapshots loads the newest snapshot of each connection of an env.
func (s *Service) latestSnapshots(ctx context.Context, envID string) (map[string]*schema.Snapshot, error) {
	rows, err := s.store.LatestSnapshots(ctx, envID)
	if err != nil {
		return nil, storeErr(err, "snapshots")
	}
	return snapshotMap(rows)
}

func snapshotMap(rows []store.Snapshot) (map[string]*schema.Snapshot, error) {
	out := make(map[string]*schema.Snapshot, len(rows))
	for _, r := range rows {
		snap, err := decodeSnapshot(r)
		if err != nil {
			return nil, err
		}
		out[r.Connection] = &snap
	}
	return out, nil
}

func decodeSnapshot(r store.Snapshot) (schema.Snapshot, error) {
	var tables []schema.Table
	if err := json.Unmarshal(r.Content, &tables); err != nil {
		return schema.Snapshot{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	return schema.Snapshot{ID: r.ID, Connection: r.Connection, Engine: r.Engine, Hash: r.Hash,
		CreatedAt: r.CreatedAt, Tables: schema.Normalize(tables)}, nil
}

func warningsOut(ws []permissions.Warning) []hubapi.Warning {
	out := make([]hubapi.Warning, 0, len(ws))
	for _, w := range ws {
		out = append(out, hubapi.Warning{Connection: w.Connection, Table: w.Table, Column: w.Column, Message: w.Message})
	}
	return out
}

func permissionsOut(project, env string, r store.PermissionSet, withSource bool) hubapi.Permissions {
	out := hubapi.Permissions{ID: r.ID, Project: project, Env: env, Hash: r.Hash, CreatedAt: r.CreatedAt,
		CreatedBy: r.CreatedBy, Warnings: []hubapi.Warning{}}
	_ = json.Unmarshal(r.Warnings, &out.Warnings)
	if withSource {
		out.Source = string(r.Source)
	}
	return out
}
