package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/logicexec"
)

// Bounds of a logic run through the Hub: the statement timeout and the
// rows it may return (more is a 400, never a truncation, as for /call).
const (
	logicRunTimeout = 30 * time.Second
	logicRunMaxRows = 1000
)

// RunLogic runs a logic of the env's current release — private ones
// included: this is the one way to run them (SPEC §6) — on the env's
// connection, as an operator (deployer+). The statement gets its params
// checked and bound by the planner, as /call binds them; :auth.sub and :auth.claims.* bind NULL and :auth.roles an
// empty array, since an operator is not an end user. The audit event names
// the logic, never the values.
func (s *Service) RunLogic(ctx context.Context, p auth.Principal, project, env string, in hubapi.RunLogic) (hubapi.LogicResult, error) {
	sc, err := s.env(ctx, p, auth.LogicRun, project, env)
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	if _, why := logic.NameOf(in.Name + ".sql"); why != "" {
		return hubapi.LogicResult{}, apierr.New(apierr.BadRequest, "name %q is not a logic name: %s", clip(in.Name), why).
			WithDetail("problems", []apierr.Problem{{Path: "name", Message: why}})
	}
	if sc.env.CurrentReleaseID == "" {
		return hubapi.LogicResult{}, apierr.New(apierr.NotFound, "%s has no release yet: logic runs from the current release", sc.target())
	}
	rel, err := s.store.GetRelease(ctx, sc.env.CurrentReleaseID)
	if err != nil {
		return hubapi.LogicResult{}, storeErr(err, "release")
	}
	logics, _, err := s.releaseLogics(ctx, rel)
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	var l *logic.Logic
	for i := range logics {
		if logics[i].Name == in.Name {
			l = &logics[i]
		}
	}
	if l == nil {
		return hubapi.LogicResult{}, apierr.New(apierr.NotFound, "logic %s is not in the current release %s of %s", in.Name, rel.ID, sc.target())
	}
	conns, err := s.connectionsByName(ctx, sc.env.ID)
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	conn, ok := conns[l.Connection]
	if !ok {
		return hubapi.LogicResult{}, apierr.New(apierr.NotFound, "connection %s of logic %s does not exist in %s", l.Connection, l.Name, sc.target())
	}
	given, err := withText(l, in.Params, in.Text)
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	params, err := json.Marshal(given)
	if err != nil {
		return hubapi.LogicResult{}, apierr.New(apierr.BadRequest, "params are not valid JSON")
	}
	// The planner's own checking and binding (what /call does after its
	// access check): unknown, missing required and mistyped params are 400
	// naming the param. An operator is not an end user: :auth.sub and
	// claims bind NULL, :auth.roles an empty array.
	args, err := plan.LogicArgs(l, conn.Engine, params, &plan.Caller{})
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	dbURL, err := s.openURL(project, env, conn)
	if err != nil {
		return hubapi.LogicResult{}, err
	}
	res, err := s.dbs.Run(ctx, logicexec.Statement{Engine: conn.Engine, URL: dbURL, SQL: l.SQL, Args: args,
		Readonly: l.Readonly, Timeout: logicRunTimeout, MaxRows: logicRunMaxRows})
	target := sc.target() + " logics/" + l.Name
	if err != nil {
		s.append(ctx, p, sc.prj.OrgID, sc.prj.ID, auth.LogicRun, target, "failure")
		var ce *logicexec.ConnError
		if errors.As(err, &ce) {
			return hubapi.LogicResult{}, unreachable(conn.Name, ce.Err)
		}
		return hubapi.LogicResult{}, err
	}
	s.record(ctx, p, sc.prj, auth.LogicRun, target)
	if res.HasRows {
		return hubapi.LogicResult{Data: res.Data}, nil
	}
	return hubapi.LogicResult{Meta: &hubapi.LogicMeta{Affected: res.Affected}}, nil
}

// withText merges params given as text into the JSON ones: text for a
// param of a string-like type (string, uuid, date, timestamptz) is that
// string; for any other it must be the JSON of the value.
func withText(l *logic.Logic, params map[string]json.RawMessage, text map[string]string) (map[string]json.RawMessage, error) {
	if len(text) == 0 {
		return params, nil
	}
	out := make(map[string]json.RawMessage, len(params)+len(text))
	for k, v := range params {
		out[k] = v
	}
	types := map[string]string{}
	for _, p := range l.Params {
		types[p.Name] = p.Type
	}
	for k, v := range text {
		if _, dup := out[k]; dup {
			return nil, paramErr(k, "param %s is given twice", clip(k))
		}
		switch types[k] {
		case logic.TypeString, logic.TypeUUID, logic.TypeDate, logic.TypeTimestamptz:
			b, _ := json.Marshal(v)
			out[k] = b
		case "":
			out[k] = json.RawMessage("null") // unknown: refused by plan.LogicArgs
		default:
			if !json.Valid([]byte(v)) {
				return nil, paramErr(k, "param %s (%s) must be written as its JSON value", k, types[k])
			}
			out[k] = json.RawMessage(v)
		}
	}
	return out, nil
}

func paramErr(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return apierr.New(apierr.BadRequest, "%s", msg).
		WithDetail("problems", []apierr.Problem{{Path: "params." + clip(name), Message: msg}})
}
