package execute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/plan"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// db is one test database behind a pool, on either engine.
type db struct {
	t      *testing.T
	engine string
	url    string
	pools  *dbpool.Pools
	x      *Executor
}

func newDB(t *testing.T, engine string, x *Executor) *db {
	t.Helper()
	d := &db{t: t, engine: engine, x: x}
	var targets *dbtarget.Policy
	if engine == dbpool.Postgres {
		d.url = testpg.New(t)
	} else {
		path := filepath.Join(t.TempDir(), "data.db")
		c, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		d.url = "sqlite://" + path
		targets = dbtarget.MustNew(dbtarget.Config{SQLiteDir: filepath.Dir(path)})
	}
	d.pools = dbpool.New(dbpool.Config{MaxConns: 4, StatementTimeout: x.StatementTimeout, Targets: targets})
	t.Cleanup(d.pools.Close)
	return d
}

func (d *db) exec(sqlText string) {
	d.t.Helper()
	pool, release, err := d.pools.Acquire("p", "e", bundle.Connection{Name: "main", Engine: d.engine, URL: d.url, Version: 1})
	if err != nil {
		d.t.Fatal(err)
	}
	defer release()
	if d.engine == dbpool.Postgres {
		// The pool's transactions are read-only unless begun READ WRITE.
		err = pgx.BeginTxFunc(context.Background(), pool.PG, pgx.TxOptions{AccessMode: pgx.ReadWrite}, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), sqlText)
			return err
		})
	} else {
		_, err = pool.Write.Exec(sqlText)
	}
	if err != nil {
		d.t.Fatalf("%s: %v", sqlText, err)
	}
}

// run executes p and returns the body or the §3 error.
func (d *db) run(p *plan.Plan) (string, *apierr.Error) {
	d.t.Helper()
	pool, release, err := d.pools.Acquire("p", "e", bundle.Connection{Name: "main", Engine: d.engine, URL: d.url, Version: 1})
	if err != nil {
		d.t.Fatal(err)
	}
	defer release()
	out, _, err := d.x.Run(context.Background(), pool, p, nil)
	if err != nil {
		var e *apierr.Error
		if !errors.As(err, &e) {
			d.t.Fatalf("not an apierr: %v", err)
		}
		return "", e
	}
	if !json.Valid(out) {
		d.t.Fatalf("invalid JSON: %s", out)
	}
	return string(out), nil
}

func (d *db) ok(p *plan.Plan) string {
	d.t.Helper()
	out, e := d.run(p)
	if e != nil {
		d.t.Fatalf("%s: %v (cause: %v)", p.SQL, e, e.Unwrap())
	}
	return out
}

func (d *db) fails(p *plan.Plan, code apierr.Code, msgPart string) *apierr.Error {
	d.t.Helper()
	out, e := d.run(p)
	if e == nil {
		d.t.Fatalf("%s: want %s, got 200 %s", p.SQL, code, out)
	}
	if e.Code != code || !strings.Contains(e.Message, msgPart) {
		d.t.Fatalf("%s: got %s %q (cause %v), want %s containing %q", p.SQL, e.Code, e.Message, e.Unwrap(), code, msgPart)
	}
	return e
}

// ph numbers placeholders per engine: $n on PostgreSQL, ? on SQLite.
func (d *db) ph(n string) string {
	if d.engine == dbpool.Postgres {
		return "$" + n
	}
	return "?"
}

func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s", want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func cols(spec ...string) []plan.Column {
	var out []plan.Column
	for _, s := range spec {
		name, typ, _ := strings.Cut(s, ":")
		out = append(out, plan.Column{Name: name, Type: typ})
	}
	return out
}

var engines = []string{dbpool.Postgres, dbpool.SQLite}

