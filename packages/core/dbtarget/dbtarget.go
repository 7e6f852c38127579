// Package dbtarget is the one rule, shared by the Hub and the Bridge, that
// decides which databases a connection URL may open (SPEC §12: STK_SQLITE_DIR,
// STK_ALLOW_LOCAL_SOCKETS, STK_DB_ALLOWED_HOSTS). Connection URLs come from
// project admins, who must not reach what the server process can reach by
// itself: the Hub's own store (an org takeover), its key files, local
// PostgreSQL sockets with peer or trust authentication, or hosts outside the
// network the operator allowed.
//
// A Policy resolves SQLite paths (absolute, cleaned, symlinks followed) and
// keeps them inside one directory, away from the files the process opens
// itself; it parses PostgreSQL URLs as pgx does and checks every host,
// fallbacks included, then guards the resolved addresses at dial time so
// that a DNS answer cannot move a connection outside the allowed networks.
//
// Unlike the rest of packages/core it touches the file system (stat,
// symlinks) and wraps pgx's dialer: both servers must run the very same
// check. packages/core/plan never imports it. Refusals never quote the URL:
// it may hold a password.
package dbtarget

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/schema"
)

// Config is what a server reads from its environment, plus the files it
// opens itself.
type Config struct {
	// SQLiteDir (STK_SQLITE_DIR) is the directory SQLite connection files
	// must resolve inside; empty refuses every SQLite connection.
	SQLiteDir string
	// AllowLocalSockets (STK_ALLOW_LOCAL_SOCKETS) allows PostgreSQL hosts
	// that are Unix sockets.
	AllowLocalSockets bool
	// AllowedHosts (STK_DB_ALLOWED_HOSTS) is a comma list of host names,
	// IP addresses and CIDRs; empty allows any TCP host.
	AllowedHosts string
	// Protected lists files the process opens itself (its store, key and
	// TLS files): never a SQLite connection, nor their -wal, -shm and
	// -journal companions.
	Protected []string
}

// ConfigFromEnv reads STK_SQLITE_DIR, STK_ALLOW_LOCAL_SOCKETS and
// STK_DB_ALLOWED_HOSTS through getenv. Protected is left to the caller.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{SQLiteDir: strings.TrimSpace(getenv("STK_SQLITE_DIR")), AllowedHosts: getenv("STK_DB_ALLOWED_HOSTS")}
	if s := strings.TrimSpace(getenv("STK_ALLOW_LOCAL_SOCKETS")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return c, fmt.Errorf("STK_ALLOW_LOCAL_SOCKETS %q: use true or false", s)
		}
		c.AllowLocalSockets = b
	}
	_, err := New(c)
	return c, err
}

// Policy decides whether a connection URL may be opened. The zero Policy,
// and a nil *Policy, refuse SQLite, refuse Unix sockets and allow any TCP
// host. A Policy is immutable and safe for concurrent use.
type Policy struct {
	sqliteDir    string // resolved; "" refuses SQLite
	localSockets bool
	// names and nets are STK_DB_ALLOWED_HOSTS; restricted is true when
	// it is set.
	restricted bool
	names      map[string]bool
	nets       []netip.Prefix
	protected  []string // absolute, symlinks resolved where they exist
	// lookup resolves host names (net.DefaultResolver.LookupHost; tests
	// replace it).
	lookup lookupFunc
}

// New checks c and returns its Policy: STK_SQLITE_DIR must be an existing
// directory, and every STK_DB_ALLOWED_HOSTS entry a host name, an address or
// a CIDR.
func New(c Config) (*Policy, error) {
	p := &Policy{localSockets: c.AllowLocalSockets}
	if c.SQLiteDir != "" {
		dir, err := resolveExisting(c.SQLiteDir)
		if err != nil {
			return nil, fmt.Errorf("STK_SQLITE_DIR %q: %w", c.SQLiteDir, errors.Unwrap(err))
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("STK_SQLITE_DIR %q is not a directory", c.SQLiteDir)
		}
		p.sqliteDir = dir
	}
	if err := p.parseAllowedHosts(c.AllowedHosts); err != nil {
		return nil, err
	}
	for _, f := range c.Protected {
		if f == "" {
			continue
		}
		p.protected = append(p.protected, resolveLoosely(f))
	}
	return p, nil
}

// MustNew is New for configurations known to be valid (tests, stk dev).
func MustNew(c Config) *Policy {
	p, err := New(c)
	if err != nil {
		panic(err)
	}
	return p
}

// SQLiteDir is the resolved STK_SQLITE_DIR, or "" when SQLite is refused.
func (p *Policy) SQLiteDir() string {
	if p == nil {
		return ""
	}
	return p.sqliteDir
}

// Refusal is a connection URL that the policy does not allow. Reason names
// the rule and, where the operator can change it, the variable that would
// allow it; never the URL.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

func refuse(format string, args ...any) *Refusal {
	return &Refusal{Reason: fmt.Sprintf(format, args...)}
}

// ErrInvalidURL: the URL does not parse as a connection URL of its engine,
// or carries a parameter outside PostgresURLKeys. The URL's text, which
// may hold a password, is never kept.
var ErrInvalidURL = errors.New("invalid connection URL")

// Check reports whether raw, a connection URL of engine ("postgres" or
// "sqlite"), may be opened: nil, a *Refusal, ErrInvalidURL, or an error
// naming an unsupported engine. Host names that only a CIDR of
// STK_DB_ALLOWED_HOSTS could allow are resolved now (Postgres leaves them
// to its dial-time guard, which checks them again at every connect).
func (p *Policy) Check(ctx context.Context, engine, raw string) error {
	if p == nil {
		p = &Policy{}
	}
	switch engine {
	case schema.EngineSQLite:
		_, err := p.SQLitePath(raw)
		return err
	case schema.EnginePostgres:
		_, err := p.checkPostgres(ctx, raw, true)
		return err
	default:
		return fmt.Errorf("unsupported engine %q", engine)
	}
}

// resolveExisting returns the absolute, cleaned path of an existing file
// with every symlink followed.
func resolveExisting(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// resolveLoosely resolves what exists of path: the file itself, else its
// directory (a store not created yet).
func resolveLoosely(path string) string {
	if r, err := resolveExisting(path); err == nil {
		return r
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}
