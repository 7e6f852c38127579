package httpserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/santokit/santokit/packages/core/duration"
)

// Connection bounds (SPEC §12, decision 0012). A client that sends headers
// and a byte of body, then nothing, must neither hold a connection forever
// nor, by holding many, keep the server from answering others.
const (
	DefaultReadTimeout    = 10 * time.Second
	DefaultMaxConnections = 10000
	// DefaultIdleTimeout bounds an idle keep-alive connection.
	DefaultIdleTimeout = 2 * time.Minute
)

// minReadTimeout: a shorter bound would cut ordinary requests on a slow
// network.
const minReadTimeout = time.Second

// Limits are a server's connection bounds, read from STK_READ_TIMEOUT and
// STK_MAX_CONNECTIONS by both servers. Zero values take the defaults.
type Limits struct {
	// ReadTimeout bounds reading a request, headers and body, from its
	// first byte.
	ReadTimeout time.Duration
	// MaxConnections bounds the open connections.
	MaxConnections int
}

// LimitsFromEnv reads STK_READ_TIMEOUT (a duration of at least a second,
// default 10s) and STK_MAX_CONNECTIONS (a positive whole number, default
// 10000).
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	l := Limits{ReadTimeout: DefaultReadTimeout, MaxConnections: DefaultMaxConnections}
	var errs []error
	if s := strings.TrimSpace(getenv("STK_READ_TIMEOUT")); s != "" {
		d, err := duration.Parse(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("STK_READ_TIMEOUT: %w", err))
		case d < minReadTimeout:
			errs = append(errs, fmt.Errorf("STK_READ_TIMEOUT %q: want at least %s (the time a client has to send a request's headers and body)", s, minReadTimeout))
		default:
			l.ReadTimeout = d
		}
	}
	if s := strings.TrimSpace(getenv("STK_MAX_CONNECTIONS")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("STK_MAX_CONNECTIONS %q: want a positive whole number of connections", s))
		} else {
			l.MaxConnections = n
		}
	}
	return l, errors.Join(errs...)
}

// Effective is l with the defaults in place of zero values.
func (l Limits) Effective() Limits {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	return l
}

// conns is a listener that holds at most max connections open. At the cap
// a new connection does not wait (a blocked Accept would starve /healthz
// behind stalled clients): the connection that has been waiting for its
// client longest — idle, reading headers, or with its handler blocked
// reading the body — is closed to make room. A connection whose handler is
// working (a long poll, a query) is never shed; when every connection is
// working, the new one is closed at once.
type conns struct {
	net.Listener
	max int
	log *slog.Logger

	mu   sync.Mutex
	open map[*conn]struct{}
	// shed and refused count the connections closed at the cap since the
	// last warning; lastWarn (unix nanos) spaces the warnings.
	shed, refused atomic.Int64
	lastWarn      atomic.Int64
}

// capWarnEvery spaces the warnings that the cap is reached: a flood would
// otherwise log a line per connection.
const capWarnEvery = 10 * time.Second

func limitConns(l net.Listener, max int, log *slog.Logger) *conns {
	return &conns{Listener: l, max: max, log: log, open: make(map[*conn]struct{}, min(max, 1024))}
}

// Accept returns the next connection, making room for it at the cap.
func (l *conns) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &conn{Conn: nc, owner: l}
		c.waitingSince.Store(time.Now().UnixNano())
		l.mu.Lock()
		var victim *conn
		if len(l.open) >= l.max {
			victim = l.longestWaitingLocked()
		}
		if len(l.open) < l.max || victim != nil {
			l.open[c] = struct{}{}
			if victim != nil {
				delete(l.open, victim) // its own Close finds it gone
			}
		} else {
			c = nil
		}
		l.mu.Unlock()
		// Count and warn before closing, so that whoever sees the close
		// (a client, a test) finds the warning already written.
		if victim != nil {
			l.shed.Add(1)
		}
		if c == nil {
			l.refused.Add(1)
		}
		if victim != nil || c == nil {
			l.warn()
		}
		if victim != nil {
			_ = victim.Close()
		}
		if c == nil {
			_ = nc.Close() // every connection is working: refuse this one
		}
		if c != nil {
			return c, nil
		}
	}
}

// warn tells the operator that the cap is reached, at most once per
// capWarnEvery, with what it cost since the last warning.
func (l *conns) warn() {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(capWarnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("connection cap reached (STK_MAX_CONNECTIONS): closing the connections that wait longest for their clients",
		"maxConnections", l.max, "shed", l.shed.Swap(0), "refusedAllWorking", l.refused.Swap(0))
}

// longestWaitingLocked is the sheddable connection that has waited for its
// client longest, or nil; l.mu is held. A linear scan: it runs only at the
// cap, and a scan of the cap's worth of atomics costs microseconds.
func (l *conns) longestWaitingLocked() *conn {
	var (
		victim *conn
		oldest int64
	)
	for c := range l.open {
		if c.busy.Load() > 0 {
			continue
		}
		if since := c.waitingSince.Load(); victim == nil || since < oldest {
			victim, oldest = c, since
		}
	}
	return victim
}

// conn is one accepted connection. busy counts its handlers that are
// working (running and not blocked reading the body); at zero the
// connection is waiting for its client, since waitingSince.
type conn struct {
	net.Conn
	owner        *conns
	busy         atomic.Int32
	waitingSince atomic.Int64 // unix nanos
	closeOnce    sync.Once
	closeErr     error
}

// Close closes the connection once and frees its slot.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.open, c)
		c.owner.mu.Unlock()
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// work marks a handler of c as working (n = 1) or waiting (n = -1) since
// at (unix nanos).
func (c *conn) work(n int32, at int64) {
	if c.busy.Add(n) == 0 {
		c.waitingSince.Store(at)
	}
}

type connKey struct{}

// connOf finds the tracked connection under nc (a *tls.Conn wraps it).
func connOf(nc net.Conn) *conn {
	for {
		switch c := nc.(type) {
		case *conn:
			return c
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
}

// connState keeps waitingSince current for connections between requests.
func connState(nc net.Conn, s http.ConnState) {
	c := connOf(nc)
	if c == nil {
		return
	}
	switch s {
	case http.StateIdle:
		c.waitingSince.Store(time.Now().UnixNano())
	case http.StateHijacked:
		c.busy.Add(1 << 20) // someone else's now: never shed
	}
}

// tracked wraps h so that its connection counts as working while h runs,
// except while h is blocked reading the request body: a body trickled a
// byte at a time (or never sent) is as stalled as an idle connection, and
// counts as waiting since the request started.
func tracked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(*conn)
		if c == nil {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now().UnixNano()
		c.work(1, start)
		defer func() { c.work(-1, time.Now().UnixNano()) }()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &body{ReadCloser: r.Body, c: c, start: start}
		}
		h.ServeHTTP(w, r)
	})
}

// body marks its connection as waiting while a Read blocks.
type body struct {
	io.ReadCloser
	c     *conn
	start int64
}

func (b *body) Read(p []byte) (int, error) {
	b.c.work(-1, b.start)
	defer b.c.work(1, 0)
	return b.ReadCloser.Read(p)
}

// withConn is http.Server.ConnContext: it lets bounded find the request's
// connection.
func withConn(ctx context.Context, nc net.Conn) context.Context {
	if c := connOf(nc); c != nil {
		return context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}
