package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// Tracing off is a nil Tracer: no provider, no exporter goroutine, and a
// request without traceparent goes through untouched and without an
// allocation (the hot path's cost is the nil check).
func TestOffCostsNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	tr, err := New(context.Background(), "", "stk-bridge", "test")
	if err != nil || tr != nil || tr.Enabled() {
		t.Fatalf("New with no endpoint: %v %v", tr, err)
	}
	if n := runtime.NumGoroutine(); n != before {
		t.Fatalf("%d goroutines after New, %d before", n, before)
	}
	r := httptest.NewRequest("POST", "/call", nil)
	allocs := testing.AllocsPerRun(100, func() {
		r2, span := tr.StartServer(r, func(*http.Request) string { return "POST /call" })
		if r2 != r || span.IsRecording() {
			t.Fatal("tracing off changed the request or recorded")
		}
		ctx, s := tr.Start(r.Context(), "SELECT items", 0)
		if ctx != r.Context() || s.IsRecording() {
			t.Fatal("Start with tracing off")
		}
		EndServer(span, 200)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request with tracing off, want 0", allocs)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An incoming traceparent is honoured with tracing off too: its trace id
// reaches the access log (TraceID), and no span is recorded.
func TestOffKeepsIncomingTraceID(t *testing.T) {
	var tr *Tracer
	r := httptest.NewRequest("POST", "/call", nil)
	r.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	r2, span := tr.StartServer(r, func(*http.Request) string { return "POST /call" })
	if span.IsRecording() || TraceID(r2.Context()) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace id %q", TraceID(r2.Context()))
	}
	r.Header.Set("traceparent", "00-not-a-trace-01")
	if r3, _ := tr.StartServer(r, func(*http.Request) string { return "" }); r3 != r || TraceID(r3.Context()) != "" {
		t.Fatal("a malformed traceparent was taken")
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:4318", "https://otel.example.com/base/"} {
		if err := CheckEndpoint(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:4318", "grpc://x:4317", "http://"} {
		if err := CheckEndpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := Redact("https://u:secret@otel.example.com/x?token=abc"); got != "https://u:xxxxx@otel.example.com/x" {
		t.Errorf("Redact: %q", got)
	}
}

func TestPathValue(t *testing.T) {
	for _, c := range []struct{ pattern, path, name, want string }{
		{"GET /internal/v1/envs/{p}/{e}/bundle", "/internal/v1/envs/demo/dev/bundle", "p", "demo"},
		{"GET /internal/v1/envs/{p}/{e}/bundle", "/internal/v1/envs/demo/dev/bundle", "e", "dev"},
		{"GET /v1/projects", "/v1/projects", "p", ""},
		{"unmatched", "/x/y", "p", ""},
	} {
		if got := PathValue(c.pattern, c.path, c.name); got != c.want {
			t.Errorf("PathValue(%q, %q, %q) = %q, want %q", c.pattern, c.path, c.name, got, c.want)
		}
	}
}
