package logic

import (
	"encoding/json"
	"strings"
	"testing"
)

func pgOnly(string) string { return EnginePostgres }

func TestParseCompiles(t *testing.T) {
	src := "---\nauth: authenticated\nparams:\n  status: { type: string, required: true }\n  limit:  { type: integer, default: 20 }\n---\n" +
		"SELECT id, title::text, ':nope' AS \"x:y\" -- :comment\nFROM posts WHERE status = :status AND author_id = :auth.sub /* :c /* nested :d */ */\n" +
		"AND status <> :status AND b = $q$ :body $q$ AND e = E'\\' :esc' LIMIT :limit;\n"
	l, problems := ParseFile("posts/mine.sql", src, pgOnly)
	if len(problems) > 0 {
		t.Fatalf("problems: %+v", problems)
	}
	want := "SELECT id, title::text, ':nope' AS \"x:y\" -- :comment\nFROM posts WHERE status = $1 AND author_id = $2 /* :c /* nested :d */ */\n" +
		"AND status <> $1 AND b = $q$ :body $q$ AND e = E'\\' :esc' LIMIT $3"
	if l.SQL != want {
		t.Fatalf("SQL:\n%s\nwant:\n%s", l.SQL, want)
	}
	binds, _ := json.Marshal(l.Binds)
	if string(binds) != `[{"kind":"param","name":"status"},{"kind":"sub"},{"kind":"param","name":"limit"}]` {
		t.Fatalf("binds %s", binds)
	}
	if l.Name != "posts/mine" || l.Auth != AuthAuthenticated || l.Connection != "main" || l.SourceLine != 7 {
		t.Fatalf("logic %+v", l)
	}
	if len(l.Params) != 2 || l.Params[1].Default != "20" || !l.Params[0].Required || l.Params[0].Line != 4 {
		t.Fatalf("params %+v", l.Params)
	}
}

func TestParseSQLiteAndAuthBinds(t *testing.T) {
	src := "---\nauth: {roles: [admin, ops]}\nreadonly: true\nparams:\n  ids: {type: 'array<integer>', default: [1, 2]}\n---\n" +
		"SELECT [a:b], `c:d`, :auth.roles, :auth.claims.tenant FROM t WHERE id IN (SELECT value FROM json_each(:ids)) AND x = :auth.claims.tenant"
	l, problems := ParseFile("_admin/list.sql", src, func(string) string { return EngineSQLite })
	if len(problems) > 0 {
		t.Fatalf("problems: %+v", problems)
	}
	if !strings.Contains(l.SQL, "[a:b], `c:d`, ?1, ?2 FROM") || !strings.HasSuffix(l.SQL, "json_each(?3)) AND x = ?2") {
		t.Fatalf("SQL %s", l.SQL)
	}
	if l.Auth != AuthPrivate || !l.Readonly || l.Params[0].Default != "[1,2]" {
		t.Fatalf("private name must win over roles; %+v", l)
	}
	if l.Binds[1] != (Bind{Kind: BindClaim, Name: "tenant"}) {
		t.Fatalf("binds %+v", l.Binds)
	}
}

