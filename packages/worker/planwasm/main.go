// Command planwasm is the /call planner (packages/core/plan) as a wasip1
// reactor module for the Workers runtime (SPEC §16, docs/decisions/0030):
// the TypeScript shell does the I/O and asks this module every question
// about the contract — the body's syntax, the API key's form and secret,
// permissions, params and the SQL — so that the Bridge and the Worker share
// one implementation of them.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plan.wasm
// ./packages/worker/planwasm (npm run build in packages/worker does it).
//
// The interface is one buffer and one call: the host asks stk_buffer(n) for
// a pointer to n bytes, writes a JSON request there and calls
// stk_invoke(op, n), which returns the answer's pointer (high 32 bits) and
// length (low 32 bits). The answer stays valid until the next call. Every
// answer is {"ok": …} or {"error": {code, message, details}, "headers": …}.
package main

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/plan"
)

func main() {}

// The module's state: one isolate runs one request at a time through it
// (JavaScript is single-threaded), so plain variables in main suffice.
var (
	envs    = map[uint32]*plan.Env{}
	nextEnv uint32
)

// Operations of stk_invoke.
const (
	opCompile      = 1 // {"bundle": …, "limits": …} → {"env": handle, "hasRelease": bool}
	opDrop         = 2 // {"env": handle} → {}
	opDecode       = 3 // the raw /call body → {} (the §4.2 step 1 check)
	opKeyID        = 4 // {"key": "stk_…"} → {"keyId": …}
	opAuthenticate = 5 // {"env", "key", "now"} → {"roles": […]}
	opPlan         = 6 // {"env", "caller", "body"} → the plan
)

// answer runs one operation and renders its answer (the exports live in
// exports_wasip1.go; tests call this directly).
func answer(op uint32, req []byte) []byte {
	res, err := invoke(op, req)
	var out []byte
	if err != nil {
		e := apierr.As(err)
		out, _ = json.Marshal(errorAnswer{Error: e.Envelope(""), Headers: e.Headers})
	} else {
		out, _ = json.Marshal(okAnswer{OK: res})
	}
	return out
}

type okAnswer struct {
	OK any `json:"ok"`
}

type errorAnswer struct {
	Error   apierr.Body       `json:"error"`
	Headers map[string]string `json:"headers,omitempty"`
}

func invoke(op uint32, req []byte) (any, error) {
	switch op {
	case opDecode:
		_, _, err := plan.DecodeRequest(req)
		return struct{}{}, err
	case opCompile:
		var r struct {
			Bundle bundle.Bundle `json:"bundle"`
			Limits plan.Limits   `json:"limits"`
		}
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "internal error: the Hub's bundle cannot be read")
		}
		e, err := plan.Compile(&r.Bundle, r.Limits)
		if err != nil {
			return nil, err
		}
		nextEnv++
		envs[nextEnv] = e
		return map[string]any{"env": nextEnv, "hasRelease": e.HasRelease()}, nil
	case opDrop:
		var r struct {
			Env uint32 `json:"env"`
		}
		_ = json.Unmarshal(req, &r)
		delete(envs, r.Env)
		return struct{}{}, nil
	case opKeyID:
		var r struct {
			Key string `json:"key"`
		}
		_ = json.Unmarshal(req, &r)
		keyID, _, ok := apikey.Parse(r.Key)
		if !ok {
			return nil, apierr.New(apierr.Unauthorized, "malformed API key: X-Santokit-Api-Key must be stk_<keyId>_<secret>")
		}
		return map[string]string{"keyId": keyID}, nil
	case opAuthenticate:
		var r struct {
			Env uint32 `json:"env"`
			Key string `json:"key"`
			Now int64  `json:"now"` // Unix milliseconds
		}
		_ = json.Unmarshal(req, &r)
		e, err := env(r.Env)
		if err != nil {
			return nil, err
		}
		keyID, secret, ok := apikey.Parse(r.Key)
		if !ok {
			return nil, apierr.New(apierr.Unauthorized, "malformed API key: X-Santokit-Api-Key must be stk_<keyId>_<secret>")
		}
		c, err := e.Authenticate(keyID, secret, time.UnixMilli(r.Now))
		if err != nil {
			return nil, err
		}
		return map[string]any{"keyId": c.KeyID, "roles": c.Roles}, nil
	case opPlan:
		return planOf(req)
	}
	return nil, apierr.New(apierr.Internal, "internal error: unknown planner operation %d", op)
}

