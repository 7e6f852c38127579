package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/tracing"
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