// Every normalized type's encoding, on both engines (SPEC §4.5).
func TestTypesEncoding(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		d := newDB(t, dbpool.Postgres, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100})
		d.exec(`CREATE TABLE t (id int8 PRIMARY KEY, i int4, s int2, b int8, n numeric, f float8, f4 float4, bo boolean,
			tz timestamptz, ts timestamp, d date, tm time, u uuid, j json, jb jsonb, by bytea,
			arr int4[], tarr text[], jarr jsonb[], txt text, iv interval, vc varchar(10))`)
		d.exec(`INSERT INTO t VALUES (1, 42, -3, 9007199254740993, 12.50, 1.5, 0.25, true,
			'2024-01-02 03:04:05.123456+02', '2024-01-02 03:04:05', '2024-01-02', '03:04:05.5',
			'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1,2]}', '{"x": null}', '\x0102ff',
			'{1,NULL,3}', '{"a b","c\"d",NULL}', ARRAY['{"k":1}'::jsonb], 'hé "q"', '1 day', 'v')`)
		d.exec(`INSERT INTO t (id) VALUES (2)`)
		c := cols("id:bigint", "i:integer", "s:integer", "b:bigint", "n:numeric", "f:float", "f4:float", "bo:boolean",
			"tz:timestamptz", "ts:timestamp", "d:date", "tm:time", "u:uuid", "j:json", "jb:jsonb", "by:bytea",
			"arr:array<integer>", "tarr:array<text>", "jarr:array<jsonb>", "txt:text", "iv:other", "vc:text")
		names := make([]string, len(c))
		for i, col := range c {
			names[i] = `"` + col.Name + `"`
		}
		out := d.ok(&plan.Plan{Engine: "postgres", Op: plan.Select, SQL: "SELECT " + strings.Join(names, ", ") + ` FROM t ORDER BY id`, Columns: c})
		sameJSON(t, out, `{"data": [
			{"id": 1, "i": 42, "s": -3, "b": "9007199254740993", "n": "12.50", "f": 1.5, "f4": 0.25, "bo": true,
			 "tz": "2024-01-02T01:04:05.123456Z", "ts": "2024-01-02T03:04:05", "d": "2024-01-02", "tm": "03:04:05.5",
			 "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": {"b": 1, "a": [1,2]}, "jb": {"x": null}, "by": "AQL/",
			 "arr": [1, null, 3], "tarr": ["a b", "c\"d", null], "jarr": [{"k": 1}], "txt": "hé \"q\"", "iv": "P1D", "vc": "v"},
			{"id": 2, "i": null, "s": null, "b": null, "n": null, "f": null, "f4": null, "bo": null, "tz": null, "ts": null,
			 "d": null, "tm": null, "u": null, "j": null, "jb": null, "by": null, "arr": null, "tarr": null, "jarr": null,
			 "txt": null, "iv": null, "vc": null}],
			"meta": {}}`)
		// json keeps its text (key order) as stored.
		if !strings.Contains(out, `"j":{"b": 1, "a": [1,2]}`) {
			t.Fatalf("json not embedded as stored: %s", out)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		d := newDB(t, dbpool.SQLite, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100})
		d.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, i SMALLINT, b BIGINT, n NUMERIC, f REAL, bo BOOLEAN,
			tz DATETIME, ts TIMESTAMP, d DATE, tm TIME, u UUID, j JSON, jb JSONB, by BLOB, arr TEXT, txt TEXT)`)
		d.exec(`INSERT INTO t VALUES (1, 42, 9007199254740993, '12.50', 1.5, 1,
			'2024-01-02 03:04:05', '2024-01-02 03:04:05.25', '2024-01-02', '03:04:05',
			'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1,2]}', '{"x": null}', X'0102FF', '[1,null,3]', 'hé "q"')`)
		d.exec(`INSERT INTO t (id, bo) VALUES (2, 0)`)
		c := cols("id:bigint", "i:integer", "b:bigint", "n:numeric", "f:float", "bo:boolean", "tz:timestamptz", "ts:timestamp",
			"d:date", "tm:time", "u:uuid", "j:json", "jb:jsonb", "by:bytea", "arr:array<integer>", "txt:text")
		names := make([]string, len(c))
		for i, col := range c {
			names[i] = `"` + col.Name + `"`
		}
		out := d.ok(&plan.Plan{Engine: "sqlite", Op: plan.Select, SQL: "SELECT " + strings.Join(names, ", ") + ` FROM t ORDER BY id`, Columns: c})
		sameJSON(t, out, `{"data": [
			{"id": 1, "i": 42, "b": "9007199254740993", "n": "12.5", "f": 1.5, "bo": true,
			 "tz": "2024-01-02T03:04:05Z", "ts": "2024-01-02T03:04:05.25", "d": "2024-01-02", "tm": "03:04:05",
			 "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": {"b": 1, "a": [1,2]}, "jb": {"x": null}, "by": "AQL/",
			 "arr": [1, null, 3], "txt": "hé \"q\""},
			{"id": 2, "i": null, "b": null, "n": null, "f": null, "bo": false, "tz": null, "ts": null, "d": null, "tm": null,
			 "u": null, "j": null, "jb": null, "by": null, "arr": null, "txt": null}],
			"meta": {}}`)
	})
}

func setupUsers(d *db) {
	serial := "int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	if d.engine == dbpool.SQLite {
		serial = "INTEGER PRIMARY KEY"
	}
	d.exec(`CREATE TABLE users (id ` + serial + `, email text NOT NULL UNIQUE, name text NOT NULL,
		age integer CONSTRAINT users_age_check CHECK (age >= 0))`)
	d.exec(`CREATE TABLE posts (id ` + serial + `, author_id bigint NOT NULL CONSTRAINT posts_author_fk REFERENCES users(id), title text)`)
	for _, v := range []string{`('a@x', 'Ada', 36)`, `('b@x', 'Bob', 20)`, `('c@x', 'Cy', 20)`} {
		d.exec(`INSERT INTO users (email, name, age) VALUES ` + v)
	}
}

// Each op on both engines: select with count (same snapshot), insert,
// update and delete with and without returning rows.
func TestOps(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			d := newDB(t, engine, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100})
			setupUsers(d)
			userCols := cols("id:bigint", "email:text", "name:text", "age:integer")
			sel := `SELECT id, email, name, age FROM users`

			out := d.ok(&plan.Plan{Engine: engine, Op: plan.Select, SQL: sel + ` WHERE age = ` + d.ph("1") + ` ORDER BY id LIMIT 1`, Args: []any{int64(20)},
				CountSQL: `SELECT count(*) FROM users WHERE age = ` + d.ph("1"), CountArgs: []any{int64(20)}, Columns: userCols})
			sameJSON(t, out, `{"data": [{"id": 2, "email": "b@x", "name": "Bob", "age": 20}], "meta": {"total": 2}}`)
			// Count past the end: total still exact, no rows.
			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Select, SQL: sel + ` ORDER BY id LIMIT 10 OFFSET 50`,
				CountSQL: `SELECT count(*) FROM users`, Columns: userCols})
			sameJSON(t, out, `{"data": [], "meta": {"total": 3}}`)

			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Insert, Write: true, Columns: userCols,
				SQL:  `INSERT INTO users (email, name, age) VALUES (` + d.ph("1") + `, ` + d.ph("2") + `, ` + d.ph("3") + `) RETURNING id, email, name, age`,
				Args: []any{"d@x", "Dee", int64(5)}})
			sameJSON(t, out, `{"data": [{"id": 4, "email": "d@x", "name": "Dee", "age": 5}], "meta": {"affected": 1}}`)
			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Insert, Write: true,
				SQL: `INSERT INTO users (email, name) VALUES ('e@x', 'Eve')`})
			sameJSON(t, out, `{"data": [], "meta": {"affected": 1}}`)

			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Update, Write: true, CapAffected: true, Columns: cols("id:bigint", "age:integer"),
				SQL: `UPDATE users SET age = age + 1 WHERE age = 20 RETURNING id, age`})
			var res struct {
				Data []map[string]any `json:"data"`
				Meta map[string]any   `json:"meta"`
			}
			_ = json.Unmarshal([]byte(out), &res)
			if len(res.Data) != 2 || res.Meta["affected"] != 2.0 {
				t.Fatalf("update: %s", out)
			}
			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Update, Write: true, CapAffected: true,
				SQL: `UPDATE users SET name = 'x' WHERE id > 100`})
			sameJSON(t, out, `{"data": [], "meta": {"affected": 0}}`)

			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Delete, Write: true, CapAffected: true, Columns: cols("email:text"),
				SQL: `DELETE FROM users WHERE email = ` + d.ph("1") + ` RETURNING email`, Args: []any{"e@x"}})
			sameJSON(t, out, `{"data": [{"email": "e@x"}], "meta": {"affected": 1}}`)
			out = d.ok(&plan.Plan{Engine: engine, Op: plan.Delete, Write: true, CapAffected: true,
				SQL: `DELETE FROM users WHERE email = 'd@x'`})
			sameJSON(t, out, `{"data": [], "meta": {"affected": 1}}`)

			// Custom SQL without a known shape: columns come from the result.
			out = d.ok(&plan.Plan{Engine: engine, SQL: `SELECT count(*) AS n FROM users`})
			sameJSON(t, out, `{"data": [{"n": 3}], "meta": {}}`)
		})
	}
}

// Update/delete touching more rows than the cap roll back (SPEC §4.6).
func TestAffectedCap(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			d := newDB(t, engine, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 2})
			setupUsers(d)
			d.fails(&plan.Plan{Engine: engine, Op: plan.Update, Write: true, CapAffected: true, Columns: cols("id:bigint"),
				SQL: `UPDATE users SET name = 'z' RETURNING id`}, apierr.BadRequest, "more than 2 rows")
			d.fails(&plan.Plan{Engine: engine, Op: plan.Delete, Write: true, CapAffected: true,
				SQL: `DELETE FROM users`}, apierr.BadRequest, "more than 2 rows")
			out := d.ok(&plan.Plan{Engine: engine, Op: plan.Select, SQL: `SELECT count(*) AS n, min(name) AS m FROM users`,
				Columns: cols("n:bigint", "m:text")})
			sameJSON(t, out, `{"data": [{"n": 3, "m": "Ada"}], "meta": {}}`)
			// At the cap: allowed. Inserts are not capped.
			d.ok(&plan.Plan{Engine: engine, Op: plan.Update, Write: true, CapAffected: true, SQL: `UPDATE users SET name = 'z' WHERE age = 20`})
			d.ok(&plan.Plan{Engine: engine, Op: plan.Insert, Write: true,
				SQL: `INSERT INTO users (email, name) VALUES ('1', 'a'), ('2', 'b'), ('3', 'c')`})
		})
	}
}

// Constraint violations map to 409/400 naming the constraint or column,
// never the values (SPEC §3).
func TestConstraintErrors(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			d := newDB(t, engine, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100})
			setupUsers(d)
			ins := func(sqlText string, args ...any) *plan.Plan {
				return &plan.Plan{Engine: engine, Op: plan.Insert, Write: true, SQL: sqlText, Args: args}
			}
			e2 := d.fails(ins(`INSERT INTO users (email, name) VALUES (`+d.ph("1")+`, 'dup')`, "a@x"), apierr.Conflict, "duplicate value for users.email")
			d.fails(ins(`INSERT INTO users (email, name) VALUES ('n@x', NULL)`), apierr.BadRequest, "name must not be null")
			d.fails(ins(`INSERT INTO users (email, name, age) VALUES ('n@x', 'n', -1)`), apierr.BadRequest, "users_age_check")
			d.fails(ins(`INSERT INTO posts (author_id, title) VALUES (999, 'orphan')`), apierr.Conflict, "foreign key")
			d.ok(ins(`INSERT INTO posts (author_id, title) VALUES (1, 'p')`))
			d.fails(&plan.Plan{Engine: engine, Op: plan.Delete, Write: true, CapAffected: true, SQL: `DELETE FROM users WHERE id = 1`},
				apierr.Conflict, "foreign key")
			if strings.Contains(e2.Message, "a@x") {
				t.Fatalf("message leaks a value: %s", e2.Message)
			}
			if engine == dbpool.Postgres {
				if cs, _ := e2.Details["constraint"].(string); cs != "users_email_key" {
					t.Fatalf("details %v", e2.Details)
				}
			}
			if engine == dbpool.Postgres {
				d.exec(`CREATE TABLE gen (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x int)`)
				d.fails(ins(`INSERT INTO gen (id, x) VALUES (5, 1)`), apierr.BadRequest, "column id is generated")
			}
			// Drift: the table is gone.
			d.exec(`DROP TABLE posts`)
			d.fails(&plan.Plan{Engine: engine, Op: plan.Select, SQL: `SELECT id FROM posts`, Columns: cols("id:bigint")},
				apierr.SchemaDrift, "no longer matches")
		})
	}
}

// A statement past its time limit is 504; on PostgreSQL the server cancels
// it (statement_timeout) and the pool stays usable.
func TestStatementTimeout(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		d := newDB(t, dbpool.Postgres, &Executor{StatementTimeout: 200 * time.Millisecond, MaxAffected: 100})
		start := time.Now()
		d.fails(&plan.Plan{Engine: "postgres", SQL: `SELECT pg_sleep(3)`, Columns: cols("x:other")}, apierr.Timeout, "time limit")
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("timeout took %s", el)
		}
		// The server cancelled: the connection survived and is reused.
		pool, release, _ := d.pools.Acquire("p", "e", bundle.Connection{Name: "main", Engine: "postgres", URL: d.url, Version: 1})
		st := pool.PG.Stat()
		release()
		if st.TotalConns() != 1 {
			t.Fatalf("connections after the timeout: %d (the timed-out one was closed)", st.TotalConns())
		}
		for range 3 {
			out := d.ok(&plan.Plan{Engine: "postgres", SQL: `SELECT 1 AS one`})
			sameJSON(t, out, `{"data": [{"one": 1}], "meta": {}}`)
		}
		// Inside a write transaction too.
		d.fails(&plan.Plan{Engine: "postgres", Op: plan.Update, Write: true, SQL: `SELECT pg_sleep(3)`}, apierr.Timeout, "")
		d.ok(&plan.Plan{Engine: "postgres", SQL: `SELECT 1 AS one`})
	})
	t.Run("sqlite", func(t *testing.T) {
		d := newDB(t, dbpool.SQLite, &Executor{StatementTimeout: 200 * time.Millisecond, MaxAffected: 100})
		start := time.Now()
		d.fails(&plan.Plan{Engine: "sqlite", SQL: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c`},
			apierr.Timeout, "time limit")
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("timeout took %s", el)
		}
		out := d.ok(&plan.Plan{Engine: "sqlite", SQL: `SELECT 1 AS one`})
		sameJSON(t, out, `{"data": [{"one": 1}], "meta": {}}`)
	})
}

