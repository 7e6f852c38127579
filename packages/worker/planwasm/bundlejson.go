package main

// Decoders for the bundle the Hub serves (packages/core/bundle and every
// type it holds), one per struct, each listing its fields by json tag (see
// wiredecode.go for the rules). A field added to one of these types needs
// its line here: TestBundleEveryField fails until it has one.

import (
	"encoding/json"
	"time"

	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// decodeBundle is json.Unmarshal of a bundle without reflection.
func decodeBundle(raw []byte) (*bundle.Bundle, error) {
	tree, err := jsonscan.Decode(raw)
	if err != nil {
		return nil, err
	}
	var d decoder
	b := new(bundle.Bundle)
	d.bundle(tree, b)
	return b, d.err
}

func (d *decoder) bundle(v any, b *bundle.Bundle) {
	o, ok := d.obj(v, "bundle")
	if !ok {
		return
	}
	o.str("project", &b.Project)
	o.str("env", &b.Env)
	o.int64("revision", &b.Revision)
	if x, ok := o.get("release"); ok {
		pointer(x, &b.Release, d.release)
	}
	if x, ok := o.get("connections"); ok {
		slice(d, x, &b.Connections, "connections", d.connection)
	}
	if x, ok := o.get("apiKeys"); ok {
		slice(d, x, &b.APIKeys, "apiKeys", d.apiKey)
	}
}

func (d *decoder) release(v any, r *bundle.Release) {
	o, ok := d.obj(v, "release")
	if !ok {
		return
	}
	o.str("id", &r.ID)
	o.str("ref", &r.Ref)
	o.str("hash", &r.Hash)
	o.time("createdAt", &r.CreatedAt)
	if x, ok := o.get("snapshots"); ok {
		mapOf(d, x, &r.Snapshots, "snapshots", d.snapshot)
	}
	if x, ok := o.get("permissions"); ok {
		d.permissions(x, &r.Permissions)
	}
	if x, ok := o.get("auth"); ok {
		pointer(x, &r.Auth, d.auth)
	}
	if x, ok := o.get("logics"); ok {
		slice(d, x, &r.Logics, "logics", d.logic)
	}
}

func (d *decoder) connection(v any, c *bundle.Connection) {
	o, ok := d.obj(v, "connections")
	if !ok {
		return
	}
	o.str("name", &c.Name)
	o.str("engine", &c.Engine)
	o.str("url", &c.URL)
	o.int("version", &c.Version)
}

func (d *decoder) apiKey(v any, k *bundle.APIKey) {
	o, ok := d.obj(v, "apiKeys")
	if !ok {
		return
	}
	o.str("keyId", &k.KeyID)
	o.str("name", &k.Name)
	o.strings("roles", &k.Roles)
	o.str("hash", &k.Hash)
	o.str("status", &k.Status)
	if x, ok := o.get("expiresAt"); ok {
		pointer(x, &k.ExpiresAt, func(v any, t *time.Time) { d.time(v, t, "expiresAt") })
	}
}

// Schema snapshots (packages/core/schema).

func (d *decoder) snapshot(v any, s *schema.Snapshot) {
	o, ok := d.obj(v, "snapshots")
	if !ok {
		return
	}
	o.str("id", &s.ID)
	o.str("project", &s.Project)
	o.str("env", &s.Env)
	o.str("connection", &s.Connection)
	o.str("engine", &s.Engine)
	o.str("hash", &s.Hash)
	o.time("createdAt", &s.CreatedAt)
	if x, ok := o.get("tables"); ok {
		slice(d, x, &s.Tables, "tables", d.table)
	}
}

func (d *decoder) table(v any, t *schema.Table) {
	o, ok := d.obj(v, "tables")
	if !ok {
		return
	}
	o.str("name", &t.Name)
	if x, ok := o.get("columns"); ok {
		slice(d, x, &t.Columns, "columns", d.column)
	}
	o.strings("primaryKey", &t.PrimaryKey)
	if x, ok := o.get("foreignKeys"); ok {
		slice(d, x, &t.ForeignKeys, "foreignKeys", d.foreignKey)
	}
	if x, ok := o.get("indexes"); ok {
		slice(d, x, &t.Indexes, "indexes", d.index)
	}
}

func (d *decoder) column(v any, c *schema.Column) {
	o, ok := d.obj(v, "columns")
	if !ok {
		return
	}
	o.str("name", &c.Name)
	o.str("type", &c.Type)
	o.str("dbType", &c.DBType)
	o.boolean("nullable", &c.Nullable)
	if x, ok := o.get("default"); ok {
		pointer(x, &c.Default, func(v any, s *string) { d.str(v, s, "default") })
	}
	o.boolean("identity", &c.Identity)
	o.boolean("generated", &c.Generated)
}

func (d *decoder) foreignKey(v any, f *schema.ForeignKey) {
	o, ok := d.obj(v, "foreignKeys")
	if !ok {
		return
	}
	o.str("name", &f.Name)
	o.strings("columns", &f.Columns)
	o.str("refTable", &f.RefTable)
	o.strings("refColumns", &f.RefColumns)
}

func (d *decoder) index(v any, x *schema.Index) {
	o, ok := d.obj(v, "indexes")
	if !ok {
		return
	}
	o.str("name", &x.Name)
	o.strings("columns", &x.Columns)
	o.boolean("unique", &x.Unique)
}

// Permissions (packages/core/permissions, predicate).

func (d *decoder) permissions(v any, p *permissions.Document) {
	o, ok := d.obj(v, "permissions")
	if !ok {
		return
	}
	o.int("version", &p.Version)
	if x, ok := o.get("tables"); ok {
		slice(d, x, &p.Tables, "tables", d.permTable)
	}
}

func (d *decoder) permTable(v any, t *permissions.Table) {
	o, ok := d.obj(v, "tables")
	if !ok {
		return
	}
	o.str("key", &t.Key)
	o.str("connection", &t.Connection)
	o.str("name", &t.Name)
	o.str("owner", &t.Owner)
	if x, ok := o.get("ops"); ok {
		mapOf(d, x, &t.Ops, "ops", func(v any, rules *[]permissions.Rule) { slice(d, v, rules, "ops", d.rule) })
	}
	o.int("line", &t.Line)
}

func (d *decoder) rule(v any, r *permissions.Rule) {
	o, ok := d.obj(v, "ops")
	if !ok {
		return
	}
	o.strings("roles", &r.Roles)
	if x, ok := o.get("columns"); ok {
		pointer(x, &r.Columns, d.columns)
	}
	o.str("condition", &r.Condition)
	o.str("check", &r.Check)
	if x, ok := o.get("cond"); ok {
		pointer(x, &r.Cond, d.node)
	}
	if x, ok := o.get("checkPred"); ok {
		pointer(x, &r.CheckPred, d.node)
	}
	o.int("line", &r.Line)
}

func (d *decoder) columns(v any, c *permissions.Columns) {
	o, ok := d.obj(v, "columns")
	if !ok {
		return
	}
	o.strings("allow", &c.Allow)
	o.strings("deny", &c.Deny)
}

func (d *decoder) node(v any, n *predicate.Node) {
	o, ok := d.obj(v, "cond")
	if !ok {
		return
	}
	var op string
	o.str("op", &op)
	n.Op = predicate.Op(op)
	if x, ok := o.get("args"); ok {
		slice(d, x, &n.Args, "args", d.node)
	}
	o.str("name", &n.Name)
	if x, ok := o.get("value"); ok {
		// json.RawMessage keeps a member's text, null included. The tree
		// no longer has it: this is the value re-encoded, compact, the form
		// the Hub writes (its json.Marshal compacts RawMessages), and in
		// any case the same value for predicate's decoding of it.
		raw, err := jsonscan.AppendValue(nil, x)
		if err != nil && d.err == nil {
			d.err = err
		}
		n.Value = json.RawMessage(raw)
	}
	o.boolean("int", &n.Int)
}

// The auth config and logics (packages/core/authconfig, logic).

func (d *decoder) auth(v any, a *authconfig.Document) {
	o, ok := d.obj(v, "auth")
	if !ok {
		return
	}
	o.int("version", &a.Version)
	if x, ok := o.get("issuers"); ok {
		slice(d, x, &a.Issuers, "issuers", d.issuer)
	}
}

func (d *decoder) issuer(v any, i *authconfig.Issuer) {
	o, ok := d.obj(v, "issuers")
	if !ok {
		return
	}
	o.str("name", &i.Name)
	o.str("issuer", &i.Issuer)
	o.str("audience", &i.Audience)
	o.str("jwksUrl", &i.JWKSURL)
	o.str("rolesClaim", &i.RolesClaim)
	o.int("line", &i.Line)
}

func (d *decoder) logic(v any, l *logic.Logic) {
	o, ok := d.obj(v, "logics")
	if !ok {
		return
	}
	o.str("name", &l.Name)
	o.str("auth", &l.Auth)
	o.strings("roles", &l.Roles)
	o.str("connection", &l.Connection)
	o.boolean("readonly", &l.Readonly)
	if x, ok := o.get("params"); ok {
		slice(d, x, &l.Params, "params", d.logicParam)
	}
	o.str("source", &l.Source)
	o.int("sourceLine", &l.SourceLine)
	o.str("sql", &l.SQL)
	if x, ok := o.get("binds"); ok {
		slice(d, x, &l.Binds, "binds", d.logicBind)
	}
	if x, ok := o.get("columns"); ok {
		slice(d, x, &l.Columns, "columns", d.logicColumn)
	}
	o.strings("paramTypes", &l.ParamTypes)
}

func (d *decoder) logicParam(v any, p *logic.Param) {
	o, ok := d.obj(v, "params")
	if !ok {
		return
	}
	o.str("name", &p.Name)
	o.str("type", &p.Type)
	o.boolean("required", &p.Required)
	o.str("default", &p.Default)
	o.int("line", &p.Line)
}

func (d *decoder) logicBind(v any, b *logic.Bind) {
	o, ok := d.obj(v, "binds")
	if !ok {
		return
	}
	o.str("kind", &b.Kind)
	o.str("name", &b.Name)
}

func (d *decoder) logicColumn(v any, c *logic.Column) {
	o, ok := d.obj(v, "columns")
	if !ok {
		return
	}
	o.str("name", &c.Name)
	o.str("type", &c.Type)
}

// limits decodes plan.Limits, whose fields have no tags: their JSON names
// are the Go names.
func (d *decoder) limits(v any, l *plan.Limits) {
	o, ok := d.obj(v, "limits")
	if !ok {
		return
	}
	o.int("DefaultLimit", &l.DefaultLimit)
	o.int("MaxLimit", &l.MaxLimit)
	o.int("MaxBatch", &l.MaxBatch)
}
