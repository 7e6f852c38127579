package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

// serveOn serves through the servers' own Serve (connection bounds and
// all) on a loopback port until the test ends; it returns the base URL.
func serveOn(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + l.Addr().String()
}

// SPEC §12, issue 11 item 2: with a Bridge capped at 20 connections and an
// anonymous client holding stalled ones up to the cap (headers and one
// byte of body, then nothing), /healthz and an authenticated /call answer
// within a second, and the stalled connections are closed after the read
// timeout. The Hub runs with a one-second read timeout too: the Bridge's
// long polls (longer than that) keep working through it.
func TestStalledConnectionsBridge(t *testing.T) {
	const readTimeout = 1500 * time.Millisecond
	hubCfg := hubserver.Config{Addr: "127.0.0.1:0", DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"),
		Version: "test", BridgeTokens: []string{bridgeToken},
		BootstrapEmail: "owner@example.com", BootstrapPassword: "bridge-tests-owner-pw",
		MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		Limits:     httpserve.Limits{ReadTimeout: time.Second, MaxConnections: 100}}
	hub, err := hubserver.New(context.Background(), hubCfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	s := &stack{t: t, hubURL: serveOn(t, hub.Serve)}
	r := do(t, "POST", s.hubURL+"/v1/auth/login", hubapi.Login{Email: hubCfg.BootstrapEmail, Password: hubCfg.BootstrapPassword}, nil)
	var tok hubapi.Tokens
	if err := json.Unmarshal(r.body, &tok); r.status != 200 || err != nil {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	s.hubToken = tok.AccessToken

	cfg := testConfig(s.hubURL)
	cfg.PollWait = 2500 * time.Millisecond // past the Hub's read timeout
	cfg.Limits = httpserve.Limits{ReadTimeout: readTimeout, MaxConnections: 20}
	logs := &syncBuffer{}
	b, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.bridgeURL = serveOn(t, b.Serve)
	if !strings.Contains(logs.String(), `"readTimeout":"1.5s","maxConnections":20`) {
		t.Fatalf("the effective config does not show the connection bounds: %s", logs.String())
	}

	db := testpg.New(t)
	pgExec(t, db, schemaSQL)
	admin, _, _ := s.setup(db)
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	addr := strings.TrimPrefix(s.bridgeURL, "http://")
	var stalled []net.Conn
	stallStart := time.Now()
	for range cfg.MaxConnections {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "POST /call HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"X-Santokit-Project: demo\r\nX-Santokit-Env: dev\r\nContent-Length: 100\r\n\r\n{")
		stalled = append(stalled, c)
	}
	time.Sleep(200 * time.Millisecond) // let the Bridge accept them all

	start := time.Now()
	res, err := client.Get(s.bridgeURL + "/healthz")
	if err != nil {
		t.Fatalf("healthz with stalled connections: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || time.Since(start) > time.Second {
		t.Fatalf("healthz: %d after %s", res.StatusCode, time.Since(start))
	}
	start = time.Now()
	req, _ := http.NewRequest("POST", s.bridgeURL+"/call", strings.NewReader(`{"path":"db/main/users/select"}`))
	req.Header.Set("X-Santokit-Api-Key", admin)
	res, err = client.Do(req)
	if err != nil {
		t.Fatalf("authenticated call with stalled connections: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || time.Since(start) > time.Second {
		t.Fatalf("call: %d %s after %s", res.StatusCode, body, time.Since(start))
	}

	var wg sync.WaitGroup
	for i, c := range stalled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(stallStart.Add(readTimeout + 2*time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
				t.Errorf("stalled connection %d still open after %s: %v", i, time.Since(stallStart), err)
			}
		}()
	}
	wg.Wait()

	// By now the Bridge's long poll has outlived the Hub's read timeout:
	// it must have ended as a 304, never as a failure.
	for time.Since(stallStart) < cfg.PollWait+500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "bundle poll failed") {
		t.Fatalf("a long poll failed against a Hub with a read timeout: %s", logs.String())
	}
	// A poll cut at the Hub's read timeout would end early as a 304 (the
	// Hub answers "no change" to a canceled wait): three of them by now
	// instead of one (two on a slow machine).
	if n := counter(t, b, "stk_bridge_bundle_loads_total", "not_modified"); n < 1 || n > 2 {
		t.Fatalf("%v long polls answered 304 in %s, want one of %s", n, time.Since(stallStart), cfg.PollWait)
	}
	expect(t, s.call(key(admin), map[string]any{"path": "db/main/users/select"}), 200, "", "")
}

// counter reads a counter of b's metrics by name and the value of its
// (only) label.
func counter(t *testing.T, b *Server, name, label string) float64 {
	t.Helper()
	mfs, err := b.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
