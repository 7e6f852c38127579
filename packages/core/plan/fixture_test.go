package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apikey"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// The fixture: connection "main" on PostgreSQL and "lite" on SQLite, with
// the same tables.

// fixtureTablePermissions is written once per connection: PREFIX is ""
// for main and "lite." for lite.
const fixtureTablePermissions = `
  PREFIXusers:
    select:
      - roles: [admin]
      - roles: [reader, writer]
        columns: { deny: [secret] }
      - roles: [authenticated]
        columns: [id, name]
    update:
      - roles: [admin]
      - roles: [writer]
        columns: [name, email, age]
  PREFIXposts:
    owner: author_id
    select: [public]
    insert: [authenticated, writer]
    update: [authenticated]
    delete: [admin]
  PREFIXevents:
    select: [admin]
    insert: [ingest, admin]
  PREFIXlogs:
    select: [auditor]
    delete: [auditor]
`

var fixturePermissions = `version: 1
tables:
  _default:
    select: [reader, writer, admin]
    insert: [writer, admin]
    update: [writer, admin]
    delete: [admin]` +
	strings.ReplaceAll(fixtureTablePermissions, "PREFIX", "") +
	strings.ReplaceAll(fixtureTablePermissions, "PREFIX", "lite.")

func col(name, typ, db string, nullable bool) schema.Column {
	return schema.Column{Name: name, Type: typ, DBType: db, Nullable: nullable}
}

func fixtureTables(eng string) []schema.Table {
	pg := eng == schema.EnginePostgres
	pick := func(p, s string) string {
		if pg {
			return p
		}
		return s
	}
	id := col("id", schema.Bigint, pick("bigint", "INTEGER"), false)
	id.Identity = true
	full := col("full_name", schema.Text, pick("text", "TEXT"), true)
	full.Generated = true
	users := schema.Table{
		Name: "users",
		Columns: []schema.Column{
			id,
			col("name", schema.Text, pick("text", "TEXT"), false),
			col("email", schema.Text, pick("character varying(200)", "VARCHAR(200)"), true),
			col("age", schema.Integer, pick("integer", "SMALLINT"), true),
			col("score", schema.Float, pick("double precision", "REAL"), true),
			col("balance", schema.Numeric, pick("numeric(12,2)", "NUMERIC(12,2)"), true),
			col("active", schema.Boolean, pick("boolean", "BOOLEAN"), true),
			col("created_at", schema.Timestamptz, pick("timestamp with time zone", "TIMESTAMPTZ"), true),
			col("born", schema.Date, pick("date", "DATE"), true),
			col("wake", schema.Time, pick("time without time zone", "TIME"), true),
			col("seen", schema.Timestamp, pick("timestamp without time zone", "TIMESTAMP"), true),
			col("ext", schema.UUID, pick("uuid", "UUID"), true),
			col("meta", schema.JSONB, pick("jsonb", "JSONB"), true),
			col("doc", schema.JSON, pick("json", "JSON"), true),
			col("avatar", schema.Bytea, pick("bytea", "BLOB"), true),
			col("tags", schema.ArrayOf(schema.Text), pick("text[]", "TEXT"), true),
			col("nums", schema.ArrayOf(schema.Integer), pick("integer[]", "TEXT"), true),
			col("mood", schema.Text, pick("mood", "TEXT"), true),
			col("iv", schema.Other, pick("interval", ""), true),
			full,
			col("secret", schema.Text, pick("text", "TEXT"), true),
		},
		PrimaryKey: []string{"id"},
	}
	posts := schema.Table{
		Name: "posts",
		Columns: []schema.Column{
			col("id", schema.UUID, pick("uuid", "TEXT"), false),
			col("author_id", schema.Text, pick("text", "TEXT"), false),
			col("title", schema.Text, pick("text", "TEXT"), false),
			col("body", schema.Text, pick("text", "TEXT"), true),
		},
		PrimaryKey: []string{"id"},
	}
	if !pg {
		posts.Columns[0].Type = schema.Text
	}
	events := schema.Table{
		Name: "events",
		Columns: []schema.Column{
			col("id", schema.Bigint, pick("bigint", "INTEGER"), false),
			col("kind", schema.Text, pick("text", "TEXT"), false),
		},
		PrimaryKey: []string{"id"},
	}
	logs := schema.Table{
		Name: "logs",
		Columns: []schema.Column{
			col("msg", schema.Text, pick("text", "TEXT"), true),
			col("at", schema.Timestamptz, pick("timestamp with time zone", "TIMESTAMPTZ"), true),
		},
	}
	odd := schema.Table{
		Name: `we"ird`,
		Columns: []schema.Column{
			col(`co"l`, schema.Text, pick("text", "TEXT"), true),
			col("k", schema.Integer, pick("integer", "INT4"), false),
		},
		PrimaryKey: []string{"k"},
	}
	return schema.Normalize([]schema.Table{users, posts, events, logs, odd})
}

