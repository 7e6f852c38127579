package httpserve

import (
	"errors"
	"strings"
	"testing"
)

// A taken address is an *AddrInUseError that names the address and the
// setting that chose it; a free one listens.
func TestListenAddrInUse(t *testing.T) {
	l, err := Listen("127.0.0.1:0", "STK_HUB_ADDR")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	_, err = Listen(addr, "STK_HUB_ADDR")
	var ie *AddrInUseError
	if !errors.As(err, &ie) || ie.Addr != addr || ie.Setting != "STK_HUB_ADDR" {
		t.Fatalf("Listen on a taken address: %v", err)
	}
	for _, want := range []string{addr, "in use", "STK_HUB_ADDR", "port 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if _, err := Listen("256.0.0.1:1", "--bridge-addr"); err == nil || errors.As(err, &ie) || !strings.Contains(err.Error(), "--bridge-addr") {
		t.Errorf("Listen on a bad address: %v", err)
	}
}
