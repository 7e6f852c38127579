package httpserve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Anonymous clients hold stalled connections up to the cap (headers and one
// byte of body, then nothing; or half the headers): /healthz and an
// authenticated request still answer within a second, long-running
// handlers (a long poll, work after the body) outlive the read timeout, and
// every stalled connection is closed once the timeout has passed.
func TestStalledConnections(t *testing.T) {
	const (
		maxConns    = 20
		readTimeout = 2 * time.Second
	)
	reading := make(chan struct{}, 2*maxConns)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /call", func(w http.ResponseWriter, r *http.Request) {
		reading <- struct{}{}
		b, err := io.ReadAll(r.Body) // as the Bridge: the body is read first
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		w.Write(b)
	})
	// A long poll, and work after the body: both run past the read
	// timeout and must not see their context canceled.
	started := make(chan struct{}, 2)
	long := func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		started <- struct{}{}
		select {
		case <-time.After(2 * readTimeout):
			io.WriteString(w, "done")
		case <-r.Context().Done():
			http.Error(w, "canceled", http.StatusServiceUnavailable)
		}
	}
	mux.HandleFunc("GET /poll", long)
	mux.HandleFunc("POST /work", long)

	addr := serveTest(t, mux, Options{Limits: Limits{ReadTimeout: readTimeout, MaxConnections: maxConns}})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	// Two working connections first: they must never be shed.
	type result struct {
		status int
		body   string
		err    error
	}
	longDone := make(chan result, 2)
	for _, req := range []func() (*http.Response, error){
		func() (*http.Response, error) { return client.Get("http://" + addr + "/poll") },
		func() (*http.Response, error) {
			return client.Post("http://"+addr+"/work", "application/json", strings.NewReader(`{"a":1}`))
		},
	} {
		go func() {
			res, err := req()
			if err != nil {
				longDone <- result{err: err}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			longDone <- result{status: res.StatusCode, body: string(b)}
		}()
	}
	for range 2 {
		select {
		case <-started:
		case r := <-longDone:
			t.Fatalf("a long handler ended early: %+v", r)
		}
	}

	// Fill the cap: one connection stalled in its headers, the rest in
	// their bodies.
	var stalled []net.Conn
	dial := func(req string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
		return c
	}
	stallStart := time.Now()
	dial("GET /healthz HTTP/1.1\r\nHost: x\r\n")
	for range maxConns - 3 {
		dial("POST /call HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	}
	for range maxConns - 3 {
		select {
		case <-reading:
		case <-time.After(5 * time.Second):
			t.Fatal("stalled requests did not reach the handler")
		}
	}

	// The cap is reached: a health check and an authenticated call still
	// answer at once.
	start := time.Now()
	res, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz with %d stalled connections: %v", len(stalled), err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || time.Since(start) > time.Second {
		t.Fatalf("healthz: %d after %s", res.StatusCode, time.Since(start))
	}
	start = time.Now()
	req, _ := http.NewRequest("POST", "http://"+addr+"/call", strings.NewReader(`{"path":"db/main/t/select"}`))
	req.Header.Set("Authorization", "Bearer good")
	res, err = client.Do(req)
	if err != nil {
		t.Fatalf("authenticated call with stalled connections: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != `{"path":"db/main/t/select"}` || time.Since(start) > time.Second {
		t.Fatalf("call: %d %q after %s", res.StatusCode, b, time.Since(start))
	}

	// Making room closed the one that had waited longest (the health
	// check's connection closed after its answer), long before the read
	// timeout.
	stalled[0].SetReadDeadline(stallStart.Add(readTimeout / 2))
	if _, err := io.Copy(io.Discard, stalled[0]); err != nil && !isReset(err) {
		t.Fatalf("the longest stalled connection was not closed to make room: %v", err)
	}

	// Every stalled connection is closed once the read timeout has passed
	// (the server may answer 400 first).
	var wg sync.WaitGroup
	for i, c := range stalled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(stallStart.Add(readTimeout + 2*time.Second))
			_, err := io.Copy(io.Discard, c)
			if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Errorf("stalled connection %d still open after %s: %v", i, time.Since(stallStart), err)
			}
		}()
	}
	wg.Wait()

	for range 2 {
		r := <-longDone
		if r.err != nil || r.status != 200 || r.body != "done" {
			t.Fatalf("a handler running past the read timeout: %+v", r)
		}
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// At the cap with every connection working, a new connection is closed at
// once rather than queued behind them or shedding work.
func TestConnectionsAllWorking(t *testing.T) {
	release := make(chan struct{})
	running := make(chan struct{}, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	})
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	addr := serveTest(t, h, Options{Log: log, Limits: Limits{ReadTimeout: time.Second, MaxConnections: 2}})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			res, err := client.Get("http://" + addr + "/")
			if err == nil {
				res.Body.Close()
				if res.StatusCode != 200 {
					err = errors.New(res.Status)
				}
			}
			errs <- err
		}()
	}
	<-running
	<-running
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatalf("a third connection was served at the cap: %q", line)
	} else if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the third connection was left hanging instead of closed: %v", err)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a working connection was disturbed: %v", err)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), `"msg":"connection cap reached (STK_MAX_CONNECTIONS)`) ||
		!strings.Contains(logs.String(), `"refusedAllWorking":1`) {
		t.Fatalf("the operator is not told that the cap is reached: %s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// serveTest serves h on a loopback port until the test ends.
func serveTest(t *testing.T, h http.Handler, o Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Grace = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String()
}

func TestLimitsFromEnv(t *testing.T) {
	l, err := LimitsFromEnv(func(string) string { return "" })
	if err != nil || l != (Limits{ReadTimeout: 10 * time.Second, MaxConnections: 10000}) {
		t.Fatalf("defaults %+v %v", l, err)
	}
	env := map[string]string{"STK_READ_TIMEOUT": "30s", "STK_MAX_CONNECTIONS": " 500 "}
	l, err = LimitsFromEnv(func(k string) string { return env[k] })
	if err != nil || l != (Limits{ReadTimeout: 30 * time.Second, MaxConnections: 500}) {
		t.Fatalf("parsed %+v %v", l, err)
	}
	for k, v := range map[string]string{"STK_READ_TIMEOUT": "soon", "STK_MAX_CONNECTIONS": "0"} {
		if _, err := LimitsFromEnv(func(key string) string { return map[string]string{k: v}[key] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	if _, err := LimitsFromEnv(func(k string) string { return map[string]string{"STK_READ_TIMEOUT": "10ms"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "at least 1s") {
		t.Errorf("a 10ms read timeout: %v", err)
	}
	if (Limits{}).Effective() != (Limits{ReadTimeout: DefaultReadTimeout, MaxConnections: DefaultMaxConnections}) {
		t.Error("zero limits do not take the defaults")
	}
}

// An idle keep-alive connection is closed after IdleTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := serveTest(t, h, Options{IdleTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil || res.StatusCode != 200 || res.Close {
		t.Fatalf("keep-alive response: %v %+v", err, res)
	}
	io.Copy(io.Discard, res.Body)
	start := time.Now()
	c.SetReadDeadline(start.Add(3 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v after %s, want EOF", err, time.Since(start))
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Fatalf("idle connection closed after %s, want about 300ms", d)
	}
}
