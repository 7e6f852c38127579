// Package devstack is `stk dev` (SPEC §14): one process that runs an
// embedded Hub (operator auth off) and an embedded Bridge (data-plane auth
// on) on local defaults kept in <dir>/.santokit/, sets up project dev / env
// dev through the Hub's own HTTP API (the same calls `stk` makes), and, with
// Watch, reacts to changes of the project's files (schema.sql, config/,
// logics/). It also writes the `stk init` layout. It knows nothing of
// terminals: the command layer prints what Run reports through the Options
// callbacks.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

// Names of what stk dev sets up in the Hub.
const (
	Project    = "dev"
	Env        = "dev"
	Connection = "main"
	KeyName    = "dev"
	ReleaseRef = "dev"
)

// Default listen addresses (SPEC §12).
const (
	DefaultHubAddr    = "127.0.0.1:4000"
	DefaultBridgeAddr = "127.0.0.1:3000"
)

// DefaultPollInterval is how often Watch looks at the project's files.
const DefaultPollInterval = 500 * time.Millisecond

// Options configures Run.
type Options struct {
	// Dir is the project directory (or any directory): state goes to
	// Dir/.santokit, and Dir/config/permissions.yaml makes it a project.
	Dir string
	// DatabaseURL is --db: a postgres:// (or sqlite://) URL of the data
	// database; empty means Dir/.santokit/data.db.
	DatabaseURL string
	// Watch reacts to changes of the project's files: schema.sql, config/
	// and logics/.
	Watch bool
	// HubAddr and BridgeAddr are listen addresses; port 0 picks a free one.
	HubAddr    string
	BridgeAddr string
	// IssuerAddr is the dev OIDC issuer's loopback address (default
	// DefaultIssuerAddr); its URL is what config/auth.yaml trusts.
	IssuerAddr string
	// Web is --web: a directory of static files served on WebAddr
	// (loopback; default DefaultWebAddr), whose origin the Bridge and the
	// dev token endpoint allow (CORS).
	Web     string
	WebAddr string
	// Version is reported by the embedded Hub.
	Version string
	// Getenv reads the environment: STK_LOG_LEVEL and the Bridge's limits
	// (SPEC §4.6) pass through; nil means os.Getenv.
	Getenv func(string) string
	// PollInterval overrides DefaultPollInterval (tests).
	PollInterval time.Duration

	// Ready is called once, when both servers answer and the first release
	// is served.
	Ready func(Info)
	// Applied is called after each apply made by Watch, and for a first
	// apply that failed while Watch is on (the stack then keeps running).
	Applied func(Apply)
	// Notice receives one-line remarks (things left out, fallbacks).
	Notice func(string)

	// newBridge replaces the embedded Bridge (tests).
	newBridge bridgeFactory
}

// Info is what stk dev prints once ready.
type Info struct {
	HubURL    string `json:"hubUrl"`
	BridgeURL string `json:"bridgeUrl"`
	APIKey    string `json:"apiKey"`
	Curl      string `json:"curl"`
	// IssuerURL is the dev OIDC issuer's; EndUserCurl calls the Bridge with
	// a token it signed for DevUser, when some table lets an authenticated
	// end user select (else empty).
	IssuerURL   string `json:"issuerUrl"`
	EndUserCurl string `json:"endUserCurl,omitempty"`
	// TokenURL is the dev issuer's token endpoint (POST {"sub": …}).
	TokenURL string `json:"tokenUrl"`
	// WebURL is where --web serves its directory ("" without --web).
	WebURL string `json:"webUrl,omitempty"`
	// EndUserPath is the path EndUserCurl selects from.
	EndUserPath string `json:"-"`

	KeyID   string   `json:"-"`
	Roles   []string `json:"-"`
	Project string   `json:"-"`
	Env     string   `json:"-"`
	// StateDir is Dir/.santokit; LogFile the servers' JSON log in it.
	StateDir string `json:"-"`
	LogFile  string `json:"-"`
	// Database describes the data database without secrets.
	Database string `json:"-"`
	// Seeded reports that this run created the data database.
	Seeded bool `json:"-"`
	// PermissionsFile is the project's permissions file, or "" when the
	// embedded todo example is served.
	PermissionsFile string `json:"-"`
	// Release is the release being served (zero when the first apply failed).
	Release hubapi.Release `json:"-"`
	// Watching reports whether the project's files are watched.
	Watching bool `json:"-"`
	// CallPath and CallBody are the request of Curl.
	CallPath string `json:"-"`
	CallBody string `json:"-"`
	// Tables are the tables of connection main found by the snapshot,
	// sorted.
	Tables []string `json:"-"`
}

