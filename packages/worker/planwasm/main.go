// Command planwasm is the /call planner (packages/core/plan) as a wasip1
// reactor module for the Workers runtime (SPEC §16, docs/decisions/0030):
// the TypeScript shell does the I/O and asks this module every question
// about the contract — the body's syntax, the API key's form and its check
// against the bundle, permissions, params and the SQL — so that the Bridge
// and the Worker share one implementation of them.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plan.wasm
// ./packages/worker/planwasm (npm run build in packages/worker does it).
//
// The interface is one buffer and one call: the host asks stk_buffer(n) for
// a pointer to n bytes, writes a request there (JSON, see the ops) and calls
// stk_invoke(op, n), which returns the answer's pointer (high 32 bits) and
// length (low 32 bits). The answer stays valid until the next call. Every
// answer is {"ok": …} or {"error": {code, message, details}, "headers": …}.
//
// The module links neither encoding/json's reflection nor fmt nor
// crypto/sha256, for the Worker's 1 MiB budget (issue #16): requests are
// decoded by hand on top of jsonscan.Decode (wiredecode.go, bundlejson.go),
// answers encoded by hand (answerjson.go), and API-key secrets hashed by the
// shell with WebCrypto (opAuthenticate takes the digest).
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/jsonscan"
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
	opAuthenticate = 5 // {"env", "keyId", "digest": hex SHA-256 of the secret, "now"} → {"keyId", "roles"}
	opPlan         = 6 // {"env", "caller"} "\n" the raw /call body → the plan
)

// answer runs one operation and renders its answer (the exports live in
// exports_wasip1.go; tests call this directly).
func answer(op uint32, req []byte) []byte {
	ok, err := invoke(op, req)
	if err == nil {
		return appendOK(nil, ok)
	}
	out, err := appendError(nil, apierr.As(err))
	if err != nil {
		// Only a detail of a type the encoder does not know gets here: a
		// bug, answered as one rather than with half an answer.
		out, _ = appendError(nil, apierr.New(apierr.Internal, "internal error: an error's details cannot be encoded"))
	}
	return out
}

// invoke runs one operation; ok is its answer's JSON text.
func invoke(op uint32, req []byte) (ok []byte, err error) {
	switch op {
	case opDecode:
		if _, _, err := plan.DecodeRequest(req); err != nil {
			return nil, err
		}
		return []byte("{}"), nil
	case opCompile:
		return compile(req)
	case opDrop:
		var h uint32
		if o, ok := request(req); ok {
			o.uint32("env", &h)
		}
		delete(envs, h)
		return []byte("{}"), nil
	case opKeyID:
		var key string
		if o, ok := request(req); ok {
			o.str("key", &key)
		}
		keyID, _, ok := apikey.Parse(key)
		if !ok {
			return nil, apierr.New(apierr.Unauthorized, "malformed API key: X-Santokit-Api-Key must be stk_<keyId>_<secret>")
		}
		out := append([]byte(`{"keyId":`), jsonscan.AppendString(nil, keyID)...)
		return append(out, '}'), nil
	case opAuthenticate:
		return authenticate(req)
	case opPlan:
		return planOf(req)
	}
	return nil, apierr.New(apierr.Internal, "internal error: unknown planner operation %s", strconv.FormatUint(uint64(op), 10))
}

// request decodes an operation's request object. The host writes it, so a
// malformed one is a bug: the operations that can say so do, the others
// go on with zero values as they did with json.Unmarshal.
func request(req []byte) (obj, bool) {
	tree, err := jsonscan.Decode(req)
	if err != nil {
		return obj{}, false
	}
	var d decoder
	return d.obj(tree, "request")
}

func compile(req []byte) ([]byte, error) {
	bad := func(err error) error {
		return apierr.Wrap(apierr.Internal, err, "internal error: the Hub's bundle cannot be read")
	}
	tree, err := jsonscan.Decode(req)
	if err != nil {
		return nil, bad(err)
	}
	var d decoder
	var b bundle.Bundle
	var lim plan.Limits
	if o, ok := d.obj(tree, "request"); ok {
		if v, ok := o.get("bundle"); ok {
			d.bundle(v, &b)
		}
		if v, ok := o.get("limits"); ok {
			d.limits(v, &lim)
		}
	}
	if d.err != nil {
		return nil, bad(d.err)
	}
	e, err := plan.Compile(&b, lim)
	if err != nil {
		return nil, err
	}
	nextEnv++
	envs[nextEnv] = e
	out := strconv.AppendUint([]byte(`{"env":`), uint64(nextEnv), 10)
	out = append(out, `,"hasRelease":`...)
	out = strconv.AppendBool(out, e.HasRelease())
	return append(out, '}'), nil
}

