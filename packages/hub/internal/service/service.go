// Package service is the Hub's domain layer: projects, envs, connections and
// schema snapshots, with the validation and error mapping of SPEC §2/§3. Every
// method takes the acting principal and asks the Authorizer first, so the
// HTTP handlers stay thin and tests can drive the Hub without HTTP.
package service

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/schema"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/introspect"
	"github.com/santokit/santokit/packages/hub/internal/logicexec"
	"github.com/santokit/santokit/packages/hub/internal/notify"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Databases reaches operators' databases: the introspect package in
// production; tests may substitute it to count calls, never to fake SQL.
type Databases interface {
	Tables(ctx context.Context, engine, url string) ([]schema.Table, error)
	Probe(ctx context.Context, engine, url string) (serverVersion string, err error)
	// Describe prepares logic statements without running them (SPEC §6).
	Describe(ctx context.Context, engine, url string, sqls []string) ([]introspect.Statement, error)
	// Run runs one logic statement (stk logic run).
	Run(ctx context.Context, st logicexec.Statement) (logicexec.Result, error)
}

// introspector opens only what the connection policy allows.
type introspector struct{ targets *dbtarget.Policy }

func (i introspector) Tables(ctx context.Context, engine, url string) ([]schema.Table, error) {
	return introspect.Tables(ctx, i.targets, engine, url)
}

func (i introspector) Describe(ctx context.Context, engine, url string, sqls []string) ([]introspect.Statement, error) {
	return introspect.Describe(ctx, i.targets, engine, url, sqls)
}

func (i introspector) Run(ctx context.Context, st logicexec.Statement) (logicexec.Result, error) {
	return logicexec.Run(ctx, i.targets, st)
}

func (i introspector) Probe(ctx context.Context, engine, url string) (string, error) {
	return introspect.Probe(ctx, i.targets, engine, url)
}

// Service is the Hub's domain logic over a store and a key ring.
type Service struct {
	store *store.Store
	ring  *secrets.Ring
	authz auth.Authorizer
	dbs   Databases
	// targets decides which databases connections may open (dbtarget);
	// checked when a URL is stored and again by dbs at every open.
	targets *dbtarget.Policy
	log     *slog.Logger
	changes *notify.Hub
	now     func() time.Time
	// dbTimeout bounds every call to an operator's database.
	dbTimeout time.Duration
	// keys sign and verify operator access tokens.
	keys *auth.Keys
	// logins limits failed logins per email and per client address.
	logins *auth.LoginLimiter
	// hashSlots bounds concurrent password hashes (see hashing).
	hashSlots chan struct{}
	// oauth is the login through identity providers (EnableOAuth).
	oauth oauthLogin
}

// New returns a Service. authz decides every call (auth.AllowAll while
// operator auth is disabled); targets, which databases connections may open.
func New(st *store.Store, ring *secrets.Ring, authz auth.Authorizer, targets *dbtarget.Policy, log *slog.Logger) *Service {
	now := func() time.Time {
		// The store keeps microseconds: answer with what later reads show.
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return &Service{store: st, ring: ring, authz: authz, dbs: introspector{targets}, targets: targets, log: log, changes: notify.New(),
		now: now, dbTimeout: 15 * time.Second, keys: auth.NewKeys(st, ring, now),
		logins:    auth.NewLoginLimiter(LoginFailuresPerMinute, time.Minute, now),
		hashSlots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// LoginFailuresPerMinute is how many failed logins an email or a client
// address may have per minute before logins answer 429 (SPEC §7.1).
const LoginFailuresPerMinute = 10

// Keys returns the access-token signing keys (JWKS, rotate-signing).
func (s *Service) Keys() *auth.Keys { return s.keys }

// Ready reports whether the store answers (GET /readyz).
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return apierr.Wrap(apierr.ServiceUnavailable, err, "the Hub store is unreachable")
	}
	return nil
}

// storeErr maps a store error to the §3 code; what names the missing or
// duplicate thing for the message.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(apierr.NotFound, err, "%s not found", what)
	case errors.Is(err, store.ErrConflict):
		return apierr.Wrap(apierr.Conflict, err, "%s already exists", what)
	default:
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
}