// Apply is the outcome of one apply of the permissions file, or of a
// rebuild of the data database from schema.sql that failed.
type Apply struct {
	// File is the permissions file (or schema.sql) as shown to the user.
	File string
	// Rebuilt is the data database, when schema.sql rebuilt it first.
	Rebuilt string
	// Release is the release made; zero when Err is set.
	Release     hubapi.Release
	Permissions hubapi.Permissions
	// Err is the failure: a *hubclient.Error carries the Hub's validation
	// problems (details.problems[]); a *SchemaError is a schema.sql that
	// did not run.
	Err error
}

// UsageError is a bad option: the command maps it to exit code 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ApplyError is a failed apply of the permissions file File.
type ApplyError struct {
	File string
	Err  error
}

func (e *ApplyError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }

// dataPlane is the part of the Bridge's server that Run uses.
type dataPlane interface {
	Serve(ctx context.Context, l net.Listener) error
	Close() error
}

// bridgeFactory builds a Bridge from STK_* values read through getenv.
type bridgeFactory func(ctx context.Context, getenv func(string) string, log *slog.Logger) (dataPlane, error)

// Run starts the stack and serves until ctx ends, then shuts both servers
// down. It returns nil after a clean shutdown.
func Run(ctx context.Context, o Options) error {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HubAddr == "" {
		o.HubAddr = DefaultHubAddr
	}
	if o.BridgeAddr == "" {
		o.BridgeAddr = DefaultBridgeAddr
	}
	if o.IssuerAddr == "" {
		o.IssuerAddr = DefaultIssuerAddr
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Notice == nil {
		o.Notice = func(string) {}
	}
	if o.Ready == nil {
		o.Ready = func(Info) {}
	}
	if o.Applied == nil {
		o.Applied = func(Apply) {}
	}
	if o.WebAddr == "" {
		o.WebAddr = DefaultWebAddr
	}
	if err := checkDBURL(o.DatabaseURL); err != nil {
		return err
	}
	var webRoot *os.Root
	if o.Web != "" {
		if err := checkWebDir(o.Web); err != nil {
			return err
		}
		root, err := os.OpenRoot(o.Web)
		if err != nil {
			return usagef("--web %s: %v", o.Web, unwrapPath(err))
		}
		defer root.Close()
		webRoot = root
	}
	level, err := hubserver.ParseLevel(o.Getenv("STK_LOG_LEVEL"))
	if err != nil {
		return usagef("%v", err)
	}

	proj, err := loadProject(o.Dir, o.DatabaseURL != "")
	if err != nil {
		return err
	}
	st, err := openState(proj.dir)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(st.path(logFileName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the log file: %w", err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: level}))

	dbURL, seeded, err := st.dataDatabase(ctx, o.DatabaseURL, proj)
	if err != nil {
		return err
	}

	hl, err := listen("--hub-addr", o.HubAddr)
	if err != nil {
		return err
	}
	bl, err := listen("--bridge-addr", o.BridgeAddr)
	if err != nil {
		_ = hl.Close()
		return err
	}
	hubURL, bridgeURL := baseURL(hl.Addr()), baseURL(bl.Addr())
	il, err := listen("--issuer-addr", o.IssuerAddr)
	if err != nil {
		_, _ = hl.Close(), bl.Close()
		return err
	}
	var wl net.Listener
	webURL := ""
	if webRoot != nil {
		if wl, err = listenLoopback("--web-addr", o.WebAddr); err != nil {
			_, _, _ = hl.Close(), bl.Close(), il.Close()
			return err
		}
		webURL = baseURL(wl.Addr())
	}
	closeWeb := func() {
		if wl != nil {
			_ = wl.Close()
		}
	}
	corsPolicy, err := corsOrigins(webURL, o.Getenv("STK_CORS_ORIGINS"))
	if err != nil {
		_, _, _ = hl.Close(), bl.Close(), il.Close()
		closeWeb()
		return usagef("%v", err)
	}
	tokenPolicy, _ := tokenOrigins(webURL, o.Getenv("STK_CORS_ORIGINS")) // a subset of corsPolicy's: checked above
	issuer, err := st.startIssuer(il, tokenRoutes(tokenPolicy))
	if err != nil {
		_, _, _ = hl.Close(), bl.Close(), il.Close()
		closeWeb()
		return err
	}
	defer func() { _ = issuer.Close() }()

	targets, err := st.dbTargets(o.Getenv, dbURL)
	if err != nil {
		_, _ = hl.Close(), bl.Close()
		closeWeb()
		return usagef("%v", err)
	}
	hub, err := hubserver.New(ctx, hubserver.Config{
		Addr:         hl.Addr().String(),
		DatabaseURL:  "sqlite://" + st.path(hubStoreName),
		MasterKeys:   st.masterKeys,
		AuthDisabled: true,
		LogLevel:     level,
		Version:      o.Version,
		BridgeTokens: []string{st.bridgeToken},
		DBTargets:    targets,
	}, logger.With("component", "hub"))
	if err != nil {
		_, _ = hl.Close(), bl.Close()
		closeWeb()
		return fmt.Errorf("start the Hub: %w", err)
	}
	s := &stack{o: o, proj: proj, st: st, log: logger, hubURL: hubURL, bridgeURL: bridgeURL, webURL: webURL, issuer: issuer, fatal: make(chan struct{})}
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	hubDone := s.serve(hubCtx, "Hub", hub.Serve, hl)
	defer func() { _ = hub.Close() }()

	bridgeEnv := map[string]string{
		"STK_HUB_URL":            hubURL,
		"STK_BRIDGE_TOKEN":       st.bridgeToken,
		"STK_BRIDGE_ADDR":        bl.Addr().String(),
		"STK_DISABLE_AUTH":       "false",
		"STK_TLS_CERT":           "",
		"STK_TLS_KEY":            "",
		"STK_ALLOW_INSECURE_HUB": "",
		"STK_SQLITE_DIR":         targets.SQLiteDir,
		"STK_CORS_ORIGINS":       strings.Join(corsPolicy.Origins(), ","),
	}
	newBridge := o.newBridge
	if newBridge == nil {
		newBridge = embeddedBridge(targets.Protected)
	}
	bridge, err := newBridge(ctx, func(k string) string {
		if v, ok := bridgeEnv[k]; ok {
			return v
		}
		return o.Getenv(k)
	}, logger.With("component", "bridge"))
	if err != nil {
		_ = bl.Close()
		closeWeb()
		stopHub()
		<-hubDone
		return fmt.Errorf("start the Bridge: %w", err)
	}
	bridgeCtx, stopBridge := context.WithCancel(context.WithoutCancel(ctx))
	bridgeDone := s.serve(bridgeCtx, "Bridge", bridge.Serve, bl)
	if wl != nil {
		web := webHandler(webRoot, WebConfig{BridgeURL: bridgeURL, Project: Project, Env: Env,
			TokenURL: issuer.URL() + TokenPath, IssuerURL: issuer.URL()})
		webDone := s.serve(bridgeCtx, "web server", func(ctx context.Context, l net.Listener) error {
			return httpserve.Serve(ctx, l, web, httpserve.Options{Log: logger.With("component", "web"), Grace: 2 * time.Second})
		}, wl)
		defer func() { <-webDone }()
	}

	// Shut down in order: the Bridge first (its long polls to the Hub end
	// with it), then the Hub.
	shutdown := func() {
		stopBridge()
		<-bridgeDone
		_ = bridge.Close()
		stopHub()
		<-hubDone
	}
	defer shutdown()

	runErr := s.run(ctx, dbURL, seeded)
	if errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
		runErr = nil
	}
	if runErr == nil {
		runErr = s.failed()
	}
	return runErr
}

// stack is one running Run.
type stack struct {
	o         Options
	proj      *project
	st        *state
	log       *slog.Logger
	hubURL    string
	bridgeURL string
	webURL    string
	issuer    *devissuer.Issuer
	client    *hubclient.Client

	mu      sync.Mutex
	serveEr error
	// fatal is closed when a server stopped on its own.
	fatal     chan struct{}
	fatalOnce sync.Once
}

// serve runs a server's Serve in the background. A server that stops
// before its context ends is fatal: Run returns its error.
func (s *stack) serve(ctx context.Context, name string, serve func(context.Context, net.Listener) error, l net.Listener) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := serve(ctx, l)
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Warn("shutdown", "server", name, "error", err.Error())
			}
			return
		}
		if err == nil {
			err = errors.New("stopped")
		}
		s.mu.Lock()
		if s.serveEr == nil {
			s.serveEr = fmt.Errorf("the %s stopped: %w", name, err)
		}
		s.mu.Unlock()
		s.fatalOnce.Do(func() { close(s.fatal) })
	}()
	return done
}

