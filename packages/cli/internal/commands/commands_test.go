package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// fakeHub answers canned responses per "METHOD /path" and records requests.
type fakeHub struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]reply
	reqs   []recorded
}

type reply struct {
	status int
	body   string
	header map[string]string
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, routes: map[string]reply{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(b)})
		rep, ok := h.routes[r.Method+" "+r.URL.EscapedPath()]
		h.mu.Unlock()
		w.Header().Set("X-Request-Id", "req_hdr")
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"NOT_FOUND","message":"no route `+r.Method+" "+r.URL.Path+`","requestId":"req_404"}}`)
			return
		}
		if _, set := rep.header["Content-Type"]; !set {
			w.Header().Set("Content-Type", "application/json")
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) on(route string, status int, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[route] = reply{status: status, body: body}
}

func (h *fakeHub) requests() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.reqs...)
}

type result struct {
	code           int
	stdout, stderr string
}

// stk runs the CLI in-process against hubURL with the given environment.
func stk(t *testing.T, hubURL string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	getenv := func(k string) string {
		if k == EnvHubURL && hubURL != "" {
			if v, ok := env[k]; ok {
				return v
			}
			return hubURL
		}
		return env[k]
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, getenv)
	return result{code, out.String(), errOut.String()}
}

const (
	projectJSON = `{"name":"demo","org":"default","createdAt":"2026-01-02T03:04:05Z"}`
	envJSON     = `{"project":"demo","name":"dev","createdAt":"2026-01-02T03:04:05Z"}`
	connJSON    = `{"project":"demo","env":"dev","name":"main","engine":"postgres","url":"postgres://app:***@db:5432/app","version":1,"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}`
	snapJSON    = `{"id":"snap_01","project":"demo","env":"dev","connection":"main","engine":"postgres","hash":"sha256:ab","createdAt":"2026-01-02T03:04:05Z","tables":[{"name":"users","columns":[{"name":"id","type":"bigint","dbType":"int8","nullable":false},{"name":"email","type":"text","dbType":"text","nullable":true}],"primaryKey":["id"],"foreignKeys":[],"indexes":[{"name":"users_email_key","columns":["email"],"unique":true}]}]}`
)