// Key ids and secrets of the fixture (valid per apikey.Parse).
const (
	keyReader  = "key_01JD3W0000000000000000000R"
	keyWriter  = "key_01JD3W0000000000000000000W"
	keyAdmin   = "key_01JD3W0000000000000000000A"
	keyIngest  = "key_01JD3W0000000000000000000I"
	keyNone    = "key_01JD3W0000000000000000000N"
	keyRevoked = "key_01JD3W0000000000000000000V"
	keyExpired = "key_01JD3W0000000000000000000E"
	keyAuth    = "key_01JD3W0000000000000000000T" // has a role named like the keyword
	secret     = "0123456789abcdefghijABCDEFGHIJ0123456789abc"
)

var fixtureNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixtureBundle(t testing.TB) *bundle.Bundle {
	t.Helper()
	doc, problems := permissions.Parse([]byte(fixturePermissions))
	if len(problems) > 0 || doc == nil {
		t.Fatalf("fixture permissions: %v", problems)
	}
	expired := fixtureNow.Add(-time.Second)
	later := fixtureNow.Add(time.Hour)
	key := func(id string, roles ...string) bundle.APIKey {
		return bundle.APIKey{KeyID: id, Name: "k", Roles: roles, Hash: apikey.Hash(secret), Status: bundle.KeyActive, ExpiresAt: &later}
	}
	revoked := key(keyRevoked, "admin")
	revoked.Status = bundle.KeyRevoked
	exp := key(keyExpired, "admin")
	exp.ExpiresAt = &expired
	return &bundle.Bundle{
		Project:  "shop",
		Env:      "dev",
		Revision: 7,
		Release: &bundle.Release{
			ID: "rel_1",
			Snapshots: map[string]schema.Snapshot{
				"main": {Connection: "main", Engine: schema.EnginePostgres, Tables: fixtureTables(schema.EnginePostgres)},
				"lite": {Connection: "lite", Engine: schema.EngineSQLite, Tables: fixtureTables(schema.EngineSQLite)},
				// A snapshot without a connection in the bundle is not planned.
				"gone": {Connection: "gone", Engine: schema.EnginePostgres, Tables: fixtureTables(schema.EnginePostgres)},
			},
			Permissions: *doc,
		},
		Connections: []bundle.Connection{
			{Name: "main", Engine: schema.EnginePostgres, URL: "postgres://x"},
			{Name: "lite", Engine: schema.EngineSQLite, URL: "sqlite://x.db"},
			{Name: "nosnap", Engine: schema.EnginePostgres, URL: "postgres://y"},
		},
		APIKeys: []bundle.APIKey{
			key(keyReader, "reader"), key(keyWriter, "writer"), key(keyAdmin, "admin"),
			key(keyIngest, "ingest"), key(keyNone), revoked, exp, key(keyAuth, "authenticated"),
			{KeyID: "key_01JD3W000000000000000000BH", Roles: []string{"admin"}, Hash: "zz", Status: bundle.KeyActive},
		},
	}
}

func fixtureEnv(t testing.TB) *Env {
	t.Helper()
	e, err := Compile(fixtureBundle(t), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Callers of the fixture.
var (
	anon    = Caller{Anonymous: true}
	reader  = Caller{KeyID: keyReader, Roles: []string{"reader"}}
	writer  = Caller{KeyID: keyWriter, Roles: []string{"writer"}}
	admin   = Caller{KeyID: keyAdmin, Roles: []string{"admin"}}
	ingest  = Caller{KeyID: keyIngest, Roles: []string{"ingest"}}
	nobody  = Caller{KeyID: keyNone}
	enduser = Caller{EndUser: true, Subject: "u1"}
	super   = Caller{Superuser: true, Anonymous: true}
)
