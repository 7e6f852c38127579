package hubclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:4000", "ftp://h", "http://", "http://u:pw@:80"} {
		if _, err := New(u); err == nil {
			t.Errorf("New(%q) accepted", u)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) echoed the password: %v", u, err)
		}
	}
	c, err := New("https://hub.example.com/base/")
	if err != nil || c.URL() != "https://hub.example.com/base" {
		t.Fatalf("URL %q, %v", c.URL(), err)
	}
}

func TestRequestsAndDecoding(t *testing.T) {
	var gotPath, gotMethod, gotBody, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotMethod, gotAuth = r.URL.EscapedPath()+"?"+r.URL.RawQuery, r.Method, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch {
		case strings.HasSuffix(r.URL.Path, "/snapshots"):
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"id":"snap_1","connection":"main","tables":[],"reused":true}`)
		default:
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"name":"main","engine":"postgres","url":"postgres://u:***@h/d","version":1}`)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/prefix", WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, created, err := c.PutConnection(ctx, "demo", "dev", "main", hubapi.PutConnection{Engine: "postgres", URL: "postgres://u:p@h/d"})
	if err != nil || !created || conn.URL != "postgres://u:***@h/d" {
		t.Fatalf("PutConnection = %+v, %v, %v", conn, created, err)
	}
	if gotMethod != http.MethodPut || gotPath != "/prefix/v1/projects/demo/envs/dev/connections/main?" || gotAuth != "Bearer tok" {
		t.Errorf("sent %s %s auth %q", gotMethod, gotPath, gotAuth)
	}
	if gotBody != `{"engine":"postgres","url":"postgres://u:p@h/d"}` {
		t.Errorf("body %s", gotBody)
	}
	snap, created, err := c.Snapshot(ctx, "demo", "dev", "main")
	if err != nil || created || !snap.Reused || snap.ID != "snap_1" {
		t.Fatalf("Snapshot = %+v, %v, %v", snap, created, err)
	}
	if _, err := c.Schema(ctx, "demo", "dev", "a b"); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/prefix/v1/projects/demo/envs/dev/schema?connection=a+b" {
		t.Errorf("schema path %s", gotPath)
	}
	// Path segments are escaped.
	_, _ = c.GetProject(ctx, "a/b")
	if gotPath != "/prefix/v1/projects/a%2Fb?" {
		t.Errorf("escaped path %s", gotPath)
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_h")
		switch r.URL.Path {
		case "/v1/projects/dup":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":{"code":"CONFLICT","message":"exists","details":{"k":1}}}`)
		case "/v1/projects/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>")
		case "/v1/projects/okhtml":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>")
		case "/v1/projects/badjson":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{")
		}
	}))
	defer srv.Close()
	c, _ := New(srv.URL)
	ctx := context.Background()

	_, err := c.GetProject(ctx, "dup")
	var he *Error
	if !errors.As(err, &he) || he.Status != 409 || he.Code != apierr.Conflict || he.RequestID != "req_h" ||
		he.Envelope.Error.RequestID != "req_h" || he.Details["k"] != float64(1) {
		t.Fatalf("got %#v", err)
	}
	if he.Error() != "exists (code CONFLICT, request req_h)" {
		t.Errorf("Error() = %q", he.Error())
	}
	for _, p := range []string{"html", "okhtml", "badjson"} {
		_, err = c.GetProject(ctx, p)
		var re *ResponseError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "unexpected answer from the Hub at "+srv.URL) || re.RequestID != "req_h" {
			t.Errorf("%s: got %v", p, err)
		}
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, _ = New("http://" + addr)
	_, err = c.ListProjects(ctx)
	var ue *UnreachableError
	if !errors.As(err, &ue) || err.Error() != "cannot reach the Hub at http://"+addr+": connection refused" {
		t.Errorf("got %v", err)
	}
	c, _ = New("http://no-such-host.invalid")
	if _, err = c.ListProjects(ctx); err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Hub at http://no-such-host.invalid: ") {
		t.Errorf("got %v", err)
	}
}