// Each command maps its flags and arguments to one request of the Hub API.
func TestFlagsToRequests(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		route      string // METHOD /path answered
		status     int
		body       string
		wantQuery  string
		wantReq    string // JSON body sent, compared as JSON; "" for none
		wantStdout []string
	}{
		{name: "project create", args: []string{"project", "create", "demo"},
			route: "POST /v1/projects", status: 201, body: projectJSON,
			wantReq: `{"name":"demo"}`, wantStdout: []string{"created project demo (org default)"}},
		{name: "project create org", args: []string{"project", "create", "demo", "--org", "acme"},
			route: "POST /v1/projects", status: 201, body: `{"name":"demo","org":"acme"}`,
			wantReq: `{"name":"demo","org":"acme"}`, wantStdout: []string{"org acme"}},
		{name: "project list", args: []string{"project", "list"},
			route: "GET /v1/projects", status: 200, body: `{"items":[` + projectJSON + `]}`,
			wantStdout: []string{"NAME  ORG      CREATED", "demo  default  2026-01-02T03:04:05Z"}},
		{name: "project show arg", args: []string{"project", "show", "demo"},
			route: "GET /v1/projects/demo", status: 200, body: `{"name":"demo","org":"default","envs":[` + envJSON + `]}`,
			wantStdout: []string{"project  demo", "envs     dev"}},
		{name: "project show flag", args: []string{"project", "show", "--project", "demo"},
			route: "GET /v1/projects/demo", status: 200, body: projectJSON, wantStdout: []string{"envs     -"}},
		{name: "project show env var", args: []string{"project", "show"}, env: map[string]string{EnvProject: "demo"},
			route: "GET /v1/projects/demo", status: 200, body: projectJSON},
		{name: "env create", args: []string{"env", "create", "--project", "demo", "dev"},
			route: "POST /v1/projects/demo/envs", status: 201, body: envJSON,
			wantReq: `{"name":"dev"}`, wantStdout: []string{"created env dev in project demo"}},
		{name: "env list", args: []string{"env", "list", "--project", "demo"},
			route: "GET /v1/projects/demo/envs", status: 200, body: `{"items":[` + envJSON + `]}`,
			wantStdout: []string{"dev   2026-01-02T03:04:05Z"}},
		{name: "connections set created", args: []string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--engine", "postgres", "--db-url", "postgres://app:hunter2@db:5432/app"},
			route: "PUT /v1/projects/demo/envs/dev/connections/main", status: 201, body: connJSON,
			wantReq:    `{"engine":"postgres","url":"postgres://app:hunter2@db:5432/app"}`,
			wantStdout: []string{"created connection main in demo/dev: postgres postgres://app:***@db:5432/app (version 1)"}},
		{name: "connections set updated, engine from scheme", args: []string{"connections", "set", "--name", "main", "--db-url", "postgresql://app:hunter2@db/app"},
			env:   map[string]string{EnvProject: "demo", EnvEnv: "dev"},
			route: "PUT /v1/projects/demo/envs/dev/connections/main", status: 200, body: connJSON,
			wantReq: `{"engine":"postgres","url":"postgresql://app:hunter2@db/app"}`, wantStdout: []string{"updated connection main"}},
		{name: "connections set stdin sqlite", args: []string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "local", "--db-url-stdin"},
			stdin: "  sqlite://./data.db\n",
			route: "PUT /v1/projects/demo/envs/dev/connections/local", status: 201, body: `{"name":"local","engine":"sqlite","url":"sqlite://./data.db","version":1}`,
			wantReq: `{"engine":"sqlite","url":"sqlite://./data.db"}`},
		{name: "connections set --no-test", args: []string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--no-test", "--db-url", "postgres://app:hunter2@db/app"},
			route: "PUT /v1/projects/demo/envs/dev/connections/main", status: 201, body: connJSON,
			wantReq: `{"engine":"postgres","url":"postgres://app:hunter2@db/app","noTest":true}`},
		{name: "connections rotate --no-test", args: []string{"connections", "rotate", "--project", "demo", "--env", "dev", "--name", "main", "--no-test", "--db-url", "postgres://app:new@db/app"},
			route: "POST /v1/projects/demo/envs/dev/connections/main/rotate", status: 200, body: connJSON,
			wantReq: `{"engine":"postgres","url":"postgres://app:new@db/app","noTest":true}`},
		{name: "connections list", args: []string{"connections", "list", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/connections", status: 200, body: `{"items":[` + connJSON + `]}`,
			wantStdout: []string{"NAME  ENGINE    URL", "main  postgres  postgres://app:***@db:5432/app  1"}},
		{name: "connections test", args: []string{"connections", "test", "--project", "demo", "--env", "dev", "--name", "main"},
			route: "POST /v1/projects/demo/envs/dev/connections/main/test", status: 200, body: `{"ok":true,"serverVersion":"16.4","latencyMs":3}`,
			wantStdout: []string{"ok: connection main in demo/dev reached, server 16.4, 3 ms"}},
		{name: "schema snapshot default connection", args: []string{"schema", "snapshot", "--project", "demo", "--env", "dev"},
			route: "POST /v1/projects/demo/envs/dev/connections/main/snapshots", status: 201, body: snapJSON,
			wantStdout: []string{"snapshot snap_01 of demo/dev/main: 1 table (new)"}},
		{name: "schema snapshot reused", args: []string{"schema", "snapshot", "--project", "demo", "--env", "dev", "--connection", "other"},
			route: "POST /v1/projects/demo/envs/dev/connections/other/snapshots", status: 200, body: `{"id":"snap_02","connection":"other","tables":[],"reused":true}`,
			wantStdout: []string{"snapshot snap_02 of demo/dev/other: 0 tables (schema unchanged, latest snapshot reused)"}},
		{name: "schema show", args: []string{"schema", "show", "--project", "demo", "--env", "dev"},
			route: "GET /v1/projects/demo/envs/dev/schema", status: 200, body: `{"items":[` + snapJSON + `]}`,
			wantStdout: []string{"connection main (postgres): snapshot snap_01, 1 table", "table users", "id      bigint  no    pk   int8", "unique index users_email_key (email)"}},
		{name: "schema show one connection", args: []string{"schema", "show", "--project", "demo", "--env", "dev", "--connection", "main"},
			route: "GET /v1/projects/demo/envs/dev/schema", status: 200, body: `{"items":[]}`, wantQuery: "connection=main",
			wantStdout: []string{"no schema snapshots in demo/dev"}},
		{name: "version", args: []string{"version"},
			route: "GET /v1/version", status: 200, body: `{"version":"1.2.3"}`, wantStdout: []string{"client  dev", "hub     1.2.3 at http://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.on(tc.route, tc.status, tc.body)
			r := stk(t, h.srv.URL, tc.env, tc.stdin, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
			}
			reqs := h.requests()
			if len(reqs) != 1 {
				t.Fatalf("want 1 request, got %+v", reqs)
			}
			got := reqs[0]
			if got.method+" "+got.path != tc.route {
				t.Errorf("request %s %s, want %s", got.method, got.path, tc.route)
			}
			if got.query != tc.wantQuery {
				t.Errorf("query %q, want %q", got.query, tc.wantQuery)
			}
			if tc.wantReq == "" {
				if got.body != "" {
					t.Errorf("unexpected body %s", got.body)
				}
			} else {
				assertJSONEqual(t, got.body, tc.wantReq)
				if ct := got.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("content type %q", ct)
				}
			}
			if ua := got.header.Get("User-Agent"); !strings.HasPrefix(ua, "stk/") {
				t.Errorf("user agent %q", ua)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2") {
				t.Errorf("password printed:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// --json prints exactly one JSON document: objects for single results,
// plain arrays for lists.
func TestJSONShapes(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects", 201, projectJSON)
	h.on("GET /v1/projects", 200, `{"items":[`+projectJSON+`],"nextCursor":""}`)
	h.on("GET /v1/projects/demo", 200, projectJSON)
	h.on("GET /v1/projects/demo/envs", 200, `{"items":[]}`)
	h.on("GET /v1/projects/demo/envs/dev/connections", 200, `{"items":null}`)
	h.on("PUT /v1/projects/demo/envs/dev/connections/main", 200, connJSON)
	h.on("POST /v1/projects/demo/envs/dev/connections/main/test", 200, `{"ok":true,"serverVersion":"16.4","latencyMs":3}`)
	h.on("POST /v1/projects/demo/envs/dev/connections/main/snapshots", 200, strings.Replace(snapJSON, `"tables"`, `"reused":true,"tables"`, 1))
	h.on("GET /v1/projects/demo/envs/dev/schema", 200, `{"items":[`+snapJSON+`]}`)
	h.on("GET /v1/version", 200, `{"version":"1.2.3"}`)

	cases := []struct {
		args []string
		want string // "object" or "array"
		keys []string
	}{
		{[]string{"project", "create", "demo"}, "object", []string{"name", "org", "createdAt"}},
		{[]string{"project", "list"}, "array", []string{"name", "org", "createdAt"}},
		{[]string{"project", "show", "demo"}, "object", []string{"name", "org", "envs"}},
		{[]string{"env", "list", "--project", "demo"}, "array", nil},
		{[]string{"connections", "list", "--project", "demo", "--env", "dev"}, "array", nil},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url", "postgres://a:b@h/d"}, "object", []string{"name", "engine", "url", "version"}},
		{[]string{"connections", "test", "--project", "demo", "--env", "dev", "--name", "main"}, "object", []string{"ok", "serverVersion", "latencyMs"}},
		{[]string{"schema", "snapshot", "--project", "demo", "--env", "dev"}, "object", []string{"id", "connection", "tables", "hash", "reused"}},
		{[]string{"schema", "show", "--project", "demo", "--env", "dev"}, "array", []string{"id", "connection", "tables"}},
		{[]string{"version"}, "object", []string{"client", "hub", "hubUrl"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := stk(t, h.srv.URL, nil, "", append(tc.args, "--json")...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if dec.More() {
				t.Fatalf("more than one JSON document:\n%s", r.stdout)
			}
			var obj map[string]any
			switch x := v.(type) {
			case map[string]any:
				if tc.want != "object" {
					t.Fatalf("got object, want %s", tc.want)
				}
				obj = x
			case []any:
				if tc.want != "array" {
					t.Fatalf("got array, want %s", tc.want)
				}
				if len(x) > 0 {
					obj = x[0].(map[string]any)
				}
			default:
				t.Fatalf("got %T: %s", v, r.stdout)
			}
			for _, k := range tc.keys {
				if _, ok := obj[k]; !ok {
					t.Errorf("key %q missing in %s", k, r.stdout)
				}
			}
		})
	}
}

// Errors answered by the Hub: the error line on stderr, the envelope on
// stdout with --json, exit 1 (3 for 401).
func TestHubErrors(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		body     string
		header   map[string]string
		wantExit int
		wantLine string
	}{
		{"conflict", 409, `{"error":{"code":"CONFLICT","message":"project \"demo\" already exists","requestId":"req_01ABC"}}`, nil,
			1, `error: project "demo" already exists (code CONFLICT, request req_01ABC)`},
		{"request id from header", 404, `{"error":{"code":"NOT_FOUND","message":"project \"demo\" not found"}}`, nil,
			1, `error: project "demo" not found (code NOT_FOUND, request req_hdr)`},
		{"unauthorized", 401, `{"error":{"code":"UNAUTHORIZED","message":"log in first","requestId":"req_1"}}`, nil,
			3, `not logged in: run stk login --hub`},
		{"unavailable", 503, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"database unreachable: refused","requestId":"req_2"}}`, nil,
			1, `error: database unreachable: refused (code SERVICE_UNAVAILABLE, request req_2)`},
		{"not json", 502, `<html>bad gateway</html>`, map[string]string{"Content-Type": "text/html"},
			1, `error: unexpected answer from the Hub at http://127.0.0.1:`},
		{"401 not json", 401, `nope`, map[string]string{"Content-Type": "text/plain"},
			3, `(code UNAUTHORIZED, request req_hdr)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.mu.Lock()
			h.routes["GET /v1/projects/demo"] = reply{tc.status, tc.body, tc.header}
			h.mu.Unlock()
			r := stk(t, h.srv.URL, nil, "", "project", "show", "demo")
			if r.code != tc.wantExit {
				t.Errorf("exit %d, want %d", r.code, tc.wantExit)
			}
			if !strings.HasPrefix(r.stderr, "error: ") || !strings.Contains(r.stderr, tc.wantLine) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.wantLine)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want one stderr line, got %q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout without --json: %q", r.stdout)
			}

			r = stk(t, h.srv.URL, nil, "", "project", "show", "demo", "--json")
			var env struct {
				Error struct {
					Code, Message, RequestID string
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &env); err != nil || env.Error.Code == "" || env.Error.RequestID == "" {
				t.Errorf("--json stdout is not a §3 envelope with a request id: %q (%v)", r.stdout, err)
			}
		})
	}
}

func TestUnreachableHub(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	r := stk(t, "", nil, "", "project", "list", "--hub", url)
	want := "error: cannot reach the Hub at " + url + ": connection refused (code SERVICE_UNAVAILABLE)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	// version reports the Hub as unknown but succeeds.
	r = stk(t, "", map[string]string{EnvHubURL: url}, "", "version", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"hubError": "cannot reach the Hub at `+url) {
		t.Errorf("version: exit %d, stdout %s", r.code, r.stdout)
	}
}

// Usage errors never reach the Hub and exit 2.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args  []string
		env   map[string]string
		stdin string
		want  string
	}{
		{[]string{"project", "create"}, nil, "", "missing project name"},
		{[]string{"project", "create", "a", "b"}, nil, "", "too many arguments"},
		{[]string{"project", "create", "Demo"}, nil, "", `project name "Demo" is not a valid name`},
		{[]string{"project", "create", "demo", "--org", "A_B"}, nil, "", `--org "A_B" is not a valid name`},
		{[]string{"project", "show"}, nil, "", "missing project"},
		{[]string{"project", "show", "a", "--project", "b"}, nil, "", "project given twice"},
		{[]string{"project", "nope"}, nil, "", `unknown command "nope" for "stk project"`},
		{[]string{"projet"}, nil, "", `did you mean "project"?`},
		{[]string{"project", "list", "--nope"}, nil, "", "unknown flag: --nope"},
		{[]string{"env", "create", "dev"}, nil, "", "required flag --project not set (or set STK_PROJECT)"},
		{[]string{"env", "create", "--project", "demo", "-dev"}, nil, "", "unknown shorthand flag"},
		{[]string{"env", "create", "--project", "demo", "Dev"}, nil, "", `env name "Dev" is not a valid name`},
		{[]string{"env", "list", "--project", "x_y"}, nil, "", `--project "x_y" is not a valid name`},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--db-url", "postgres://h/d"}, nil, "", `required flag(s) "name" not set`},
		{[]string{"connections", "set", "--project", "demo", "--name", "main", "--db-url", "postgres://h/d"}, nil, "", "required flag --env not set (or set STK_ENV)"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main"}, nil, "", "--db-url or --db-url-stdin"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url", "x", "--db-url-stdin"}, nil, "postgres://h/d", "not both"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url-stdin"}, nil, "\n", "standard input is empty"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url", "mysql://u:hunter2@h/d"}, nil, "", "URL scheme mysql://"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--db-url", "hunter2"}, nil, "", "has no scheme"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--engine", "sqlite", "--db-url", "postgres://u:hunter2@h/d"}, nil, "", "--engine sqlite does not match the URL scheme postgres://"},
		{[]string{"connections", "set", "--project", "demo", "--env", "dev", "--name", "main", "--engine", "mysql", "--db-url", "postgres://u:hunter2@h/d"}, nil, "", `--engine "mysql" is not supported`},
		{[]string{"connections", "test", "--project", "demo", "--env", "dev"}, nil, "", `required flag(s) "name" not set`},
		{[]string{"connections", "test", "--project", "demo", "--env", "dev", "--name", "Main"}, nil, "", `--name "Main" is not a valid name`},
		{[]string{"schema", "snapshot", "--project", "demo", "--env", "dev", "--connection", ""}, nil, "", "--connection is required"},
		{[]string{"schema", "show", "--project", "demo"}, nil, "", "required flag --env not set"},
		{[]string{"version", "extra"}, nil, "", "takes no arguments"},
		{[]string{"project", "list", "--hub", "ftp://x"}, nil, "", "--hub: invalid Hub URL"},
		{[]string{"member", "add", "--org", "acme", "--project", "demo", "--email", "a@b.co", "--role", "admin"}, nil, "", "give either --project or --org, not both"},
		{[]string{"member", "list", "--org", "acme", "--project", "demo"}, nil, "", "not both"},
		{[]string{"member", "add", "--email", "a@b.co", "--role", "viewer"}, nil, "", "give --project P (roles admin, deployer, viewer) or --org O"},
		{[]string{"member", "add", "--project", "demo", "--email", "a@b.co", "--role", "owner"}, nil, "", `--role "owner" is not a project role: use one of admin, deployer, viewer`},
		{[]string{"member", "set-role", "--org", "acme", "--email", "a@b.co", "--role", "deployer"}, nil, "", `--role "deployer" is not an org role`},
		{[]string{"member", "add", "--project", "demo", "--email", "nope", "--role", "viewer"}, nil, "", `--email "nope" is not an email address`},
		{[]string{"member", "remove", "--project", "demo"}, nil, "", `required flag(s) "email" not set`},
		{[]string{"member", "list", "--org", "A_B"}, nil, "", `--org "A_B" is not a valid name`},
		{[]string{"login", "--password-stdin"}, nil, "hunter2", "--password-stdin needs --email"},
		{[]string{"login", "--email", "a@b.co", "--password-stdin"}, nil, "\n", "--password-stdin: standard input is empty"},
		{[]string{"login", "--email", "a@b.co", "--password-stdin"}, nil, "hunter2\nx\n", "more than one line"},
		{[]string{"token", "create", "--name", "ci", "--role", "deployer"}, nil, "", "--role needs --project"},
		{[]string{"token", "create", "--name", "ci", "--project", "demo", "--role", "owner"}, nil, "", `is not a project role`},
		{[]string{"token", "create", "--name", "ci", "--expires", "3x"}, nil, "", "--expires"},
		{[]string{"token", "create"}, nil, "", `required flag(s) "name" not set`},
		{[]string{"token", "revoke"}, nil, "", "missing token id"},
		{[]string{"token", "revoke", "stkpat_hunter2"}, nil, "", "that is a token, not a token id"},
		{[]string{"user", "create", "--email", "a@b.co"}, nil, "hunter2", "required flag --password-stdin not set"},
		{[]string{"user", "disable"}, nil, "", `required flag(s) "email" not set`},
		{[]string{"org", "create", "Acme"}, nil, "", `org name "Acme" is not a valid name`},
		{[]string{"org", "create"}, nil, "", "missing org name"},
		{[]string{"audit", "list", "--org", "acme", "--project", "demo"}, nil, "", "not both"},
		{[]string{"connections", "rotate", "--project", "demo", "--env", "dev", "--name", "main"}, nil, "", "--db-url or --db-url-stdin"},
		{[]string{"connections", "rotate", "--project", "demo", "--env", "dev", "--name", "main", "--db-url", "mysql://u:hunter2@h/d"}, nil, "", "URL scheme mysql://"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			h := newFakeHub(t)
			r := stk(t, h.srv.URL, tc.env, tc.stdin, tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "error: ") || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "(code BAD_REQUEST)") {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.want)
			}
			if !strings.Contains(r.stderr, "--help' for usage.") {
				t.Errorf("no usage hint: %q", r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("secret echoed: %q", r.stderr)
			}
			if n := len(h.requests()); n != 0 {
				t.Errorf("%d requests sent to the Hub", n)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			// With --json the envelope is printed too.
			r = stk(t, h.srv.URL, tc.env, tc.stdin, append(tc.args, "--json")...)
			var env struct{ Error struct{ Code string } }
			if err := json.Unmarshal([]byte(r.stdout), &env); err != nil || env.Error.Code != "BAD_REQUEST" || r.code != ExitUsage {
				t.Errorf("--json: exit %d, stdout %q", r.code, r.stdout)
			}
		})
	}
}