// proxy is a TCP relay to PostgreSQL that a test can take down and bring
// back on the same address: a database outage without stopping the shared
// test server.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(l)
}

// Database down → 503 "database unavailable"; back up → served again,
// without restarting anything.
func TestDatabaseDownAndRecovery(t *testing.T) {
	direct := testpg.New(t)
	cfg, err := pgx.ParseConfig(direct)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	px := newProxy(t, target)
	proxied := strings.Replace(direct, target, px.addr, 1)

	x := &Executor{StatementTimeout: 2 * time.Second, MaxAffected: 100}
	pools := dbpool.New(dbpool.Config{MaxConns: 2, StatementTimeout: x.StatementTimeout})
	defer pools.Close()
	conn := bundle.Connection{Name: "main", Engine: "postgres", URL: proxied, Version: 1}
	try := func() (string, error) {
		pool, release, err := pools.Acquire("p", "e", conn)
		if err != nil {
			return "", err
		}
		defer release()
		out, _, err := x.Run(context.Background(), pool, &plan.Plan{Engine: "postgres", SQL: `SELECT 1 AS one`}, nil)
		return string(out), err
	}
	if _, err := try(); err != nil {
		t.Fatal(err)
	}
	px.down()
	for range 2 { // the broken pooled connection, then a refused dial
		_, err := try()
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.ServiceUnavailable || e.Message != "database unavailable" {
			t.Fatalf("database down: %v", err)
		}
	}
	px.up()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := try()
		if err == nil {
			sameJSON(t, out, `{"data": [{"one": 1}], "meta": {}}`)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SQLite: a missing file is a database that is down, not a new one.
	sq := newDB(t, dbpool.SQLite, x)
	sq.url = "sqlite://" + filepath.Join(filepath.Dir(strings.TrimPrefix(sq.url, "sqlite://")), "missing.db")
	sq.fails(&plan.Plan{Engine: "sqlite", SQL: `SELECT 1 AS one`}, apierr.ServiceUnavailable, "database unavailable")
}
