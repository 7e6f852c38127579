package httpserve

import (
	"net"
	"net/http"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
)

// LoopbackHost reports whether host — a request's Host or a listen
// address' host, with or without a port — names this machine's loopback
// interface: localhost or a loopback IP.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackAddr reports whether a listen address (host:port) is on the
// loopback interface.
func LoopbackAddr(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	return err == nil && LoopbackHost(h)
}

// LoopbackHostOnly serves next only the requests whose Host is a loopback
// name; others get fail's 403 FORBIDDEN envelope. It is for servers on a
// loopback address that trust whoever reaches them (stk dev's token
// endpoint, its --web files, a server with authentication disabled): a
// page of another site whose DNS name was rebound to 127.0.0.1 reaches
// them too, as the same origin, but still sends its own name as Host.
func LoopbackHostOnly(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackHost(r.Host) {
			fail(w, r, apierr.New(apierr.Forbidden, "Host %q is not a loopback name: this server listens on loopback and answers only http://127.0.0.1, localhost or [::1]", clip(r.Host)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