// Flags win over environment variables, which win over defaults.
func TestGlobalFlagResolution(t *testing.T) {
	a, b := newFakeHub(t), newFakeHub(t)
	a.on("GET /v1/projects/p1/envs", 200, `{"items":[]}`)
	b.on("GET /v1/projects/p2/envs", 200, `{"items":[]}`)
	env := map[string]string{EnvHubURL: a.srv.URL, EnvProject: "p1"}
	if r := stk(t, "", env, "", "env", "list"); r.code != 0 || len(a.requests()) != 1 {
		t.Fatalf("env vars: exit %d %s", r.code, r.stderr)
	}
	if r := stk(t, "", env, "", "env", "list", "--hub", b.srv.URL, "--project", "p2"); r.code != 0 || len(b.requests()) != 1 {
		t.Fatalf("flags: exit %d %s", r.code, r.stderr)
	}
	if got := a.requests(); len(got) != 1 {
		t.Fatalf("flags did not override env: %d requests to env-var hub", len(got))
	}
	// STK_TOKEN is sent as a bearer token; --profile is accepted.
	env[EnvToken] = "stkpat_x"
	if r := stk(t, "", env, "", "env", "list", "--profile", "ci"); r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	if got := a.requests()[1].header.Get("Authorization"); got != "Bearer stkpat_x" {
		t.Errorf("authorization %q", got)
	}
}

