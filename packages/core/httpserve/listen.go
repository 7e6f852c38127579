package httpserve

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// AddrInUseError is a listen address that another process holds. It names
// the setting that chose the address (STK_HUB_ADDR, --bridge-addr, …), so
// that the message says how to pick another: a port in use is the user's
// environment, not an internal failure (docs/decisions/0014).
type AddrInUseError struct {
	Addr    string
	Setting string
}

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("address %s is already in use (another stk dev, stk-hub or stk-bridge?): choose another with %s (host:port; port 0 picks any free one)",
		e.Addr, e.Setting)
}

// Listen opens a TCP listener on addr. An address in use is an
// *AddrInUseError naming setting; other failures name the address and the
// setting too, without the net package's repetition.
func Listen(addr, setting string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		return l, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &AddrInUseError{Addr: addr, Setting: setting}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return nil, fmt.Errorf("listen on %s (%s): %w", addr, setting, err)
}
