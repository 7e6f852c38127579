package logicexec

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const ddl = `CREATE TABLE t (id integer PRIMARY KEY, name text NOT NULL UNIQUE, at timestamptz)`

// runs is one engine's database with its URL and policy.
type runs struct {
	engine, url string
	targets     *dbtarget.Policy
	p           func(n int) string // the engine's positional parameter
}

func engines(t *testing.T) []runs {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ddl + `; INSERT INTO t VALUES (1, 'a', NULL), (2, 'b', NULL)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	pgURL := testpg.New(t)
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), ddl+`; INSERT INTO t VALUES (1, 'a', NULL), (2, 'b', NULL)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	return []runs{
		{schema.EngineSQLite, "sqlite://" + file, dbtarget.MustNew(dbtarget.Config{SQLiteDir: dir}), func(n int) string { return "?" + string(rune('0'+n)) }},
		{schema.EnginePostgres, pgURL, dbtarget.MustNew(dbtarget.Config{}), func(n int) string { return "$" + string(rune('0'+n)) }},
	}
}

// TestRun: rows in column order, affected counts, values bound (a value
// that looks like SQL is data), readonly enforced, the row cap, constraint
// violations mapped without values (SPEC §3, §6).
func TestRun(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.engine, func(t *testing.T) {
			run := func(q string, readonly bool, maxRows int, args ...any) (Result, error) {
				return Run(context.Background(), e.targets, Statement{Engine: e.engine, URL: e.url, SQL: q, Args: args,
					Readonly: readonly, Timeout: 5 * time.Second, MaxRows: maxRows})
			}
			res, err := run("SELECT name, id FROM t WHERE id >= "+e.p(1)+" ORDER BY id", true, 10, int64(1))
			if err != nil || !res.HasRows || string(res.Data) != `[{"name":"a","id":1},{"name":"b","id":2}]` {
				t.Fatalf("select: %s %+v %v", res.Data, res, err)
			}
			res, err = run("SELECT id FROM t WHERE id > 5", true, 10)
			if err != nil || string(res.Data) != `[]` {
				t.Fatalf("no rows: %s %v", res.Data, err)
			}
			evil := "x'; DELETE FROM t; --"
			res, err = run("UPDATE t SET name = name WHERE name = "+e.p(1), false, 10, evil)
			if err != nil || res.HasRows || res.Affected != 0 {
				t.Fatalf("injection-looking value: %+v %v", res, err)
			}
			res, err = run("INSERT INTO t (id, name) VALUES ("+e.p(1)+", "+e.p(2)+")", false, 10, int64(3), evil)
			if err != nil || res.Affected != 1 {
				t.Fatalf("insert: %+v %v", res, err)
			}
			res, err = run("SELECT count(*) AS n FROM t WHERE name = "+e.p(1), true, 10, evil)
			if err != nil || string(res.Data) != `[{"n":1}]` {
				t.Fatalf("the value was stored as data: %s %v", res.Data, err)
			}
			_, err = run("DELETE FROM t", true, 10)
			if ae := apierr.As(err); ae == nil || ae.Code != apierr.BadRequest {
				t.Fatalf("write in a readonly logic: %v", err)
			}
			_, err = run("SELECT id FROM t", true, 2)
			if ae := apierr.As(err); ae == nil || ae.Code != apierr.BadRequest {
				t.Fatalf("more rows than the cap: %v", err)
			}
			_, err = run("INSERT INTO t (id, name) VALUES (9, "+e.p(1)+")", false, 10, "a")
			ae := apierr.As(err)
			if ae == nil || ae.Code != apierr.Conflict {
				t.Fatalf("unique violation: %v", err)
			}
			var ce *ConnError
			if errors.As(err, &ce) {
				t.Fatalf("a statement error reported as unreachable: %v", err)
			}
			// NOT NULL and CHECK are the caller's values, 400 on both
			// engines (as pgErr and the Bridge map them), not a conflict.
			_, err = run("INSERT INTO t (id, name) VALUES (10, "+e.p(1)+")", false, 10, nil)
			if ae := apierr.As(err); ae == nil || ae.Code != apierr.BadRequest {
				t.Fatalf("not-null violation: %v", err)
			}
			if _, err := run("CREATE TABLE c (v integer CONSTRAINT positive CHECK (v > 0))", false, 10); err != nil {
				t.Fatal(err)
			}
			_, err = run("INSERT INTO c (v) VALUES ("+e.p(1)+")", false, 10, int64(-1))
			if ae := apierr.As(err); ae == nil || ae.Code != apierr.BadRequest {
				t.Fatalf("check violation: %v", err)
			}
		})
	}
}