func (s *stack) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveEr
}

// run sets the env up, reports Ready, watches, and waits for the end.
func (s *stack) run(ctx context.Context, dbURL string, seeded bool) error {
	c, err := hubclient.New(s.hubURL, hubclient.WithUserAgent("stk-dev/"+s.o.Version))
	if err != nil {
		return err
	}
	s.client = c
	// A failing server ends setup early rather than after a timeout.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.fatal:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The watch's baseline is what the files held when setup read them:
	// a save made while setup runs (or right after Ready) is then a
	// change, not part of the baseline.
	watching := s.o.Watch && s.proj.permissionsPath != ""
	var baseline snapshotFiles
	if watching {
		baseline = s.proj.scan()
	}
	info, src, err := s.setup(ctx, dbURL, seeded)
	if err != nil {
		if e := s.failed(); e != nil {
			return e
		}
		return err
	}
	if err := s.waitBridge(ctx); err != nil {
		if e := s.failed(); e != nil {
			return e
		}
		return err
	}
	s.o.Ready(info)
	if watching {
		// What setup applied is the permissions baseline, even if the
		// file changed since.
		baseline[PermissionsPath] = src
		s.watch(ctx, baseline, info.Roles)
	} else {
		<-ctx.Done()
	}
	if e := s.failed(); e != nil {
		return e
	}
	return nil
}

