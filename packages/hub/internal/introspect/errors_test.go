package introspect

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The live tests cover the categories a real server or file gives; this
// table covers the classification order and the ones a test cannot provoke
// cheaply (wrong password, DNS timeout, certificate errors).
func TestClassify(t *testing.T) {
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"wrong password", &pgconn.PgError{Code: "28P01"}, CategoryAuth},
		{"no such role", &pgconn.PgError{Code: "28000"}, CategoryAuth},
		{"no database", fmt.Errorf("x: %w", &pgconn.PgError{Code: "3D000"}), CategoryNoDatabase},
		{"no connect privilege", &pgconn.PgError{Code: "42501"}, CategoryPermission},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, CategoryTimeout},
		{"other server error", &pgconn.PgError{Code: "53300"}, CategoryUnreachable},
		{"refused", opErr(os.NewSyscallError("connect", syscall.ECONNREFUSED)), CategoryRefused},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, CategoryUnknownHost},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "h", IsTimeout: true}, CategoryTimeout},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), CategoryTimeout},
		{"io deadline", opErr(os.ErrDeadlineExceeded), CategoryTimeout},
		{"unknown authority", fmt.Errorf("tls error: %w", x509.UnknownAuthorityError{}), CategoryTLS},
		{"hostname mismatch", x509.HostnameError{Host: "h", Certificate: &x509.Certificate{}}, CategoryTLS},
		{"tls refused", errors.New("server refused TLS connection"), CategoryTLS},
		{"file missing", &fs.PathError{Op: "stat", Path: "/x", Err: fs.ErrNotExist}, CategoryFileNotFound},
		{"file permission", &fs.PathError{Op: "stat", Path: "/x", Err: fs.ErrPermission}, CategoryPermission},
		{"unreachable", opErr(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), CategoryUnreachable},
		{"canceled", context.Canceled, CategoryUnreachable},
		// pgx joins the errors of every attempt: a server's answer wins over
		// the failed TLS attempt of sslmode=prefer.
		{"joined", errors.Join(errors.New("tls error: server refused TLS connection"), &pgconn.PgError{Code: "28P01"}), CategoryAuth},
		{"probe error", fmt.Errorf("x: %w", &ProbeError{Category: CategoryNoDatabase}), CategoryNoDatabase},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: Classify = %q, want %q", c.name, got, c.want)
		}
	}
}