// authenticate checks an API key by its id and the SHA-256 of its secret,
// which the shell computes with WebCrypto (issue #16, SPEC §7.2).
func authenticate(req []byte) ([]byte, error) {
	var r struct {
		env         uint32
		keyID, hash string
		now         int64 // Unix milliseconds
	}
	o, ok := request(req)
	if !ok {
		return nil, apierr.New(apierr.Internal, "internal error: malformed authenticate request")
	}
	o.uint32("env", &r.env)
	o.str("keyId", &r.keyID)
	o.str("digest", &r.hash)
	o.int64("now", &r.now)
	e, err := env(r.env)
	if err != nil {
		return nil, err
	}
	digest, ok := apikey.ParseHash(r.hash)
	if !ok {
		return nil, apierr.New(apierr.Internal, "internal error: the key's digest is not a hex SHA-256")
	}
	c, err := e.AuthenticateDigest(r.keyID, digest, time.UnixMilli(r.now))
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"keyId":`), jsonscan.AppendString(nil, c.KeyID)...)
	out = append(out, `,"roles":`...)
	if out, err = jsonscan.AppendValue(out, c.Roles); err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

func env(h uint32) (*plan.Env, error) {
	e, ok := envs[h]
	if !ok {
		return nil, apierr.New(apierr.Internal, "internal error: unknown planner env %s", strconv.FormatUint(uint64(h), 10))
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

func (d *decoder) caller(v any, c *caller) {
	o, ok := d.obj(v, "caller")
	if !ok {
		return
	}
	o.boolean("anonymous", &c.Anonymous)
	o.str("keyId", &c.KeyID)
	o.strings("roles", &c.Roles)
	o.boolean("endUser", &c.EndUser)
	o.str("subject", &c.Subject)
	o.str("claimsJSON", &c.ClaimsJSON)
	o.strings("dropClaims", &c.DropClaims)
}

func (c *caller) plan() (plan.Caller, error) {
	pc := plan.Caller{Anonymous: c.Anonymous, KeyID: c.KeyID, Roles: c.Roles, EndUser: c.EndUser, Subject: c.Subject}
	if c.ClaimsJSON != "" {
		claims, err := jsonscan.Decode([]byte(c.ClaimsJSON))
		if err != nil {
			return pc, apierr.Wrap(apierr.Internal, err, "internal error")
		}
		switch claims := claims.(type) {
		case map[string]any:
			pc.Claims = claims
		case nil:
		default:
			return pc, apierr.New(apierr.Internal, "internal error")
		}
		for _, k := range c.DropClaims {
			delete(pc.Claims, k)
		}
	}
	return pc, nil
}

// planOf plans a call. Its request is the JSON of the env and the caller, a
// newline (JSON.stringify never writes one), then the body exactly as the
// client sent it: plan.DecodeRequest reads the body's own bytes, as the
// Bridge's does, and the body is not decoded twice.
func planOf(req []byte) ([]byte, error) {
	i := bytes.IndexByte(req, '\n')
	if i < 0 {
		return nil, apierr.New(apierr.Internal, "internal error: malformed plan request")
	}
	tree, err := jsonscan.Decode(req[:i])
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	var d decoder
	var h uint32
	var wc caller
	if o, ok := d.obj(tree, "request"); ok {
		o.uint32("env", &h)
		if v, ok := o.get("caller"); ok {
			d.caller(v, &wc)
		}
	}
	if d.err != nil {
		return nil, apierr.Wrap(apierr.Internal, d.err, "internal error")
	}
	e, err := env(h)
	if err != nil {
		return nil, err
	}
	t, params, err := plan.DecodeRequest(req[i+1:])
	if err != nil {
		return nil, err
	}
	c, err := wc.plan()
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
	return appendPlan(nil, &w), nil
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
