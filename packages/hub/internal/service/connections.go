package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/introspect"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// PutConnection creates or replaces a connection (SPEC §10). The URL is
// sealed under the active key, bound to project/env/name; only its redacted
// form is kept beside it. It must be one the connection policy allows, and
// answer a connection test unless in.NoTest (admitURL). created reports
// whether the connection is new.
func (s *Service) PutConnection(ctx context.Context, p auth.Principal, project, env, name string, in hubapi.PutConnection) (out hubapi.Connection, created bool, err error) {
	if err := names.Resource("connection", name); err != nil {
		return out, false, err
	}
	engine, err := checkURL(in.Engine, in.URL)
	if err != nil {
		return out, false, err
	}
	sc, err := s.env(ctx, p, auth.ConnectionSet, project, env)
	if err != nil {
		return out, false, err
	}
	if err := s.admitURL(ctx, name, engine, in); err != nil {
		return out, false, err
	}
	row, created, err := s.saveConnection(ctx, p, sc, auth.ConnectionSet,
		store.Connection{ID: ids.New(ids.Connection), EnvID: sc.env.ID, Name: name, Engine: engine}, in.URL)
	if err != nil {
		return out, false, err
	}
	return connectionOut(project, env, row), created, nil
}

// admitURL decides whether a URL may be stored for connection name: the
// connection policy must allow it (400 naming the rule, before anything is
// dialed, so that a refused host's answer is never observed), and unless
// in.NoTest it must answer a connection test (503 naming its category,
// SPEC §15).
func (s *Service) admitURL(ctx context.Context, name, engine string, in hubapi.PutConnection) error {
	if err := s.targets.Check(ctx, engine, in.URL); err != nil {
		return refused(name, err)
	}
	if in.NoTest {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.dbTimeout)
	defer cancel()
	if _, err := s.dbs.Probe(ctx, engine, in.URL); err != nil {
		return unreachable(name, err)
	}
	return nil
}

