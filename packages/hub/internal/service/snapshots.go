package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Snapshot introspects a connection and stores the result as an immutable,
// content-hashed snapshot. When the schema is unchanged since the latest
// snapshot of the connection, that one is returned (Reused) instead of a
// copy, so snapshot history only grows when the schema does.
func (s *Service) Snapshot(ctx context.Context, p auth.Principal, project, env, name string) (hubapi.Snapshot, error) {
	sc, conn, err := s.connection(ctx, p, auth.SchemaSnapshot, project, env, name)
	if err != nil {
		return hubapi.Snapshot{}, err
	}
	tables, err := s.liveTables(ctx, project, env, conn)
	if err != nil {
		return hubapi.Snapshot{}, err
	}
	hash := schema.Hash(conn.Engine, tables)
	latest, err := s.store.LatestSnapshot(ctx, sc.env.ID, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return hubapi.Snapshot{}, storeErr(err, "snapshot")
	}
	if err == nil && latest.Hash == hash {
		out, err := snapshotOut(project, env, latest)
		out.Reused = true
		return out, err
	}
	content, err := json.Marshal(tables)
	if err != nil {
		return hubapi.Snapshot{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	row := store.Snapshot{ID: ids.New(ids.Snapshot), EnvID: sc.env.ID, Connection: name, Engine: conn.Engine,
		Hash: hash, Content: content, CreatedAt: s.now()}
	if err := s.store.CreateSnapshot(ctx, row); err != nil {
		return hubapi.Snapshot{}, storeErr(err, "snapshot")
	}
	s.record(ctx, p, sc.prj, auth.SchemaSnapshot, sc.target()+"/"+name+" "+row.ID)
	return snapshotOut(project, env, row)
}

// Schema returns the latest snapshot of each connection of an env, or of
// the one named connection.
func (s *Service) Schema(ctx context.Context, p auth.Principal, project, env, connection string) ([]hubapi.Snapshot, error) {
	sc, err := s.env(ctx, p, auth.SchemaRead, project, env)
	if err != nil {
		return nil, err
	}
	envID := sc.env.ID
	var rows []store.Snapshot
	if connection != "" {
		if err := names.Resource("connection", connection); err != nil {
			return nil, err
		}
		if _, err := s.store.GetConnection(ctx, envID, connection); err != nil {
			return nil, storeErr(err, fmt.Sprintf("connection %q in %s/%s", connection, project, env))
		}
		row, err := s.store.LatestSnapshot(ctx, envID, connection)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A connection not snapshotted yet has an empty history.
		case err != nil:
			return nil, storeErr(err, "snapshot")
		default:
			rows = []store.Snapshot{row}
		}
	} else if rows, err = s.store.LatestSnapshots(ctx, envID); err != nil {
		return nil, storeErr(err, "snapshots")
	}
	out := make([]hubapi.Snapshot, 0, len(rows))
	for _, r := range rows {
		snap, err := snapshotOut(project, env, r)
		if err != nil {
			return nil, err
		}
		out = append(out, snap)
	}
	return out, nil
}

func snapshotOut(project, env string, r store.Snapshot) (hubapi.Snapshot, error) {
	snap, err := decodeSnapshot(r)
	snap.Project, snap.Env = project, env
	return hubapi.Snapshot{Snapshot: snap}, err
}

// liveTables introspects a connection's database now, bounded by the
// service's database timeout; failures are 503 naming only a category.
func (s *Service) liveTables(ctx context.Context, project, env string, c store.Connection) ([]schema.Table, error) {
	dbURL, err := s.openURL(project, env, c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.dbTimeout)
	defer cancel()
	tables, err := s.dbs.Tables(ctx, c.Engine, dbURL)
	if err != nil {
		return nil, unreachable(c.Name, err)
	}
	return schema.Normalize(tables), nil
}