func env(h uint32) (*plan.Env, error) {
	e, ok := envs[h]
	if !ok {
		return nil, apierr.New(apierr.Internal, "internal error: unknown planner env %d", h)
	}
	return e, nil
}

// caller is plan.Caller on the wire. A verified end user's claims come as
// the token's payload text, decoded here with json.Number as the Bridge
// decodes them (a 64-bit id must not round through a float), less
// DropClaims (sub and the roles claim, SPEC §7.3).
type caller struct {
	Anonymous  bool     `json:"anonymous,omitempty"`
	KeyID      string   `json:"keyId,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	EndUser    bool     `json:"endUser,omitempty"`
	Subject    string   `json:"subject,omitempty"`
	ClaimsJSON string   `json:"claimsJSON,omitempty"`
	DropClaims []string `json:"dropClaims,omitempty"`
}

func (c *caller) plan() (plan.Caller, error) {
	pc := plan.Caller{Anonymous: c.Anonymous, KeyID: c.KeyID, Roles: c.Roles, EndUser: c.EndUser, Subject: c.Subject}
	if c.ClaimsJSON != "" {
		dec := json.NewDecoder(strings.NewReader(c.ClaimsJSON))
		dec.UseNumber()
		if err := dec.Decode(&pc.Claims); err != nil {
			return pc, apierr.Wrap(apierr.Internal, err, "internal error")
		}
		for _, k := range c.DropClaims {
			delete(pc.Claims, k)
		}
	}
	return pc, nil
}

// wirePlan is plan.Plan on the wire. Args are PostgreSQL text-format
// parameters (null for NULL): the shell binds them untyped, so the server
// infers each one's type from the statement, as it does for pgx.
type wirePlan struct {
	Connection   string        `json:"connection"`
	Engine       string        `json:"engine"`
	Op           plan.Op       `json:"op,omitempty"`
	SQL          string        `json:"sql"`
	Args         []*string     `json:"args"`
	CountSQL     string        `json:"countSql,omitempty"`
	CountArgs    []*string     `json:"countArgs,omitempty"`
	Columns      []plan.Column `json:"columns"`
	Write        bool          `json:"write,omitempty"`
	CapAffected  bool          `json:"capAffected,omitempty"`
	Check        bool          `json:"check,omitempty"`
	CheckMessage string        `json:"checkMessage,omitempty"`
	Logic        string        `json:"logic,omitempty"`
	Readonly     bool          `json:"readonly,omitempty"`
	MaxRows      int           `json:"maxRows,omitempty"`
}

func planOf(req []byte) (any, error) {
	var r struct {
		Env    uint32          `json:"env"`
		Caller caller          `json:"caller"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	e, err := env(r.Env)
	if err != nil {
		return nil, err
	}
	t, params, err := plan.DecodeRequest(r.Body)
	if err != nil {
		return nil, err
	}
	c, err := r.Caller.plan()
	if err != nil {
		return nil, err
	}
	p, err := e.Plan(c, t, params)
	if err != nil {
		return nil, err
	}
	w := wirePlan{Connection: p.Connection, Engine: p.Engine, Op: p.Op, SQL: p.SQL, CountSQL: p.CountSQL,
		Columns: p.Columns, Write: p.Write, CapAffected: p.CapAffected, Check: p.Check,
		CheckMessage: p.CheckMessage, Logic: p.Logic, Readonly: p.Readonly, MaxRows: p.MaxRows}
	if w.Args, err = texts(p.Args); err != nil {
		return nil, err
	}
	if w.CountArgs, err = texts(p.CountArgs); err != nil {
		return nil, err
	}
	if w.Columns == nil {
		w.Columns = []plan.Column{}
	}
	return w, nil
}

func texts(args []any) ([]*string, error) {
	if args == nil {
		return nil, nil
	}
	out := make([]*string, len(args))
	for i, a := range args {
		s, ok, err := text(a)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = &s
		}
	}
	return out, nil
}

// text is a bound value in PostgreSQL's text format; ok is false for NULL.
func text(v any) (string, bool, error) {
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case int64:
		return strconv.FormatInt(v, 10), true, nil
	case int:
		return strconv.Itoa(v), true, nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true, nil
	case json.Number:
		return string(v), true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	case []byte:
		return `\x` + hex.EncodeToString(v), true, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), true, nil
	}
	return "", false, apierr.New(apierr.Internal, "internal error: a bound value has no text form")
}