// connections test answering 200 without ok is a contract violation, not a
// success.
func TestConnectionTestNotOK(t *testing.T) {
	h := newFakeHub(t)
	h.on("POST /v1/projects/demo/envs/dev/connections/main/test", 200, `{"ok":false}`)
	r := stk(t, h.srv.URL, nil, "", "connections", "test", "--project", "demo", "--env", "dev", "--name", "main")
	if r.code != 1 || !strings.Contains(r.stderr, "without ok: true") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

// Every command documents an example; help and completion work offline.
func TestHelpAndCompletion(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
	root := a.newRoot()
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		seen++
		if c.Name() != "help" && !c.Hidden && c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if seen < 20 {
		t.Errorf("walked only %d commands", seen)
	}

	for _, args := range [][]string{{"--help"}, {"help", "connections", "set"}, {"schema", "snapshot", "--help"}, {"project"}} {
		r := stk(t, "", nil, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d stdout %q", args, r.code, r.stdout)
		}
	}
	r := stk(t, "", nil, "", "connections", "set", "--help")
	if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--db-url-stdin") {
		t.Errorf("connections set help: %s", r.stdout)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := stk(t, "", nil, "", "completion", sh)
		if r.code != 0 || len(r.stdout) < 100 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.code, len(r.stdout))
		}
	}
}

