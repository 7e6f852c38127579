package plan

import (
	"crypto/subtle"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// Env is one bundle compiled for planning (ARCHITECTURE §6): API keys indexed
// by id with their hashes decoded, snapshot tables and columns indexed, and
// for every (connection, table, op) of every snapshotted table the ordered
// rules (own or _default) with their allowed columns and pre-rendered SQL
// fragments. Compile it once per bundle load; an Env is immutable and safe
// for concurrent use.
type Env struct {
	project    string
	env        string
	revision   int64
	hasRelease bool
	releaseID  string
	lim        Limits
	keys       map[string]*keyEntry
	conns      map[string]*connEnv
	// logics are the release's logics by name (SPEC §6; logic.go).
	logics map[string]*logicEnv
}

type keyEntry struct {
	roles []string
	hash  [apikey.HashSize]byte
	// usable is false when the stored hash is malformed (never matches)
	// or the key is not active.
	usable    bool
	expires   bool
	expiresAt time.Time
}

type engine uint8

const (
	enginePostgres engine = iota + 1
	engineSQLite
)

type connEnv struct {
	name   string
	engine engine
	tables map[string]*tableEnv
}

type tableEnv struct {
	conn   *connEnv
	name   string
	label  string // "users", or "analytics.events" off the main connection
	quoted string
	cols   []colEnv
	byName map[string]int
	// orderPK is " ORDER BY <pk>" (empty without a primary key).
	orderPK string
	pk      []int
	owner   int // owner column index (SPEC §5.3), -1 when none
	ops     [4][]*rule
	// all is the Superuser's rule: every column allowed.
	all *rule
}

// rule is a permissions rule compiled against one table.
type rule struct {
	public, authenticated bool
	roles                 []string
	// unsupported: the rule has a condition or check that was not compiled
	// (no tree) or does not fit the snapshot; matching it fails closed.
	unsupported bool
	// cond filters the rows of select/update/delete; check must hold for
	// the rows insert/update write (SPEC §5.2). Nil when absent.
	cond, check *cond
	allowed     []bool // by column index
	// star lists the allowed columns; the rest is rendered from it for the
	// rule used as a select rule (select "*" and returning "*").
	star        []int
	starColumns []Column
	selectHead  string // SELECT <star> FROM "t"
	returning   string // " RETURNING <star>" (empty when star is empty)
}

func opIndex(o Op) int {
	switch o {
	case Select:
		return 0
	case Insert:
		return 1
	case Update:
		return 2
	case Delete:
		return 3
	}
	return -1
}

// Compile builds the planning Env of a bundle. Zero fields of lim take
// their defaults (DefaultLimits); DefaultLimit is capped at MaxLimit.
//
// Connections are planned only when the bundle lists them with a supported
// engine and the release has a snapshot for them; tables and columns come
// from the snapshots only. A rule with a condition or a check that the
// Hub did not compile, or that does not fit the snapshot) is kept in its
// place but answers 500 when it is the matching rule, so that it can never
// widen access by being skipped.
func Compile(b *bundle.Bundle, lim Limits) (*Env, error) {
	if b == nil {
		return nil, apierr.New(apierr.Internal, "no bundle to compile")
	}
	e := &Env{
		project:  b.Project,
		env:      b.Env,
		revision: b.Revision,
		lim:      lim.withDefaults(),
		keys:     make(map[string]*keyEntry, len(b.APIKeys)),
		conns:    map[string]*connEnv{},
	}
	for i := range b.APIKeys {
		k := &b.APIKeys[i]
		ke := &keyEntry{roles: append([]string(nil), k.Roles...)}
		if h, ok := apikey.ParseHash(k.Hash); ok && k.Status == bundle.KeyActive {
			ke.hash = h
			ke.usable = true
		}
		if k.ExpiresAt != nil {
			ke.expires, ke.expiresAt = true, *k.ExpiresAt
		}
		e.keys[k.KeyID] = ke
	}
	if b.Release == nil {
		return e, nil
	}
	e.hasRelease = true
	e.releaseID = b.Release.ID
	doc := &b.Release.Permissions
	for _, c := range b.Connections {
		var eng engine
		switch c.Engine {
		case schema.EnginePostgres:
			eng = enginePostgres
		case schema.EngineSQLite:
			eng = engineSQLite
		default:
			continue
		}
		snap, ok := b.Release.Snapshots[c.Name]
		if !ok {
			continue
		}
		ce := &connEnv{name: c.Name, engine: eng, tables: make(map[string]*tableEnv, len(snap.Tables))}
		for i := range snap.Tables {
			te := compileTable(ce, doc, &snap.Tables[i])
			ce.tables[te.name] = te
		}
		e.conns[c.Name] = ce
	}
	e.compileLogics(b)
	return e, nil
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLimit <= 0 {
		l.MaxLimit = d.MaxLimit
	}
	if l.DefaultLimit <= 0 {
		l.DefaultLimit = d.DefaultLimit
	}
	if l.DefaultLimit > l.MaxLimit {
		l.DefaultLimit = l.MaxLimit
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = d.MaxBatch
	}
	return l
}

func compileTable(ce *connEnv, doc *permissions.Document, st *schema.Table) *tableEnv {
	te := &tableEnv{
		conn:   ce,
		name:   st.Name,
		label:  st.Name,
		quoted: quoteIdent(st.Name),
		cols:   make([]colEnv, len(st.Columns)),
		byName: make(map[string]int, len(st.Columns)),
		owner:  -1,
	}
	if ce.name != permissions.DefaultConnection {
		te.label = ce.name + "." + st.Name
	}
	for i := range st.Columns {
		te.cols[i] = compileColumn(ce.engine, &st.Columns[i])
		te.byName[st.Columns[i].Name] = i
	}
	for _, name := range st.PrimaryKey {
		if i, ok := te.byName[name]; ok {
			te.pk = append(te.pk, i)
		}
	}
	if len(te.pk) > 0 {
		var sb strings.Builder
		sb.WriteString(" ORDER BY ")
		for n, i := range te.pk {
			if n > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(te.cols[i].quoted)
		}
		te.orderPK = sb.String()
	}
	if t, ok := doc.Table(ce.name, st.Name); ok && t.Owner != "" {
		if i, ok := te.byName[t.Owner]; ok {
			te.owner = i
		}
	}
	for _, op := range permissions.Ops() {
		rules, _ := doc.Rules(ce.name, st.Name, op)
		compiled := make([]*rule, len(rules))
		for i := range rules {
			compiled[i] = te.compileRule(&rules[i])
		}
		te.ops[opIndex(Op(op))] = compiled
	}
	te.all = te.compileRule(&permissions.Rule{Roles: []string{names.RolePublic}})
	return te
}

func (te *tableEnv) compileRule(r *permissions.Rule) *rule {
	cr := &rule{allowed: make([]bool, len(te.cols))}
	for _, x := range []struct {
		text string
		tree *predicate.Node
		dst  **cond
	}{{r.Condition, r.Cond, &cr.cond}, {r.Check, r.CheckPred, &cr.check}} {
		if x.text == "" && x.tree == nil {
			continue
		}
		c, ok := te.compileCond(x.tree)
		if !ok {
			cr.unsupported = true
		}
		*x.dst = c
	}
	for _, role := range r.Roles {
		switch role {
		case names.RolePublic:
			cr.public = true
		case names.RoleAuthenticated:
			cr.authenticated = true
		default:
			cr.roles = append(cr.roles, role)
		}
	}
	var sb strings.Builder
	for i := range te.cols {
		if !r.Columns.Allows(te.cols[i].name) {
			continue
		}
		cr.allowed[i] = true
		if len(cr.star) > 0 {
			sb.WriteByte(',')
		}
		cr.star = append(cr.star, i)
		cr.starColumns = append(cr.starColumns, Column{Name: te.cols[i].name, Type: te.cols[i].typ})
		sb.WriteString(te.cols[i].selExpr)
	}
	list := sb.String()
	cr.selectHead = "SELECT " + list + " FROM " + te.quoted
	if list != "" {
		cr.returning = " RETURNING " + list
	}
	return cr
}

// matches reports whether the rule's roles match the caller (SPEC §5.1):
// public matches everyone, authenticated only verified end users (never an
// API key), a role name the caller's roles.
func (r *rule) matches(c *Caller) bool {
	if r.public {
		return true
	}
	if c.Anonymous {
		return false
	}
	if r.authenticated && c.EndUser {
		return true
	}
	for _, want := range r.roles {
		for _, have := range c.Roles {
			if want == have {
				return true
			}
		}
	}
	return false
}

// match returns the first rule of op that matches the caller, or nil.
func (te *tableEnv) match(op int, c *Caller) *rule {
	for _, r := range te.ops[op] {
		if r.matches(c) {
			return r
		}
	}
	return nil
}

// HasRelease reports whether the bundle had a current release (SPEC §4.2
// step 4: without one every call is 404).
func (e *Env) HasRelease() bool { return e.hasRelease }

// Project is the bundle's project.
func (e *Env) Project() string { return e.project }

// EnvName is the bundle's env.
func (e *Env) EnvName() string { return e.env }

// Revision is the bundle's env revision.
func (e *Env) Revision() int64 { return e.revision }

// ReleaseID is the id of the release the Env was compiled from ("" without one).
func (e *Env) ReleaseID() string { return e.releaseID }

// Limits are the limits the Env plans with (defaults filled in).
func (e *Env) Limits() Limits { return e.lim }

// HasKey reports whether the bundle lists keyID, whatever its status: the
// Bridge uses it to tell "this env's key" from "look the key up again".
func (e *Env) HasKey(keyID string) bool {
	_, ok := e.keys[keyID]
	return ok
}

// msgInvalidKey is the one message of every API key failure: it never says
// whether the id, the secret, the status or the expiry was wrong.
const msgInvalidKey = "invalid API key"

// AuthenticateDigest checks an API key's id and the SHA-256 digest of its
// secret against the bundle (SPEC §4.2 step 3, §7.2): the digest is compared
// in constant time with the stored hash, then the status (active) and expiry
// (now before expiresAt) are checked. Every failure — unknown id, wrong
// secret, revoked, expired — is the same 401 UNAUTHORIZED "invalid API key".
// The returned Caller's Roles are shared with the Env: read them, never
// modify them.
//
// The digest is the caller's to compute: the Bridge hashes with
// crypto/sha256 (Authenticate, auth_hash.go), the Workers runtime with
// WebCrypto, so that its wasm planner links no SHA-256 (SPEC §16, #16).
func (e *Env) AuthenticateDigest(keyID string, digest [apikey.HashSize]byte, now time.Time) (Caller, error) {
	k, found := e.keys[keyID]
	// An unknown id is compared against zeros, so that it costs the same
	// compare as a wrong secret.
	var want [apikey.HashSize]byte
	if found {
		want = k.hash
	}
	ok := subtle.ConstantTimeCompare(want[:], digest[:]) == 1
	if !found || !ok || !k.usable || (k.expires && !now.Before(k.expiresAt)) {
		return Caller{}, apierr.New(apierr.Unauthorized, msgInvalidKey)
	}
	return Caller{KeyID: keyID, Roles: k.roles}, nil
}
