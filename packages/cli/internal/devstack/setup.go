package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/permissions"
)

// setup makes project dev / env dev serve the permissions, through the Hub
// API: project and env (if missing), connection main, snapshot,
// permissions, release, and a fresh API key (older dev keys revoked). It
// returns what to print and the permissions source it applied.
func (s *stack) setup(ctx context.Context, dbURL string, seeded bool) (Info, []byte, error) {
	c := s.client
	if err := s.ensureEnv(ctx); err != nil {
		return Info{}, nil, err
	}
	conn, _, err := c.PutConnection(ctx, Project, Env, Connection, hubapi.PutConnection{URL: dbURL})
	if err != nil {
		return Info{}, nil, err
	}
	src, err := s.proj.permissions()
	if err != nil {
		return Info{}, nil, err
	}
	auth, err := s.proj.auth()
	if err != nil {
		return Info{}, nil, err
	}
	if auth == nil {
		s.o.Notice(AuthPath + " is missing: the Bridge refuses end-user tokens (stk init writes one that trusts the dev issuer)")
	}
	db := "SQLite " + s.st.path(dataDBName)
	if s.o.DatabaseURL != "" {
		db = conn.Engine + " " + conn.URL // redacted by the Hub
	}
	roles := keyRoles(src)
	logics, err := s.proj.logics()
	if err != nil {
		return Info{}, nil, err
	}
	res := s.apply(ctx, s.proj.permissionsFile(), src, auth, logics)
	if res.Err != nil {
		if ctx.Err() != nil || !s.o.Watch || !s.proj.isProject() {
			return Info{}, nil, &ApplyError{File: res.File, Err: res.Err}
		}
		// Watch on: report it and serve anyway; fixing the file releases.
		s.o.Applied(res.Apply)
	}
	if res.snapshotted && len(res.tables) == 0 {
		if !s.proj.isProject() {
			// Nothing to serve and nothing watched: say so rather than
			// print a curl that cannot work.
			return Info{}, nil, &NoTablesError{Database: db}
		}
		if s.o.DatabaseURL == "" {
			s.o.Notice(SchemaPath + " creates no tables: add some (with --watch, each save rebuilds " +
				StateDirName + "/" + dataDBName + ")")
		} else {
			s.o.Notice("the database has no tables yet: create some, then restart stk dev to snapshot it again")
		}
	}
	key, err := s.rotateKey(ctx, roles)
	if err != nil {
		return Info{}, nil, err
	}
	path, body := exampleCall(pickTable(res.tables, src, roles), 5)
	info := Info{
		HubURL: s.hubURL, BridgeURL: s.bridgeURL, APIKey: key.Key,
		Curl:      curl(s.bridgeURL, apiKeyHeader(key.Key), body),
		IssuerURL: s.issuer.URL(),
		TokenURL:  s.issuer.URL() + TokenPath,
		WebURL:    s.webURL,
		KeyID:     key.KeyID, Roles: slices.Clone(key.Roles), Project: Project, Env: Env,
		StateDir: s.st.dir, LogFile: s.st.path(logFileName), Database: db, Seeded: seeded,
		Release: res.Release, Watching: s.o.Watch && s.proj.isProject(),
		CallPath: path, CallBody: body, Tables: res.tables,
	}
	if s.proj.isProject() {
		info.PermissionsFile = s.proj.permissionsFile()
	}
	if auth != nil && res.Err == nil {
		if t := endUserTable(res.tables, src); t != "" {
			tok, err := s.issuer.Mint(DevUser, nil, nil, readyTokenTTL)
			if err != nil {
				return Info{}, nil, err
			}
			path, body := exampleCall(t, 5)
			info.EndUserPath = path
			info.EndUserCurl = curl(s.bridgeURL, endUserHeaders(tok), body)
		}
	}
	return info, src, nil
}

// NoTablesError is a database of the user's own (--db, outside a project)
// that has no table to serve.
type NoTablesError struct {
	// Database names the database without secrets.
	Database string
}

func (e *NoTablesError) Error() string {
	return "the database " + e.Database + " has no tables (on PostgreSQL: none in schema public); " +
		"create your tables, then run stk dev again"
}

// ensureEnv creates project dev and env dev unless they exist.
func (s *stack) ensureEnv(ctx context.Context) error {
	c := s.client
	if _, err := c.GetProject(ctx, Project); err != nil {
		if !isStatus(err, http.StatusNotFound) {
			return err
		}
		if _, err := c.CreateProject(ctx, hubapi.CreateProject{Name: Project}); err != nil && !isStatus(err, http.StatusConflict) {
			return err
		}
	}
	envs, err := c.ListEnvs(ctx, Project)
	if err != nil {
		return err
	}
	for _, e := range envs.Items {
		if e.Name == Env {
			return nil
		}
	}
	if _, err := c.CreateEnv(ctx, Project, hubapi.CreateEnv{Name: Env}); err != nil && !isStatus(err, http.StatusConflict) {
		return err
	}
	return nil
}

func isStatus(err error, status int) bool {
	var he *hubclient.Error
	return errors.As(err, &he) && he.Status == status
}

// applyResult is an Apply with the snapshot's table names, sorted.
type applyResult struct {
	Apply
	tables      []string
	snapshotted bool
}

