package dbtarget

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresURLKeys lists the parameters a postgres:// connection URL may
// carry. Connection URLs come from project admins, so keys that make pgx
// read files of the server's host (passfile, service, servicefile,
// sslcert, sslkey, sslrootcert) or set arbitrary server parameters are
// refused as ErrInvalidURL.
func PostgresURLKeys() []string {
	return []string{"host", "port", "user", "password", "dbname", "sslmode", "sslnegotiation",
		"sslsni", "connect_timeout", "application_name", "target_session_attrs"}
}

type lookupFunc func(ctx context.Context, host string) ([]string, error)

// Postgres parses raw, a postgres:// URL, as pgx does (several hosts,
// PG* defaults from the environment such as PGHOST for a URL without one) with only
// PostgresURLKeys, checks every host it would try, fallbacks included, and
// returns the config with a lookup and a dialer that enforce
// STK_DB_ALLOWED_HOSTS and STK_ALLOW_LOCAL_SOCKETS on the addresses
// actually dialed. The password is only the URL's own: never the server's
// PGPASSWORD or ~/.pgpass, which pgx would otherwise send to whatever host
// the URL names. Errors are ErrInvalidURL or a *Refusal, also at dial time
// (wrapped by pgx).
func (p *Policy) Postgres(ctx context.Context, raw string) (*pgx.ConnConfig, error) {
	if p == nil {
		p = &Policy{}
	}
	cfg, err := p.checkPostgres(ctx, raw, false)
	if err != nil {
		return nil, err
	}
	p.guard(&cfg.Config)
	return cfg, nil
}

// checkPostgres parses raw and checks its hosts before anything else, so
// that a socket written in a form only pgx reads (%2Fpath, [/path]) gets
// the socket refusal rather than "invalid URL". With resolve, host names
// that only a CIDR could allow are looked up now; without, the dial-time
// guard does it (no DNS under a caller's lock).
func (p *Policy) checkPostgres(ctx context.Context, raw string, resolve bool) (*pgx.ConnConfig, error) {
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "postgres://") && !strings.HasPrefix(lower, "postgresql://") {
		return nil, ErrInvalidURL
	}
	cfg, err := pgx.ParseConfigWithOptions(raw, pgx.ParseConfigOptions{
		ParseConfigOptions: pgconn.ParseConfigOptions{ConnStringAllowedKeys: PostgresURLKeys()},
	})
	if err != nil {
		// No cause: pgconn redacts parse errors only on a best-effort basis.
		return nil, ErrInvalidURL
	}
	if err := p.checkHosts(ctx, &cfg.Config, resolve); err != nil {
		return nil, err
	}
	// The password is the user info's or the password parameter's, never
	// the server's PGPASSWORD or ~/.pgpass.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, ErrInvalidURL // a *url.Error would quote the URL
	}
	password, _ := u.User.Password()
	if q := u.Query().Get("password"); q != "" {
		password = q
	}
	cfg.Password = password
	return cfg, nil
}

// isSocket reports whether pgx reaches host over a Unix socket.
func isSocket(host string, port uint16) bool {
	network, _ := pgconn.NetworkAddress(host, port)
	return network == "unix"
}

// checkHosts checks every host pgx would try; names that only a CIDR
// could allow are resolved when resolve is set.
func (p *Policy) checkHosts(ctx context.Context, cfg *pgconn.Config, resolve bool) error {
	hosts := []*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port}}
	hosts = append(hosts, cfg.Fallbacks...)
	for _, h := range hosts {
		if isSocket(h.Host, h.Port) {
			if !p.localSockets {
				return refuse("a postgres url must name a TCP host: this one names none, or a Unix socket (host=/path), which is refused unless STK_ALLOW_LOCAL_SOCKETS=true")
			}
			continue
		}
		if !p.restricted || p.names[canonicalHost(h.Host)] {
			continue
		}
		if _, err := netip.ParseAddr(strings.Trim(h.Host, "[]")); err != nil && !resolve && len(p.nets) > 0 {
			continue // a name: the guard's lookup checks its addresses
		}
		if _, err := p.allowedAddrs(ctx, h.Host); err != nil {
			return err
		}
	}
	return nil
}

// notAllowed is the one refusal for a host outside STK_DB_ALLOWED_HOSTS,
// whatever the reason (not listed, resolving elsewhere, not resolving), so
// that it tells nothing about the host.
func notAllowed() *Refusal {
	return refuse("a postgres host of this url is not in STK_DB_ALLOWED_HOSTS")
}

// allowedAddrs resolves a host that is not allowed by name and returns its
// addresses, all of which must lie in an allowed network.
func (p *Policy) allowedAddrs(ctx context.Context, host string) ([]string, error) {
	if len(p.nets) == 0 {
		return nil, notAllowed()
	}
	lookup := p.lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	var addrs []string
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []string{ip.String()}
	} else if addrs, err = lookup(ctx, host); err != nil || len(addrs) == 0 {
		return nil, notAllowed()
	}
	for _, a := range addrs {
		if !p.netAllowed(a) {
			return nil, notAllowed()
		}
	}
	return addrs, nil
}

func (p *Policy) netAllowed(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, n := range p.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// guard installs a lookup that returns only allowed addresses and a dialer
// that dials only those (or a Unix socket when allowed), so that the host
// checked is the host reached: a DNS answer that changes between check and
// dial is checked again, and a cancel request dials an address checked
// before.
func (p *Policy) guard(cfg *pgconn.Config) {
	var (
		mu      sync.Mutex
		checked = map[string]bool{}
	)
	baseLookup, baseDial := cfg.LookupFunc, cfg.DialFunc
	if p.lookup != nil {
		baseLookup = pgconn.LookupFunc(p.lookup)
	}
	cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
		var (
			addrs []string
			err   error
		)
		if p.restricted && !p.names[canonicalHost(host)] {
			addrs, err = p.allowedAddrsWith(ctx, host, baseLookup)
		} else {
			addrs, err = baseLookup(ctx, host)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		for _, a := range addrs {
			checked[a] = true
		}
		mu.Unlock()
		return addrs, nil
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "unix" {
			if !p.localSockets {
				return nil, refuse("a postgres url must name a TCP host: Unix sockets are refused unless STK_ALLOW_LOCAL_SOCKETS=true")
			}
			return baseDial(ctx, network, addr)
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, notAllowed()
		}
		mu.Lock()
		ok := checked[host]
		mu.Unlock()
		if !ok && p.restricted && !p.netAllowed(host) {
			return nil, notAllowed()
		}
		return baseDial(ctx, network, addr)
	}
}

func (p *Policy) allowedAddrsWith(ctx context.Context, host string, lookup pgconn.LookupFunc) ([]string, error) {
	q := *p
	q.lookup = lookupFunc(lookup)
	return q.allowedAddrs(ctx, host)
}

// parseAllowedHosts reads STK_DB_ALLOWED_HOSTS.
func (p *Policy) parseAllowedHosts(list string) error {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p.restricted = true
		if pr, err := netip.ParsePrefix(e); err == nil {
			p.nets = append(p.nets, pr.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
			ip = ip.Unmap()
			p.nets = append(p.nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		if !validHostName(e) {
			return fmt.Errorf("STK_DB_ALLOWED_HOSTS: %q is neither a host name, an IP address nor a CIDR", e)
		}
		if p.names == nil {
			p.names = map[string]bool{}
		}
		p.names[canonicalHost(e)] = true
	}
	return nil
}

func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