// Dynamic completion of --project asks the Hub.
func TestProjectCompletion(t *testing.T) {
	h := newFakeHub(t)
	h.on("GET /v1/projects", 200, `{"items":[{"name":"demo"},{"name":"shop"}]}`)
	r := stk(t, h.srv.URL, nil, "", "__complete", "env", "list", "--project", "")
	if r.code != 0 || !strings.Contains(r.stdout, "demo\nshop\n") {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestResolveEngine(t *testing.T) {
	cases := []struct{ engine, url, want string }{
		{"", "postgres://u:p@h/d", "postgres"},
		{"", "POSTGRESQL://h/d", "postgres"},
		{"", "sqlite://./x.db", "sqlite"},
		{"", "sqlite:///var/x.db", "sqlite"},
		{"postgres", "postgres://h/d", "postgres"},
		{"postgres", "host=h dbname=d", "postgres"},
		{"sqlite", "file.db", "sqlite"},
	}
	for _, tc := range cases {
		got, err := resolveEngine(tc.engine, tc.url)
		if err != nil || got != tc.want {
			t.Errorf("resolveEngine(%q, %q) = %q, %v; want %q", tc.engine, tc.url, got, err, tc.want)
		}
	}
}

func assertJSONEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("request body is not JSON: %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("request body %s, want %s", gb, wb)
	}
}
