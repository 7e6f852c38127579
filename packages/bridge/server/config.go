package server

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/bridge/internal/ratelimit"
	"github.com/santokit/santokit/packages/core/cors"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/duration"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/tracing"
)

// Config is the Bridge's configuration (SPEC §4.6, §8, §12). BridgeToken is
// secret and never logged.
type Config struct {
	Addr        string // STK_BRIDGE_ADDR
	HubURL      string // STK_HUB_URL
	BridgeToken string // STK_BRIDGE_TOKEN
	// BundleMaxStale: how long a cached bundle is served while the Hub is
	// unreachable (STK_BUNDLE_MAX_STALE).
	BundleMaxStale   time.Duration
	DBMaxConns       int           // STK_DB_MAX_CONNS
	StatementTimeout time.Duration // STK_STATEMENT_TIMEOUT
	MaxBodyBytes     int64         // STK_MAX_BODY_BYTES
	MaxLimit         int           // STK_MAX_LIMIT
	MaxBatch         int           // STK_MAX_BATCH
	MaxAffected      int           // STK_MAX_AFFECTED
	// RateLimit is STK_RATE_LIMIT, the budget of each verified API key
	// and end user on this Bridge (RateLimitOn false: no limit).
	RateLimit   ratelimit.Rule
	RateLimitOn bool
	// OTLPEndpoint is OTEL_EXPORTER_OTLP_ENDPOINT: spans are exported
	// there over OTLP/HTTP; "" turns tracing off (decision 0032).
	OTLPEndpoint string
	LogLevel     slog.Level // STK_LOG_LEVEL
	// AuthDisabled (STK_DISABLE_AUTH) skips credential checks and
	// authorization: the hint headers select the env (dev only).
	AuthDisabled bool
	// AllowInsecureHub (STK_ALLOW_INSECURE_HUB) accepts a plain-HTTP Hub
	// that is not on loopback: bundles carry database URLs.
	AllowInsecureHub bool
	TLSCert, TLSKey  string // STK_TLS_CERT, STK_TLS_KEY
	Version          string
	// CORSOrigins (STK_CORS_ORIGINS, SPEC §4.6, decision 0029) are the
	// exact origins browser pages may call /call from, or "*" alone;
	// empty: CORS off, no CORS header on any response.
	CORSOrigins []string
	// DBTargets decides which databases pools may open (STK_SQLITE_DIR,
	// STK_ALLOW_LOCAL_SOCKETS, STK_DB_ALLOWED_HOSTS; SPEC §12), the rule
	// the Hub applies, again at open: defence in depth. New adds the TLS
	// files to its Protected list; `stk dev` adds the Hub's files.
	DBTargets dbtarget.Config
	// Limits are the connection bounds (STK_READ_TIMEOUT,
	// STK_MAX_CONNECTIONS); zero values take httpserve's defaults.
	httpserve.Limits

	// Not read from the environment; zero values take defaults. Tests and
	// `stk dev` set them.

	// PollWait is the long poll's wait (30s; capped at BundleMaxStale/3).
	PollWait time.Duration
	// IdleTimeout: an env unused this long is no longer polled and its
	// pools are closed (15m).
	IdleTimeout time.Duration
	// HubClient makes the Hub requests (a client with no overall timeout:
	// long polls set their own deadlines).
	HubClient *http.Client
	// LookupRate and LookupBurst budget the Hub lookups of envs and API
	// key ids this Bridge has not seen (100/s, bursts of 200; see
	// bundles.Config).
	LookupRate  float64
	LookupBurst int
	// UsageInterval is how often API key usage is reported to the Hub
	// (1m: a key's lastUsedAt is at most about a minute behind).
	UsageInterval time.Duration
}

// Defaults of SPEC §4.6, §8 and §12.
const (
	DefaultAddr             = "127.0.0.1:3000"
	DefaultHubURL           = "http://127.0.0.1:4000"
	DefaultBundleMaxStale   = 10 * time.Minute
	DefaultDBMaxConns       = 10
	DefaultStatementTimeout = 5 * time.Second
	// MaxStatementTimeout is PostgreSQL's largest statement_timeout
	// (2147483647 ms, about 24.8 days).
	MaxStatementTimeout = math.MaxInt32 * time.Millisecond
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxLimit     = 1000
	DefaultMaxBatch     = 1000
	DefaultMaxAffected  = 10000
)

// DefaultConfig is the configuration with every default and no token.
func DefaultConfig() Config {
	return Config{Addr: DefaultAddr, HubURL: DefaultHubURL, BundleMaxStale: DefaultBundleMaxStale,
		DBMaxConns: DefaultDBMaxConns, StatementTimeout: DefaultStatementTimeout, MaxBodyBytes: DefaultMaxBodyBytes,
		MaxLimit: DefaultMaxLimit, MaxBatch: DefaultMaxBatch, MaxAffected: DefaultMaxAffected, LogLevel: slog.LevelInfo,
		Limits: httpserve.Limits{}.Effective()}
}

