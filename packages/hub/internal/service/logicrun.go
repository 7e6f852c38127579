package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
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
// bound by type; :auth.sub and :auth.claims.* bind NULL and :auth.roles an
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
	args, err := runArgs(l, given, conn.Engine)
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
			out[k] = json.RawMessage("null") // unknown: refused by runArgs
		default:
			if !json.Valid([]byte(v)) {
				return nil, paramErr(k, "param %s (%s) must be written as its JSON value", k, types[k])
			}
			out[k] = json.RawMessage(v)
		}
	}
	return out, nil
}

// runArgs checks the given params against the logic's declared ones
// (unknown → 400, missing required → 400, wrong type → 400, each naming the
// param; absent ones take their default or NULL) and returns the values of
// the positional parameters, typed for engine.
func runArgs(l *logic.Logic, given map[string]json.RawMessage, engine string) ([]any, error) {
	declared := map[string]logic.Param{}
	for _, p := range l.Params {
		declared[p.Name] = p
	}
	unknown := make([]string, 0)
	for k := range given {
		if _, ok := declared[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, paramErr(unknown[0], "param %s is not declared by logic %s", clip(unknown[0]), l.Name)
	}
	values := map[string]any{}
	for _, p := range l.Params {
		raw, ok := given[p.Name]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if p.Required {
				return nil, paramErr(p.Name, "param %s is required", p.Name)
			}
			if p.Default == "" {
				values[p.Name] = nil
				continue
			}
			raw = json.RawMessage(p.Default)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, paramErr(p.Name, "param %s is not valid JSON", p.Name)
		}
		if why := logic.CheckValue(v, p.Type); why != "" {
			return nil, paramErr(p.Name, "param %s (%s) %s", p.Name, p.Type, why)
		}
		arg, err := driverValue(v, p.Type, engine)
		if err != nil {
			return nil, paramErr(p.Name, "param %s (%s): %v", p.Name, p.Type, err)
		}
		values[p.Name] = arg
	}
	args := make([]any, len(l.Binds))
	for i, b := range l.Binds {
		switch b.Kind {
		case logic.BindParam:
			args[i] = values[b.Name]
		case logic.BindRoles:
			if engine == schema.EngineSQLite {
				args[i] = "[]"
			} else {
				args[i] = []string{}
			}
		default: // sub, claims: an operator has none
			args[i] = nil
		}
	}
	return args, nil
}

// driverValue turns a checked JSON value into what the engine's driver
// binds: PostgreSQL gets typed Go values (text for numbers, so numeric
// keeps its digits), SQLite gets its storage classes and JSON text for
// arrays and json (read with json_each / ->>).
func driverValue(v any, typ, engine string) (any, error) {
	sqlite := engine == schema.EngineSQLite
	if elem, ok := logic.ElemType(typ); ok {
		if sqlite {
			b, err := json.Marshal(v)
			return string(b), err
		}
		items := v.([]any)
		switch elem {
		case logic.TypeInteger:
			out := make([]int64, len(items))
			for i, e := range items {
				n, err := strconv.ParseInt(string(e.(json.Number)), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("item %d is out of range", i)
				}
				out[i] = n
			}
			return out, nil
		case logic.TypeBoolean:
			out := make([]bool, len(items))
			for i, e := range items {
				out[i] = e.(bool)
			}
			return out, nil
		default:
			out := make([]string, len(items))
			for i, e := range items {
				out[i] = fmt.Sprint(e)
			}
			return out, nil
		}
	}
	switch typ {
	case logic.TypeInteger:
		n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		if err != nil {
			return nil, errors.New("out of range")
		}
		return n, nil
	case logic.TypeNumber:
		if sqlite {
			return strconv.ParseFloat(string(v.(json.Number)), 64)
		}
		return string(v.(json.Number)), nil
	case logic.TypeBoolean:
		if sqlite {
			if v.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return v, nil
	case logic.TypeJSON:
		b, err := json.Marshal(v)
		if sqlite {
			return string(b), err
		}
		return json.RawMessage(b), err
	case logic.TypeTimestamptz:
		if sqlite {
			return v, nil
		}
		return time.Parse(time.RFC3339Nano, v.(string))
	}
	return v, nil
}

func paramErr(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return apierr.New(apierr.BadRequest, "%s", msg).
		WithDetail("problems", []apierr.Problem{{Path: "params." + clip(name), Message: msg}})
}