// apply snapshots connection main, stages the permissions perms and the
// auth config auth (unless nil: no file, the staged one stays) and
// releases them (ref dev); file names the change in the result. The auth
// config's dev issuer URL is resolved to where the issuer runs first
// (resolveIssuer).
func (s *stack) apply(ctx context.Context, file string, perms, auth []byte, logics map[string]string) applyResult {
	c := s.client
	res := applyResult{Apply: Apply{File: file}}
	snap, _, err := c.Snapshot(ctx, Project, Env, Connection)
	if err != nil {
		res.Err = err
		return res
	}
	res.snapshotted = true
	for _, t := range snap.Tables {
		res.tables = append(res.tables, t.Name)
	}
	slices.Sort(res.tables)
	if res.Permissions, _, err = c.PutPermissions(ctx, Project, Env, perms); err != nil {
		res.File, res.Err = s.proj.permissionsFile(), err
		return res
	}
	if auth != nil {
		if _, _, err = c.PutAuthConfig(ctx, Project, Env, resolveIssuer(auth, s.issuer.URL())); err != nil {
			res.File, res.Err = s.proj.authFile(), err
			return res
		}
	}
	if logics != nil {
		if _, err = c.PutLogics(ctx, Project, Env, logics); err != nil {
			res.File, res.Err = s.proj.logicsFile(), inLogicsDir(err, s.proj.logicsFile())
			return res
		}
	}
	if res.Release, _, err = c.CreateRelease(ctx, Project, Env, hubapi.CreateRelease{Ref: ReleaseRef}); err != nil {
		res.Err = err
		return res
	}
	s.log.Info("applied", "file", res.File, "permissions", res.Permissions.ID, "release", res.Release.ID, "reused", res.Release.Reused)
	return res
}

// rotateKey creates a new API key named dev with roles and revokes the
// active dev keys of earlier runs, so that restarts do not pile keys up.
func (s *stack) rotateKey(ctx context.Context, roles []string) (hubapi.CreatedAPIKey, error) {
	c := s.client
	old, err := c.ListAPIKeys(ctx, Project, Env)
	if err != nil {
		return hubapi.CreatedAPIKey{}, err
	}
	key, err := c.CreateAPIKey(ctx, Project, Env, hubapi.CreateAPIKey{Name: KeyName, Roles: roles})
	if err != nil {
		return hubapi.CreatedAPIKey{}, err
	}
	for _, k := range old.Items {
		if k.Name == KeyName && k.Status == "active" && k.KeyID != key.KeyID {
			if _, err := c.RevokeAPIKey(ctx, Project, Env, k.KeyID); err != nil {
				return hubapi.CreatedAPIKey{}, err
			}
		}
	}
	return key, nil
}

// exampleCall is the request of a printed curl: a select of limit rows
// from table.
func exampleCall(table string, limit int) (path, body string) {
	path = "db/" + Connection + "/" + table + "/select"
	b, _ := json.Marshal(struct {
		Path   string         `json:"path"`
		Params map[string]int `json:"params"`
	}{path, map[string]int{"limit": limit}})
	return path, string(b)
}

// pickTable is the table of the API-key curl: one the key may read, todos
// when there is one.
func pickTable(tables []string, src []byte, roles []string) string {
	if len(tables) == 0 {
		return "TABLE"
	}
	sorted := slices.Clone(tables)
	slices.Sort(sorted)
	if i := slices.Index(sorted, "todos"); i > 0 {
		sorted = append([]string{"todos"}, slices.Delete(sorted, i, i+1)...)
	}
	doc, problems := permissions.Parse(src)
	if doc != nil && len(problems) == 0 {
		for _, t := range sorted {
			rules, _ := doc.Rules(Connection, t, permissions.OpSelect)
			for _, r := range rules {
				if slices.ContainsFunc(r.Roles, func(role string) bool { return slices.Contains(roles, role) }) {
					return t
				}
			}
		}
	}
	return sorted[0]
}

// endUserTable is the table of the end-user curl: the first, by name, that
// an end user with no role but authenticated may select, preferring a
// table with an owner column (whose rows differ per user, SPEC §5.3); ""
// when there is none.
func endUserTable(tables []string, src []byte) string {
	doc, problems := permissions.Parse(src)
	if doc == nil || len(problems) > 0 {
		return ""
	}
	found := ""
	for _, t := range slices.Sorted(slices.Values(tables)) {
		rules, _ := doc.Rules(Connection, t, permissions.OpSelect)
		if !slices.ContainsFunc(rules, func(r permissions.Rule) bool {
			return slices.Contains(r.Roles, "authenticated") || slices.Contains(r.Roles, "public")
		}) {
			continue
		}
		if tb, ok := doc.Table(Connection, t); ok && tb.Owner != "" {
			return t
		}
		if found == "" {
			found = t
		}
	}
	return found
}

// apiKeyHeader and endUserHeaders are the credential headers of a curl
// (SPEC §4.1): a JWT also needs the project and env it is for.
func apiKeyHeader(key string) []string { return []string{"X-Santokit-Api-Key: " + key} }

func endUserHeaders(token string) []string {
	return []string{"Authorization: Bearer " + token, "X-Santokit-Project: " + Project, "X-Santokit-Env: " + Env}
}

// curl renders a ready curl command line (POSIX shell quoting).
func curl(bridgeURL string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString("curl -s " + bridgeURL + "/call")
	for _, h := range headers {
		b.WriteString(" -H " + shellQuote(h))
	}
	b.WriteString(" -H 'Content-Type: application/json' -d " + shellQuote(body))
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