// TestRunTimeout: the statement timeout cancels a slow statement (504).
func TestRunTimeout(t *testing.T) {
	e := engines(t)[1]
	_, err := Run(context.Background(), e.targets, Statement{Engine: e.engine, URL: e.url,
		SQL: "SELECT pg_sleep(5)", Timeout: 100 * time.Millisecond, MaxRows: 1})
	if ae := apierr.As(err); ae == nil || ae.Code != apierr.Timeout {
		t.Fatalf("slow statement: %v", err)
	}
}

// TestRunPostgresTextTypes: a time, interval or date column and an
// infinite date, timestamp or float read as the server's text (as SQLite
// stores them), never as pgx's Go structs, a midnight timestamp, a number
// or "+Inf".
func TestRunPostgresTextTypes(t *testing.T) {
	e := engines(t)[1]
	res, err := Run(context.Background(), e.targets, Statement{Engine: e.engine, URL: e.url, Readonly: true, Timeout: 5 * time.Second, MaxRows: 1,
		SQL: "SELECT '12:34:56'::time AS t, '1 day'::interval AS i, '2024-01-02'::date AS d, 'infinity'::date AS di, " +
			"'-infinity'::timestamptz AS ti, 'Infinity'::float8 AS f, 'NaN'::float4 AS n, 1.5::float8 AS x"})
	want := `[{"t":"12:34:56","i":"1 day","d":"2024-01-02","di":"infinity","ti":"-infinity","f":"Infinity","n":"NaN","x":1.5}]`
	if err != nil || string(res.Data) != want {
		t.Fatalf("got %s %v %v\nwant %s", res.Data, err, errors.Unwrap(err), want)
	}
}

// TestRunBlob: binary data reads as base64 on both engines (a PostgreSQL
// bytea already did), never as its bytes taken for text.
func TestRunBlob(t *testing.T) {
	for _, e := range engines(t) {
		q := "SELECT x'01ff' AS b, 'é' AS s"
		if e.engine == schema.EnginePostgres {
			q = "SELECT '\\x01ff'::bytea AS b, 'é' AS s"
		}
		res, err := Run(context.Background(), e.targets, Statement{Engine: e.engine, URL: e.url, SQL: q, Readonly: true, Timeout: 5 * time.Second, MaxRows: 1})
		if want := `[{"b":"Af8=","s":"é"}]`; err != nil || string(res.Data) != want {
			t.Fatalf("%s: got %s %v, want %s", e.engine, res.Data, err, want)
		}
	}
}

// TestRunSQLiteNoAttach: a logic's ATTACH or VACUUM INTO, run by the Hub,
// would open or create a file the connection policy never checked — one
// outside STK_SQLITE_DIR, or the Hub's own database (SPEC §2, §6): both
// are refused, and no file appears.
func TestRunSQLiteNoAttach(t *testing.T) {
	e := engines(t)[0]
	outside := t.TempDir()
	for _, q := range []string{
		"ATTACH DATABASE '" + filepath.Join(outside, "a.db") + "' AS x",
		"VACUUM INTO '" + filepath.Join(outside, "v.db") + "'",
	} {
		_, err := Run(context.Background(), e.targets, Statement{Engine: e.engine, URL: e.url,
			SQL: q, Timeout: 5 * time.Second, MaxRows: 10})
		if ae := apierr.As(err); ae == nil || ae.Status() >= 500 {
			t.Errorf("%s: %v, want a 4xx refusal", q, err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("files created outside STK_SQLITE_DIR: %v", ents)
	}
}