// waitBridge waits until the Bridge answers /healthz.
func (s *stack) waitBridge(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.bridgeURL+"/healthz", nil)
		if err != nil {
			return err
		}
		res, err := hc.Do(req)
		if err == nil {
			res.Body.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Bridge at %s does not answer", s.bridgeURL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// listen opens a TCP listener; its errors name the flag. An address in use
// is an *httpserve.AddrInUseError, which the command reports as CONFLICT.
func listen(flag, addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usagef("%s %q: want host:port, e.g. 127.0.0.1:4000", flag, addr)
	}
	return httpserve.Listen(addr, flag)
}

// baseURL is the http URL of a listener, with an unspecified host (0.0.0.0,
// ::) replaced by loopback, since that is where this machine reaches it.
func baseURL(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	ip := ta.IP
	if ip == nil || ip.IsUnspecified() {
		if ip != nil && ip.To4() == nil {
			ip = net.IPv6loopback
		} else {
			ip = net.IPv4(127, 0, 0, 1)
		}
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(ip.String(), fmt.Sprint(ta.Port))}).String()
}

// checkDBURL accepts an empty --db, a postgres URL or a sqlite path URL.
func checkDBURL(raw string) error {
	if raw == "" {
		return nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			if _, err := url.Parse(raw); err != nil {
				return usagef("--db: not a valid URL")
			}
			return nil
		case "sqlite":
			if rest == "" {
				return usagef("--db: a sqlite URL needs a file path: sqlite://./app.db")
			}
			return nil
		}
	}
	return usagef("--db: want a PostgreSQL URL, postgres://user:password@host:5432/db (or sqlite://path)")
}

// absSQLiteURL makes a sqlite:// URL's path absolute, since the Hub and the
// Bridge resolve it against their own working directory.
func absSQLiteURL(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return raw, nil
	}
	abs, err := filepath.Abs(rest)
	if err != nil {
		return "", err
	}
	return "sqlite://" + abs, nil
}