// saveConnection seals rawURL into c (under the active key, bound to
// project/env/name), stores it, tells the env's long polls and records
// action: what setting and rotating a connection share. A zero CreatedAt
// is now.
func (s *Service) saveConnection(ctx context.Context, p auth.Principal, sc scope, action auth.Action, c store.Connection, rawURL string) (store.Connection, bool, error) {
	version, blob, err := s.ring.Seal([]byte(rawURL), secrets.ConnectionAAD(sc.prj.Name, sc.env.Name, c.Name))
	if err != nil {
		return store.Connection{}, false, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	c.Ciphertext, c.KeyVersion, c.RedactedURL, c.UpdatedAt = blob, version, secrets.RedactURL(rawURL), s.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	row, created, err := s.store.PutConnection(ctx, c)
	if err != nil {
		return store.Connection{}, false, storeErr(err, fmt.Sprintf("connection %q", c.Name))
	}
	s.changes.Changed(sc.env.ID)
	s.record(ctx, p, sc.prj, action, sc.target()+"/"+c.Name)
	return row, created, nil
}

// ListConnections lists an env's connections with redacted URLs.
func (s *Service) ListConnections(ctx context.Context, p auth.Principal, project, env string) ([]hubapi.Connection, error) {
	sc, err := s.env(ctx, p, auth.ConnectionRead, project, env)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListConnections(ctx, sc.env.ID)
	if err != nil {
		return nil, storeErr(err, "connections")
	}
	out := make([]hubapi.Connection, 0, len(rows))
	for _, r := range rows {
		out = append(out, connectionOut(project, env, r))
	}
	return out, nil
}

// GetConnection returns one connection with its redacted URL.
func (s *Service) GetConnection(ctx context.Context, p auth.Principal, project, env, name string) (hubapi.Connection, error) {
	_, row, err := s.connection(ctx, p, auth.ConnectionRead, project, env, name)
	if err != nil {
		return hubapi.Connection{}, err
	}
	return connectionOut(project, env, row), nil
}

// TestConnection connects from the Hub and reports the server version and
// latency; a failure is 503 naming only its category (SPEC §15).
func (s *Service) TestConnection(ctx context.Context, p auth.Principal, project, env, name string) (hubapi.ConnectionTest, error) {
	_, row, err := s.connection(ctx, p, auth.ConnectionTest, project, env, name)
	if err != nil {
		return hubapi.ConnectionTest{}, err
	}
	dbURL, err := s.openURL(project, env, row)
	if err != nil {
		return hubapi.ConnectionTest{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.dbTimeout)
	defer cancel()
	start := time.Now()
	version, err := s.dbs.Probe(ctx, row.Engine, dbURL)
	if err != nil {
		return hubapi.ConnectionTest{}, unreachable(name, err)
	}
	return hubapi.ConnectionTest{OK: true, ServerVersion: version, LatencyMs: time.Since(start).Milliseconds()}, nil
}

// connection loads a connection row of an env.
func (s *Service) connection(ctx context.Context, p auth.Principal, action auth.Action, project, env, name string) (scope, store.Connection, error) {
	if err := names.Resource("connection", name); err != nil {
		return scope{}, store.Connection{}, err
	}
	sc, err := s.env(ctx, p, action, project, env)
	if err != nil {
		return scope{}, store.Connection{}, err
	}
	row, err := s.store.GetConnection(ctx, sc.env.ID, name)
	if err != nil {
		return scope{}, store.Connection{}, storeErr(err, fmt.Sprintf("connection %q in %s/%s", name, project, env))
	}
	return sc, row, nil
}

// openURL decrypts a connection's URL. A missing key version or a failed
// authentication is an operator problem, reported without key material.
func (s *Service) openURL(project, env string, c store.Connection) (string, error) {
	pt, err := s.ring.Open(c.KeyVersion, c.Ciphertext, secrets.ConnectionAAD(project, env, c.Name))
	if err != nil {
		if errors.Is(err, secrets.ErrUnknownVersion) {
			return "", apierr.Wrap(apierr.Internal, err, "connection %q is sealed with key %s, which STK_MASTER_KEYS lacks", c.Name, c.KeyVersion)
		}
		return "", apierr.Wrap(apierr.Internal, err, "connection %q cannot be decrypted with the configured keys", c.Name)
	}
	return string(pt), nil
}

// unreachable maps a database failure to 503 naming only its category; a
// refusal of the connection policy (a stored URL that the Hub's
// configuration no longer allows, or a DNS answer outside
// STK_DB_ALLOWED_HOSTS at dial time) is the 400 of refused.
func unreachable(name string, err error) error {
	var r *dbtarget.Refusal
	if errors.As(err, &r) {
		return refused(name, r)
	}
	return apierr.Wrap(apierr.ServiceUnavailable, err, "connection %q: %s", name, introspect.Classify(err))
}

// refused maps an error of the connection policy to 400 naming the rule
// (never the URL) under details.problems[].path "url".
func refused(name string, err error) error {
	msg := "the url is not a valid connection URL"
	var r *dbtarget.Refusal
	if errors.As(err, &r) {
		msg = r.Reason
	}
	return apierr.Wrap(apierr.BadRequest, err, "connection %q: %s", name, msg).
		WithDetail("problems", []apierr.Problem{{Path: "url", Message: msg}})
}

// checkURL validates engine and URL and returns the engine, inferred from
// the scheme when not given. Messages never echo the URL: it holds a secret.
func checkURL(engine, raw string) (string, error) {
	bad := func(format string, args ...any) error {
		return apierr.New(apierr.BadRequest, format, args...).
			WithDetail("problems", []apierr.Problem{{Path: "url", Message: fmt.Sprintf(format, args...)}})
	}
	if raw == "" {
		return "", bad("url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad("url is not a valid URL")
	}
	scheme := strings.ToLower(u.Scheme)
	var fromScheme string
	switch scheme {
	case "postgres", "postgresql":
		fromScheme = schema.EnginePostgres
	case "sqlite":
		fromScheme = schema.EngineSQLite
	default:
		return "", bad("url must start with postgres://, postgresql:// or sqlite://")
	}
	switch engine {
	case "":
		engine = fromScheme
	case schema.EnginePostgres, schema.EngineSQLite:
		if engine != fromScheme {
			return "", bad("url scheme %s:// does not match engine %s", scheme, engine)
		}
	default:
		return "", apierr.New(apierr.BadRequest, "engine %q is not supported: use postgres or sqlite", clip(engine)).
			WithDetail("problems", []apierr.Problem{{Path: "engine", Message: "must be postgres or sqlite"}})
	}
	if engine == schema.EngineSQLite && strings.TrimPrefix(raw, u.Scheme+"://") == "" {
		return "", bad("a sqlite url needs a file path: sqlite://./data.db")
	}
	if engine == schema.EnginePostgres && u.Host == "" && u.Query().Get("host") == "" {
		return "", bad("a postgres url needs a host: postgres://user:password@host:5432/db")
	}
	return engine, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func connectionOut(project, env string, c store.Connection) hubapi.Connection {
	return hubapi.Connection{Project: project, Env: env, Name: c.Name, Engine: c.Engine, URL: c.RedactedURL,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}