// ConfigFromEnv reads the STK_* variables through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	c.Addr = orDefault(getenv("STK_BRIDGE_ADDR"), c.Addr)
	c.HubURL = orDefault(getenv("STK_HUB_URL"), c.HubURL)
	c.BridgeToken = strings.TrimSpace(getenv("STK_BRIDGE_TOKEN"))
	c.TLSCert, c.TLSKey = getenv("STK_TLS_CERT"), getenv("STK_TLS_KEY")
	var errs []error
	dur := func(name string, into *time.Duration) {
		if s := getenv(name); s != "" {
			d, err := duration.Parse(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*into = d
		}
	}
	num := func(name string, into *int) {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s %q: want a positive whole number", name, s))
				return
			}
			*into = n
		}
	}
	flag := func(name string, into *bool) {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: use true or false", name, s))
				return
			}
			*into = b
		}
	}
	dur("STK_BUNDLE_MAX_STALE", &c.BundleMaxStale)
	dur("STK_STATEMENT_TIMEOUT", &c.StatementTimeout)
	num("STK_DB_MAX_CONNS", &c.DBMaxConns)
	body := int(c.MaxBodyBytes)
	num("STK_MAX_BODY_BYTES", &body)
	c.MaxBodyBytes = int64(body)
	num("STK_MAX_LIMIT", &c.MaxLimit)
	num("STK_MAX_BATCH", &c.MaxBatch)
	num("STK_MAX_AFFECTED", &c.MaxAffected)
	flag("STK_DISABLE_AUTH", &c.AuthDisabled)
	c.OTLPEndpoint = strings.TrimSpace(getenv(tracing.EndpointVariable))
	if err := tracing.CheckEndpoint(c.OTLPEndpoint); err != nil {
		errs = append(errs, err)
	}
	if rl, on, err := ratelimit.Parse(getenv("STK_RATE_LIMIT")); err != nil {
		errs = append(errs, fmt.Errorf("STK_RATE_LIMIT %w", err))
	} else {
		c.RateLimit, c.RateLimitOn = rl, on
	}
	flag("STK_ALLOW_INSECURE_HUB", &c.AllowInsecureHub)
	if s := getenv("STK_CORS_ORIGINS"); s != "" {
		if p, err := cors.Parse(s); err != nil {
			errs = append(errs, err)
		} else {
			c.CORSOrigins = p.Origins()
		}
	}
	if t, err := dbtarget.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else {
		c.DBTargets = t
	}
	if s := getenv("STK_LOG_LEVEL"); s != "" {
		if err := c.LogLevel.UnmarshalText([]byte(s)); err != nil {
			errs = append(errs, fmt.Errorf("STK_LOG_LEVEL %q: use debug, info, warn or error", s))
		}
	}
	limits, err := httpserve.LimitsFromEnv(getenv)
	c.Limits = limits
	if err := errors.Join(append(errs, err)...); err != nil {
		return c, err
	}
	return c, nil
}

// Check reports what keeps the configuration from starting a Bridge.
func (c Config) Check() error {
	if c.BridgeToken == "" {
		return errors.New("STK_BRIDGE_TOKEN is required: the Bridge authenticates to the Hub with it " +
			"(one of the Hub's STK_BRIDGE_TOKENS)")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("set both STK_TLS_CERT and STK_TLS_KEY, or neither")
	}
	if c.BundleMaxStale <= 0 || c.StatementTimeout <= 0 || c.DBMaxConns <= 0 || c.MaxBodyBytes <= 0 ||
		c.MaxLimit <= 0 || c.MaxBatch <= 0 || c.MaxAffected <= 0 {
		return errors.New("limits must be positive (start from server.DefaultConfig())")
	}
	if c.StatementTimeout > MaxStatementTimeout {
		// PostgreSQL's statement_timeout is an int32 of milliseconds: a
		// larger one would fail every connection, not the start-up.
		return fmt.Errorf("STK_STATEMENT_TIMEOUT %s is over PostgreSQL's limit of %s", c.StatementTimeout, MaxStatementTimeout)
	}
	if _, err := cors.Parse(strings.Join(c.CORSOrigins, ",")); err != nil {
		return err
	}
	for _, u := range strings.Split(c.HubURL, ",") {
		if err := checkHubURL(strings.TrimSpace(u), c.AllowInsecureHub); err != nil {
			return err
		}
	}
	return nil
}

// checkHubURL refuses a plain-HTTP Hub off loopback: bundles carry
// decrypted database URLs (SPEC §8.1).
func checkHubURL(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("STK_HUB_URL %q: want http(s)://host[:port]", redactURL(raw))
	}
	if u.User != nil {
		return errors.New("STK_HUB_URL must not carry credentials: the Bridge presents STK_BRIDGE_TOKEN")
	}
	if u.Scheme == "https" || allowInsecure || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("STK_HUB_URL %s is plain HTTP and not on loopback: bundles carry database credentials, "+
		"so use https:// (the Hub serves TLS with STK_TLS_CERT/STK_TLS_KEY), or set STK_ALLOW_INSECURE_HUB=true on a trusted network", u.Redacted())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}
