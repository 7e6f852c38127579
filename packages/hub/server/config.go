package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/tracing"
	"github.com/santokit/santokit/packages/hub/internal/oauth"
)

// Config is the Hub's configuration (SPEC §12). MasterKeys is secret and
// is never logged.
type Config struct {
	Addr         string
	DatabaseURL  string
	MasterKeys   string
	AuthDisabled bool
	LogLevel     slog.Level
	TLSCert      string
	TLSKey       string
	Version      string
	// BridgeTokens (STK_BRIDGE_TOKENS, comma-separated for rotation) are
	// secret and never logged.
	BridgeTokens []string
	// BootstrapEmail and BootstrapPassword (STK_BOOTSTRAP_ADMIN_EMAIL,
	// STK_BOOTSTRAP_ADMIN_PASSWORD) create the first org owner when the
	// store has no user (SPEC §7.1). The password is never logged.
	BootstrapEmail    string
	BootstrapPassword string
	// DBTargets decides which databases connections may open
	// (STK_SQLITE_DIR, STK_ALLOW_LOCAL_SOCKETS, STK_DB_ALLOWED_HOSTS; SPEC
	// §12). New adds the store and TLS files to its Protected list.
	DBTargets dbtarget.Config
	// OAuth are the identity providers operators log in with
	// (STK_OAUTH_PROVIDERS, STK_OAUTH_<NAME>_*; SPEC §7.1, decision 0026).
	// Their client secrets are never logged.
	OAuth []oauth.Config
	// PublicURL (STK_HUB_PUBLIC_URL) is the Hub's external base URL: the
	// providers' callback and the device page are under it. Empty: from
	// Addr, when it is loopback (see PublicBase).
	PublicURL string
	// DeviceInterval (STK_OAUTH_DEVICE_INTERVAL) and DeviceTTL
	// (STK_OAUTH_DEVICE_TTL) are the device flow's poll interval and
	// code lifetime; zero: the defaults (5s, 10m).
	DeviceInterval time.Duration
	DeviceTTL      time.Duration
	// Limits are the connection bounds (STK_READ_TIMEOUT,
	// STK_MAX_CONNECTIONS); zero values take httpserve's defaults.
	httpserve.Limits
	// OTLPEndpoint is OTEL_EXPORTER_OTLP_ENDPOINT: spans are exported
	// there over OTLP/HTTP; "" turns tracing off (decision 0032).
	OTLPEndpoint string
}

// ConfigFromEnv reads the STK_* variables of SPEC §12 through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:        orDefault(getenv("STK_HUB_ADDR"), "127.0.0.1:4000"),
		DatabaseURL: orDefault(getenv("STK_HUB_DATABASE_URL"), "sqlite://./santokit-hub.db"),
		MasterKeys:  getenv("STK_MASTER_KEYS"),
		TLSCert:     getenv("STK_TLS_CERT"),
		TLSKey:      getenv("STK_TLS_KEY"),

		BootstrapEmail:    getenv("STK_BOOTSTRAP_ADMIN_EMAIL"),
		BootstrapPassword: getenv("STK_BOOTSTRAP_ADMIN_PASSWORD"),
	}
	for _, t := range strings.Split(getenv("STK_BRIDGE_TOKENS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.BridgeTokens = append(c.BridgeTokens, t)
		}
	}
	var err error
	if c.DBTargets, err = dbtarget.ConfigFromEnv(getenv); err != nil {
		return c, err
	}
	if c.Limits, err = httpserve.LimitsFromEnv(getenv); err != nil {
		return c, err
	}
	if c.AuthDisabled, err = parseBool("STK_DISABLE_AUTH", getenv("STK_DISABLE_AUTH")); err != nil {
		return c, err
	}
	if c.LogLevel, err = ParseLevel(getenv("STK_LOG_LEVEL")); err != nil {
		return c, err
	}
	if c.OAuth, err = oauth.ConfigFromEnv(getenv); err != nil {
		return c, err
	}
	if c.PublicURL, err = publicURL(getenv("STK_HUB_PUBLIC_URL")); err != nil {
		return c, err
	}
	if c.DeviceInterval, err = seconds("STK_OAUTH_DEVICE_INTERVAL", getenv("STK_OAUTH_DEVICE_INTERVAL"), time.Second); err != nil {
		return c, err
	}
	if c.DeviceTTL, err = seconds("STK_OAUTH_DEVICE_TTL", getenv("STK_OAUTH_DEVICE_TTL"), time.Second); err != nil {
		return c, err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, errors.New("set both STK_TLS_CERT and STK_TLS_KEY, or neither")
	}
	c.OTLPEndpoint = strings.TrimSpace(getenv(tracing.EndpointVariable))
	if err := tracing.CheckEndpoint(c.OTLPEndpoint); err != nil {
		return c, err
	}
	return c, nil
}

// Check reports what keeps the configuration from starting a Hub.
func (c Config) Check() error {
	if strings.TrimSpace(c.MasterKeys) == "" {
		return errors.New("STK_MASTER_KEYS is required: set it to v1:<base64 of 32 random bytes> " +
			"(for example `echo v1:$(openssl rand -base64 32)`)")
	}
	return nil
}

// PublicBase is the Hub's external base URL: PublicURL, else
// http(s)://Addr when Addr is a loopback address. With providers
// configured and neither, the Hub does not start (the error names
// STK_HUB_PUBLIC_URL): a provider must be told where to send users back.
func (c Config) PublicBase() (string, error) {
	if c.PublicURL != "" {
		return c.PublicURL, nil
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err == nil && oauth.IsLoopbackHost(host) {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		return scheme + "://" + c.Addr, nil
	}
	if len(c.OAuth) == 0 {
		return "", nil
	}
	return "", errors.New("STK_HUB_PUBLIC_URL is required when STK_OAUTH_PROVIDERS is set and STK_HUB_ADDR is not a loopback " +
		"address: set it to the URL users reach this Hub at (e.g. https://hub.example.com)")
}

// publicURL checks STK_HUB_PUBLIC_URL: an absolute http(s) URL without
// user info, query or fragment; a trailing slash is dropped.
func publicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("STK_HUB_PUBLIC_URL must be an absolute http:// or https:// URL with no user info, query or fragment (e.g. https://hub.example.com)")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// seconds reads a Go duration of whole seconds, at least min.
func seconds(name, s string, min time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < min || d%time.Second != 0 {
		return 0, fmt.Errorf("%s %q: use a duration of whole seconds, at least %s (e.g. 5s, 10m)", name, s, min)
	}
	return d, nil
}

// ParseLevel reads STK_LOG_LEVEL (debug, info, warn, error; default info).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("STK_LOG_LEVEL %q: use debug, info, warn or error", s)
	}
	return l, nil
}

func parseBool(name, s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s %q: use true or false", name, s)
	}
	return b, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
