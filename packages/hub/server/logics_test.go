package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
)

const (
	logicActive = "---\nauth: authenticated\nreadonly: true\nparams:\n  limit: {type: integer, default: 10}\n---\n" +
		"SELECT id, email FROM users WHERE active AND email <> ':not-a-bind' ORDER BY id LIMIT :limit\n"
	logicDeactivate = "---\nauth: {roles: [admin]}\nparams:\n  email: {type: string, required: true}\n---\n" +
		"UPDATE users SET active = false WHERE email = :email\n"
)

func (h *hub) applyLogics(env string, files map[string]string) reply {
	h.t.Helper()
	return h.do("PUT", "/v1/projects/demo/envs/"+env+"/logics", hubapi.ApplyLogics{Files: files})
}

func problemsOf(t *testing.T, r reply) []apierr.Problem {
	t.Helper()
	var env struct {
		Error struct {
			Code    apierr.Code `json:"code"`
			Details struct {
				Problems []apierr.Problem `json:"problems"`
				Missing  []apierr.Missing `json:"missing"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Error.Details.Problems
}

// TestLogicApplyValidation: each problem of a logic directory is a 400
// SCHEMA_VALIDATION_FAILED naming its file and line — the parser's and the
// database's (a statement that does not prepare) — and a failed apply
// leaves the staged set as it was (SPEC §6).
func TestLogicApplyValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		bootstrap(t, h)
		base := "/v1/projects/demo/envs/dev/logics"
		h.expect(h.do("GET", base, nil), 404, apierr.NotFound, nil)

		good := map[string]string{"users/active.sql": logicActive}
		var staged hubapi.LogicSet
		h.expect(h.applyLogics("dev", good), 201, "", &staged)
		var again hubapi.LogicSet
		h.expect(h.applyLogics("dev", good), 200, "", &again)
		if !again.Reused || again.ID != staged.ID {
			t.Fatalf("same set applied twice: %+v", again)
		}
		cases := []struct {
			name, file, src string
			line            int
			want            string
		}{
			{"unknown front-matter key", "a.sql", "---\nauth: public\ncache: 5\n---\nSELECT 1", 3, `unknown key "cache"`},
			{"undeclared bind", "a.sql", "---\nauth: public\n---\nSELECT id FROM users\nWHERE id = :id", 5, "bind :id is not a declared param"},
			{"unused param", "a.sql", "---\nauth: public\nparams:\n  id: {type: integer}\n---\nSELECT 1", 4, "param id is declared but"},
			{"two statements", "a.sql", "---\nauth: public\n---\nSELECT 1;\nDROP TABLE users", 5, "a second statement"},
			{"unknown connection", "a.sql", "---\nauth: public\nconnection: other\n---\nSELECT 1", 3, `connection "other" does not exist`},
			{"does not prepare", "b/c.sql", "---\nauth: public\n---\nSELECT id,\n  nope FROM users", 5, `does not prepare on connection main: column "nope" does not exist`},
			{"unknown table", "b/c.sql", "---\nauth: public\n---\nSELECT * FROM missing_table", 4, `relation "missing_table" does not exist`},
		}
		for _, c := range cases {
			files := map[string]string{"users/active.sql": logicActive, "users/other.sql": logicDeactivate, c.file: c.src}
			r := h.applyLogics("dev", files)
			h.expect(r, 400, apierr.SchemaValidationFailed, nil)
			ps := problemsOf(t, r)
			if len(ps) != 1 || ps[0].File != c.file || ps[0].Line != c.line || !strings.Contains(ps[0].Message, c.want) {
				t.Errorf("%s: problems %+v, want %s:%d %q", c.name, ps, c.file, c.line, c.want)
			}
			if strings.Contains(string(r.body), "postgres://") {
				t.Errorf("%s: the answer holds a connection URL: %s", c.name, r.body)
			}
		}
		// Still the first set: nothing of the failed applies was staged.
		var got hubapi.LogicSet
		h.expect(h.do("GET", base, nil), 200, "", &got)
		if got.ID != staged.ID || len(got.Logics) != 1 || got.Logics[0].Name != "users/active" {
			t.Fatalf("staged set after failed applies: %+v", got)
		}
		l := got.Logics[0]
		if l.Auth != logic.AuthAuthenticated || !l.Readonly || len(l.Columns) != 2 || l.Columns[0] != (logic.Column{Name: "id", Type: "bigint"}) ||
			l.Columns[1] != (logic.Column{Name: "email", Type: "text"}) {
			t.Fatalf("described logic: %+v", l)
		}
		h.expect(h.do("PUT", base, map[string]any{}), 400, apierr.BadRequest, nil)
	})
}

// TestLogicReleaseDriftRun: a release freezes the staged set and the
// bundle serves it; promotion prepares each logic on the target and
// refuses drift (unless forced); stk logic run runs a private logic of the
// current release with its values bound, audited by name only (SPEC §6, §9).
func TestLogicReleaseDriftRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		devDB, prodDB := bootstrap(t, h)
		h.expect(h.apply("dev", permsV1), 201, "", nil)
		var set hubapi.LogicSet
		h.expect(h.applyLogics("dev", map[string]string{
			"users/active.sql":      logicActive,
			"_admin/deactivate.sql": logicDeactivate,
		}), 201, "", &set)
		rel := h.release("dev", "l1", 201)
		if rel.LogicID != set.ID {
			t.Fatalf("release %+v does not freeze logic set %s", rel, set.ID)
		}
		b := h.envBundle("dev")
		if len(b.Release.Logics) != 2 {
			t.Fatalf("bundle logics %+v", b.Release.Logics)
		}
		priv := b.Release.Logics[0]
		if priv.Name != "_admin/deactivate" || !priv.Private() || priv.SQL != "UPDATE users SET active = false WHERE email = $1" ||
			len(priv.ParamTypes) != 1 || priv.ParamTypes[0] != "text" {
			t.Fatalf("bundled private logic %+v", priv)
		}
		if again := h.release("dev", "l1", 200); !again.Reused {
			t.Fatalf("same content released twice: %+v", again)
		}

		// prod lacks the column the private logic writes: drift.
		execSQL(t, prodDB, "ALTER TABLE users DROP COLUMN active")
		r := h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"})
		h.expect(r, 409, apierr.SchemaDrift, nil)
		var body struct {
			Error struct {
				Details struct {
					Missing []apierr.Missing `json:"missing"`
				} `json:"details"`
			} `json:"error"`
		}
		_ = json.Unmarshal(r.body, &body)
		logicsMissing := map[string]string{}
		for _, m := range body.Error.Details.Missing {
			if m.Logic != "" {
				logicsMissing[m.Logic] = m.Reason
			}
		}
		if len(logicsMissing) != 2 || !strings.Contains(logicsMissing["_admin/deactivate"], `column "active" of relation "users" does not exist`) {
			t.Fatalf("drift %s", r.body)
		}
		var forced hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod", Force: true}), 201, "", &forced)
		if forced.LogicID != set.ID {
			t.Fatalf("promoted release %+v", forced)
		}

		// Run: the private logic, with a value that looks like SQL.
		run := "/v1/projects/demo/envs/dev/logics/run"
		execSQL(t, devDB, "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')")
		evil, _ := json.Marshal("x' OR '1'='1'; DROP TABLE users; --")
		var res hubapi.LogicResult
		h.expect(h.do("POST", run, hubapi.RunLogic{Name: "_admin/deactivate", Params: map[string]json.RawMessage{"email": evil}}), 200, "", &res)
		if res.Meta == nil || res.Meta.Affected != 0 {
			t.Fatalf("injection-looking value: %+v", res)
		}
		h.expect(h.do("POST", run, hubapi.RunLogic{Name: "_admin/deactivate", Params: map[string]json.RawMessage{"email": json.RawMessage(`"a@example.com"`)}}), 200, "", &res)
		if res.Meta == nil || res.Meta.Affected != 1 {
			t.Fatalf("deactivate: %+v", res)
		}
		h.expect(h.do("POST", run, hubapi.RunLogic{Name: "users/active"}), 200, "", &res)
		if string(res.Data) != `[{"id":2,"email":"b@example.com"}]` {
			t.Fatalf("rows: %s", res.Data)
		}
		// Param errors name the param: the planner's checks, as for /call.
		for _, c := range []struct {
			params map[string]json.RawMessage
			want   string
		}{
			{nil, `param \"email\" of logic \"_admin/deactivate\" is required`},
			{map[string]json.RawMessage{"email": json.RawMessage(`5`)}, `param \"email\" (string): expected a string`},
			{map[string]json.RawMessage{"email": json.RawMessage(`"a"`), "x": json.RawMessage(`1`)}, `unknown param \"x\"`},
		} {
			r := h.do("POST", run, hubapi.RunLogic{Name: "_admin/deactivate", Params: c.params})
			h.expect(r, 400, apierr.BadRequest, nil)
			if !strings.Contains(string(r.body), c.want) {
				t.Errorf("param error %s, want %q", r.body, c.want)
			}
		}
		h.expect(h.do("POST", run, hubapi.RunLogic{Name: "users/nope"}), 404, apierr.NotFound, nil)

		var events hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit?limit=200", nil), 200, "", &events)
		var runs []string
		for _, e := range events.Items {
			if e.Action == "logic.run" {
				runs = append(runs, e.Target)
			}
			if strings.Contains(e.Target, "a@example.com") || strings.Contains(e.Target, "DROP") {
				t.Fatalf("an audit event holds a value: %+v", e)
			}
		}
		if len(runs) != 3 || runs[0] != "demo/dev logics/users/active" || runs[2] != "demo/dev logics/_admin/deactivate" {
			t.Fatalf("logic.run events %v", runs)
		}
	})
}