func TestParseProblems(t *testing.T) {
	head := "---\nauth: public\nparams:\n  a: {type: string}\n---\n"
	cases := []struct {
		name, file, src string
		line            int
		want            string
	}{
		{"no front matter", "a.sql", "SELECT 1", 1, "front matter"},
		{"unknown key", "a.sql", "---\nauth: public\ncolour: red\n---\nSELECT 1", 3, `unknown key "colour"`},
		{"bad auth", "a.sql", "---\nauth: everyone\n---\nSELECT 1", 2, "auth must be"},
		{"missing auth", "a.sql", "---\nreadonly: true\n---\nSELECT 1", 2, "auth is required"},
		{"bad type", "a.sql", "---\nauth: public\nparams:\n  a: {type: text}\n---\nSELECT :a", 4, "type must be one of"},
		{"array of json", "a.sql", "---\nauth: public\nparams:\n  a: {type: 'array<json>'}\n---\nSELECT :a", 4, "type must be one of"},
		{"default misfit", "a.sql", "---\nauth: public\nparams:\n  a:\n    type: integer\n    default: 1.5\n---\nSELECT :a", 6, "must be an integer"},
		{"bad uuid default", "a.sql", "---\nauth: public\nparams:\n  a: {type: uuid, default: nope}\n---\nSELECT :a", 4, "must be a UUID"},
		{"required with default", "a.sql", "---\nauth: public\nparams:\n  a: {type: date, required: true, default: '2024-01-02'}\n---\nSELECT :a", 4, "cannot have a default"},
		{"unknown param key", "a.sql", "---\nauth: public\nparams:\n  a: {type: date, min: 1}\n---\nSELECT :a", 4, `unknown key "min"`},
		{"undeclared bind", "a.sql", head + "SELECT :a,\n  :b", 7, "bind :b is not a declared param"},
		{"unused param", "a.sql", head + "SELECT 1", 4, "param a is declared but"},
		{"second statement", "a.sql", head + "SELECT :a;\nDELETE FROM t", 7, "a second statement"},
		{"no statement", "a.sql", "---\nauth: public\n---\n-- nothing\n", 4, "no SQL statement"},
		{"unknown auth bind", "a.sql", head + "SELECT :a, :auth.email", 6, "unknown bind"},
		{"positional", "a.sql", head + "SELECT :a, $1", 6, "positional parameter $1"},
		{"unterminated string", "a.sql", head + "SELECT :a, 'x", 6, "unterminated string"},
		{"unterminated dollar", "a.sql", head + "SELECT :a, $$x", 6, "unterminated dollar"},
		{"bad name", "Posts/x.sql", "---\nauth: public\n---\nSELECT 1", 0, "invalid name segment"},
		{"not sql", "a.txt", "", 0, "must end in .sql"},
		{"dotdot", "a/../b.sql", "", 0, "relative to logics/"},
		{"yaml syntax", "a.sql", "---\nauth: [public\n---\nSELECT 1", 2, "invalid YAML"},
		{"unknown connection", "a.sql", "---\nauth: public\nconnection: other\n---\nSELECT 1", 3, `connection "other" does not exist`},
		{"auth param name", "a.sql", "---\nauth: public\nparams:\n  auth: {type: string}\n---\nSELECT 1", 4, "invalid param name"},
	}
	engineOf := func(c string) string {
		if c == "main" {
			return EnginePostgres
		}
		return ""
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, problems := ParseFile(c.file, c.src, engineOf)
			for _, p := range problems {
				if strings.Contains(p.Message, c.want) {
					if p.Line != c.line || p.File != c.file {
						t.Fatalf("problem %+v: want file %s line %d", p, c.file, c.line)
					}
					return
				}
			}
			t.Fatalf("want a problem %q, got %+v", c.want, problems)
		})
	}
}

func TestParseSetAllOrNothing(t *testing.T) {
	ok := "---\nauth: public\n---\nSELECT 1\n"
	logics, problems := Parse(map[string]string{"b.sql": ok, "a/x.sql": ok}, pgOnly)
	if len(problems) > 0 || len(logics) != 2 || logics[0].Name != "a/x" {
		t.Fatalf("%+v %+v", logics, problems)
	}
	logics, problems = Parse(map[string]string{"b.sql": ok, "c.sql": "SELECT 1"}, pgOnly)
	if logics != nil || len(problems) != 1 || problems[0].File != "c.sql" {
		t.Fatalf("%+v %+v", logics, problems)
	}
}

func TestCheckValue(t *testing.T) {
	cases := []struct {
		v    any
		typ  string
		good bool
	}{
		{json.Number("3"), TypeInteger, true}, {json.Number("3.5"), TypeInteger, false},
		{json.Number("3.5"), TypeNumber, true}, {"3", TypeNumber, false},
		{true, TypeBoolean, true}, {"true", TypeBoolean, false},
		{"2024-02-03T04:05:06Z", TypeTimestamptz, true}, {"2024-02-03", TypeTimestamptz, false},
		{"2024-02-03", TypeDate, true}, {"x'; DROP TABLE t; --", TypeString, true},
		{map[string]any{"a": 1}, TypeJSON, true}, {[]any{"a", 1}, "array<string>", false},
		{[]any{"a"}, "array<string>", true}, {"00000000-0000-0000-0000-000000000000", TypeUUID, true},
	}
	for _, c := range cases {
		if got := CheckValue(c.v, c.typ) == ""; got != c.good {
			t.Errorf("CheckValue(%v, %s) ok=%v, want %v", c.v, c.typ, got, c.good)
		}
	}
}
