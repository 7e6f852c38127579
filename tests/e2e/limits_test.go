package e2e

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestConnectionLimits runs testdata/limits: the servers' connection
// bounds (STK_READ_TIMEOUT, STK_MAX_CONNECTIONS; issue 11 item 2, SPEC §12)
// against the real stk-hub and stk-bridge processes. Once, on the SQLite
// store: what is under test is the HTTP edge, not the store.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"stk":            cmdStk,
		"hub-start":      cmdHubStart,
		"bridge-start":   cmdBridgeStart,
		"http":           cmdHTTP,
		"call":           cmdCall,
		"pg-exec":        cmdPgExec,
		"capture":        cmdCapture,
		"envfile":        cmdEnvfile,
		"stall":          cmdStall,
		"stalled-closed": cmdStalledClosed,
	}
	cmds["within"] = func(ts *testscript.TestScript, neg bool, args []string) { cmdWithin(ts, neg, args, cmds) }
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/limits",
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Values[stallKey{}] = &stalls{}
			return setup(env, "sqlite")
		},
		Cmds: cmds,
	})
}

type stallKey struct{}

// stalls are the connections a script holds stalled.
type stalls struct {
	mu    sync.Mutex
	conns []net.Conn
}

// stall N VAR opens N connections to the server at $VAR, each sending an
// anonymous POST /call's headers and the first byte of a 100-byte body,
// then nothing, and holds them until stalled-closed or the script's end.
func cmdStall(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: stall N URLVAR")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	u, err := url.Parse(ts.Getenv(args[1]))
	if err != nil || u.Host == "" {
		ts.Fatalf("stall: $%s is not a URL", args[1])
	}
	st := ts.Value(stallKey{}).(*stalls)
	for range n {
		c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
		ts.Check(err)
		ts.Defer(func() { c.Close() })
		_, err = io.WriteString(c, "POST /call HTTP/1.1\r\nHost: "+u.Host+"\r\nContent-Type: application/json\r\n"+
			"X-Santokit-Project: demo\r\nX-Santokit-Env: dev\r\nContent-Length: 100\r\n\r\n{")
		ts.Check(err)
		st.mu.Lock()
		st.conns = append(st.conns, c)
		st.mu.Unlock()
	}
	// Let the server take them in before the script goes on.
	time.Sleep(200 * time.Millisecond)
}

// stalled-closed DURATION checks that the server has closed every stalled
// connection within DURATION from now (reading whatever it answered first).
func cmdStalledClosed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stalled-closed DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	st := ts.Value(stallKey{}).(*stalls)
	st.mu.Lock()
	conns := st.conns
	st.conns = nil
	st.mu.Unlock()
	deadline := time.Now().Add(d)
	open := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(deadline)
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				open++
			}
		}
	}
	if open > 0 {
		ts.Fatalf("stalled-closed: %d of %d stalled connections still open after %s", open, len(conns), d)
	}
	ts.Logf("stalled-closed: all %d closed", len(conns))
}

// within DURATION CMD [ARGS] runs another command and fails if it takes
// longer than DURATION.
func cmdWithin(ts *testscript.TestScript, neg bool, args []string, cmds map[string]func(*testscript.TestScript, bool, []string)) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: within DURATION CMD [ARGS]")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	cmd, ok := cmds[args[1]]
	if !ok {
		ts.Fatalf("within: unknown command %s", args[1])
	}
	start := time.Now()
	cmd(ts, false, args[2:])
	if took := time.Since(start); took > d {
		ts.Fatalf("within: %s took %s, more than %s", args[1], took.Round(time.Millisecond), d)
	}
}
