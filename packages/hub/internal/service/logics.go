package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// ApplyLogics validates a whole logic directory and stages it as a new
// immutable version of the env's logic set (SPEC §6, §9): every file is
// parsed and compiled, then every statement is prepared on its connection
// to record its types. Any problem refuses the whole set (400
// SCHEMA_VALIDATION_FAILED, each problem with its file and line) and
// leaves the staged set as it was. A set equal to the staged one (same
// compiled logics and types) returns that version, Reused.
func (s *Service) ApplyLogics(ctx context.Context, p auth.Principal, project, env string, in hubapi.ApplyLogics) (hubapi.LogicSet, error) {
	sc, err := s.env(ctx, p, auth.LogicApply, project, env)
	if err != nil {
		return hubapi.LogicSet{}, err
	}
	if in.Files == nil {
		return hubapi.LogicSet{}, apierr.New(apierr.BadRequest, "files is required: an object of file path under logics/ → text ({} stages no logic)").
			WithDetail("problems", []apierr.Problem{{Path: "files", Message: "required"}})
	}
	conns, err := s.connectionsByName(ctx, sc.env.ID)
	if err != nil {
		return hubapi.LogicSet{}, err
	}
	logics, problems := logic.Parse(in.Files, func(c string) string { return conns[c].Engine })
	if len(problems) > 0 {
		return hubapi.LogicSet{}, apierr.Validation(apierr.Summary("logic files", problems), problems)
	}
	problems, err = s.describeLogics(ctx, project, env, conns, logics)
	if err != nil {
		return hubapi.LogicSet{}, err
	}
	if len(problems) > 0 {
		return hubapi.LogicSet{}, apierr.Validation(apierr.Summary("logic files", problems), problems)
	}
	compiled, err := json.Marshal(logics)
	if err != nil {
		return hubapi.LogicSet{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	files, err := json.Marshal(in.Files) // keys sorted: stable text
	if err != nil {
		return hubapi.LogicSet{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	sum := sha256.Sum256(compiled)
	hash := "sha256:" + hex.EncodeToString(sum[:])
	latest, err := s.store.LatestLogicSet(ctx, sc.env.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return hubapi.LogicSet{}, storeErr(err, "logic set")
	}
	if err == nil && latest.Hash == hash {
		out := logicSetOut(project, env, latest, logics)
		out.Reused = true
		return out, nil
	}
	row := store.LogicSet{ID: ids.New(ids.Logic), EnvID: sc.env.ID, Hash: hash, Files: files, Logics: compiled,
		CreatedAt: s.now(), CreatedBy: p.Name}
	if err := s.store.CreateLogicSet(ctx, row); err != nil {
		return hubapi.LogicSet{}, storeErr(err, "logic set")
	}
	s.record(ctx, p, sc.prj, auth.LogicApply, sc.target()+" "+row.ID)
	return logicSetOut(project, env, row, logics), nil
}

// GetLogics returns the env's staged logic set: each logic's name, auth,
// params and result columns (not its SQL).
func (s *Service) GetLogics(ctx context.Context, p auth.Principal, project, env string) (hubapi.LogicSet, error) {
	sc, err := s.env(ctx, p, auth.LogicRead, project, env)
	if err != nil {
		return hubapi.LogicSet{}, err
	}
	row, err := s.store.LatestLogicSet(ctx, sc.env.ID)
	if errors.Is(err, store.ErrNotFound) {
		return hubapi.LogicSet{}, apierr.Wrap(apierr.NotFound, err,
			"no logic is staged in %s: stage it with stk logic apply --project %s --env %s --dir logics", sc.target(), project, env)
	} else if err != nil {
		return hubapi.LogicSet{}, storeErr(err, "logic set")
	}
	logics, err := decodeLogics(row)
	if err != nil {
		return hubapi.LogicSet{}, err
	}
	return logicSetOut(project, env, row, logics), nil
}

// connectionsByName lists the env's connections by name.
func (s *Service) connectionsByName(ctx context.Context, envID string) (map[string]store.Connection, error) {
	rows, err := s.store.ListConnections(ctx, envID)
	if err != nil {
		return nil, storeErr(err, "connections")
	}
	out := make(map[string]store.Connection, len(rows))
	for _, c := range rows {
		out[c.Name] = c
	}
	return out, nil
}

// describeLogics prepares each logic's statement on its connection (one
// database connection per Santokit connection), filling Columns and
// ParamTypes. A statement that does not prepare is a problem at its file
// and line with the server's message (made safe by introspect.Describe);
// a database that cannot be reached is a 503 naming only a category.
func (s *Service) describeLogics(ctx context.Context, project, env string, conns map[string]store.Connection, logics []logic.Logic) ([]apierr.Problem, error) {
	byConn := map[string][]int{}
	for i, l := range logics {
		byConn[l.Connection] = append(byConn[l.Connection], i)
	}
	names := make([]string, 0, len(byConn))
	for c := range byConn {
		names = append(names, c)
	}
	sort.Strings(names)
	var problems []apierr.Problem
	for _, name := range names {
		c := conns[name]
		dbURL, err := s.openURL(project, env, c)
		if err != nil {
			return nil, err
		}
		sqls := make([]string, 0, len(byConn[name]))
		for _, i := range byConn[name] {
			sqls = append(sqls, logics[i].SQL)
		}
		dctx, cancel := context.WithTimeout(ctx, s.dbTimeout)
		stmts, err := s.dbs.Describe(dctx, c.Engine, dbURL, sqls)
		cancel()
		if err != nil {
			return nil, unreachable(name, err)
		}
		for k, i := range byConn[name] {
			l, st := &logics[i], stmts[k]
			if st.Problem != "" {
				line := l.SourceLine
				if st.Offset > 0 && st.Offset <= len(l.SQL) {
					line += strings.Count(l.SQL[:st.Offset], "\n")
				}
				problems = append(problems, apierr.Problem{File: l.Name + ".sql", Line: line,
					Message: fmt.Sprintf("the statement does not prepare on connection %s: %s", name, st.Problem)})
				continue
			}
			l.Columns = st.Columns
			if l.Columns == nil {
				l.Columns = []logic.Column{}
			}
			l.ParamTypes = st.ParamTypes
		}
	}
	return problems, nil
}

// stagedLogicSet is the env's staged logic set, or a zero row (ID "") when
// none was ever applied: a release then serves no logic.
func (s *Service) stagedLogicSet(ctx context.Context, envID string) (store.LogicSet, error) {
	row, err := s.store.LatestLogicSet(ctx, envID)
	if errors.Is(err, store.ErrNotFound) {
		return store.LogicSet{}, nil
	}
	return row, storeErr(err, "logic set")
}

// releaseLogics loads the logics a release froze (nil when none).
func (s *Service) releaseLogics(ctx context.Context, rel store.Release) ([]logic.Logic, string, error) {
	if rel.LogicID == "" {
		return nil, "", nil
	}
	row, err := s.store.GetLogicSet(ctx, rel.LogicID)
	if err != nil {
		return nil, "", storeErr(err, "logic set of release "+rel.ID)
	}
	logics, err := decodeLogics(row)
	return logics, row.Hash, err
}

// logicDrift prepares every logic of a release on the target env's
// connections (SPEC §9): one that no longer prepares, or whose connection
// the target lacks, is drift.
func (s *Service) logicDrift(ctx context.Context, dst scope, logics []logic.Logic) ([]apierr.Missing, error) {
	if len(logics) == 0 {
		return nil, nil
	}
	conns, err := s.connectionsByName(ctx, dst.env.ID)
	if err != nil {
		return nil, err
	}
	var (
		missing []apierr.Missing
		present []logic.Logic
	)
	for _, l := range logics {
		if _, ok := conns[l.Connection]; !ok {
			missing = append(missing, apierr.Missing{Connection: l.Connection, Logic: l.Name,
				Reason: fmt.Sprintf("connection %s does not exist in %s", l.Connection, dst.target())})
			continue
		}
		present = append(present, l)
	}
	problems, err := s.describeLogics(ctx, dst.prj.Name, dst.env.Name, conns, present)
	if err != nil {
		return nil, err
	}
	byFile := map[string]apierr.Problem{}
	for _, pr := range problems {
		byFile[pr.File] = pr
	}
	for _, l := range present {
		if pr, ok := byFile[l.Name+".sql"]; ok {
			missing = append(missing, apierr.Missing{Connection: l.Connection, Logic: l.Name,
				Reason: strings.TrimPrefix(pr.Message, "the statement ")})
		}
	}
	return missing, nil
}

// decodeLogics reads a stored set: it was valid when staged, so a failure
// is a bug.
func decodeLogics(row store.LogicSet) ([]logic.Logic, error) {
	var logics []logic.Logic
	if err := json.Unmarshal(row.Logics, &logics); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	return logics, nil
}

func logicSetOut(project, env string, r store.LogicSet, logics []logic.Logic) hubapi.LogicSet {
	out := hubapi.LogicSet{ID: r.ID, Project: project, Env: env, Hash: r.Hash, Logics: make([]hubapi.Logic, 0, len(logics)),
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
	for _, l := range logics {
		out.Logics = append(out.Logics, hubapi.Logic{Name: l.Name, Auth: l.Auth, Roles: l.Roles, Connection: l.Connection,
			Readonly: l.Readonly, Params: l.Params, Columns: l.Columns})
	}
	return out
}
