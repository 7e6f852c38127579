package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/dbtarget"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

// span is one exported span, flattened for assertions.
type span struct {
	service, name, traceID, spanID, parentID string
	attrs                                    map[string]string
}

// collector is an OTLP/HTTP trace receiver: it decodes the protobuf
// export requests (POST /v1/traces) the way a real collector does.
type collector struct {
	t     *testing.T
	mu    sync.Mutex
	spans []span
	paths []string
}

func newCollector(t *testing.T) (*collector, string) {
	c := &collector{t: t}
	ts := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(ts.Close)
	return c, ts.URL
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	var req collectorpb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(data, &req)
	}
	if err != nil || r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		c.t.Errorf("collector: %s %s %s: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
		http.Error(w, "bad export", 400)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paths = append(c.paths, r.URL.Path)
	for _, rs := range req.ResourceSpans {
		service := attrMap(rs.Resource.GetAttributes())["service.name"]
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, span{service: service, name: s.Name, traceID: hex.EncodeToString(s.TraceId),
					spanID: hex.EncodeToString(s.SpanId), parentID: hex.EncodeToString(s.ParentSpanId), attrs: attrMap(s.Attributes)})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.Value
		switch {
		case v.GetStringValue() != "":
			m[kv.Key] = v.GetStringValue()
		default:
			j, _ := json.Marshal(v)
			m[kv.Key] = string(j)
		}
	}
	return m
}

// find returns the spans of service named name in trace traceID.
func (c *collector) find(service, name, traceID string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, s := range c.spans {
		if s.service == service && s.name == name && (traceID == "" || s.traceID == traceID) {
			out = append(out, s)
		}
	}
	return out
}

func (c *collector) all() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]span(nil), c.spans...)
}

// one waits for exactly one span of service named name in traceID.
func (c *collector) one(service, name, traceID string) span {
	c.t.Helper()
	var got []span
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got = c.find(service, name, traceID); len(got) > 0 {
			return got[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	var names []string
	for _, s := range c.all() {
		names = append(names, s.service+":"+s.name+"@"+s.traceID)
	}
	c.t.Fatalf("no %s span %q in trace %s; spans: %v", service, name, traceID, names)
	return span{}
}

func wantAttrs(t *testing.T, s span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if s.attrs[k] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", s.name, k, s.attrs[k], v, s.attrs)
		}
	}
}

// startTracedHub is startHub exporting its spans to endpoint, its log in
// logs.
func startTracedHub(t *testing.T, endpoint string, logs *syncBuffer) (string, string) {
	t.Helper()
	cfg := hubserver.Config{Addr: "127.0.0.1:0", DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "hub.db"),
		Version: "test", BridgeTokens: []string{bridgeToken},
		BootstrapEmail: "owner@example.com", BootstrapPassword: "bridge-tests-owner-pw",
		MasterKeys:   "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		DBTargets:    dbtarget.Config{SQLiteDir: os.TempDir()},
		OTLPEndpoint: endpoint}
	hub, err := hubserver.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hub.Handler())
	t.Cleanup(func() { ts.Close(); hub.Close() })
	r := do(t, "POST", ts.URL+"/v1/auth/login", hubapi.Login{Email: cfg.BootstrapEmail, Password: cfg.BootstrapPassword}, nil)
	var tok hubapi.Tokens
	if err := json.Unmarshal(r.body, &tok); r.status != 200 || err != nil {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	return ts.URL, tok.AccessToken
}

// Tracing through a real Hub and Bridge exporting to an OTLP/HTTP
// collector (SPEC §12; decision 0032): a /call that carries a W3C
// traceparent is a server span in the caller's trace, its SQL statement a
// child span, and the Bridge's bundle fetch and key lookup — made for that
// call — are its children too and carry the trace to the Hub, whose
// server spans are their children. Attributes name op, connection, table,
// project, env and status; no value, key, token, password or SQL text
// appears in any span.
func TestTracingExportsJoinedSpans(t *testing.T) {
	col, endpoint := newCollector(t)
	s := &stack{t: t}
	hubLogs := &syncBuffer{}
	s.hubURL, s.hubToken = startTracedHub(t, endpoint, hubLogs)
	cfg := testConfig(s.hubURL)
	cfg.OTLPEndpoint = endpoint
	s.bridge, s.bridgeURL, s.logs = startBridge(t, cfg)
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	admin, reader, _ := s.setup(db)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tp := map[string]string{"traceparent": "00-" + traceID + "-" + parentID + "-01"}
	r := s.call(merge(key(reader), tp), map[string]any{"path": "db/main/users/select",
		"params": map[string]any{"where": map[string]any{"email": "ada@x"}}})
	expect(t, r, 200, "", "")
	const planted = "Zed-PLANTED-VALUE"
	const trace2, parent2 = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	r = s.call(merge(key(admin), map[string]string{"traceparent": "00-" + trace2 + "-" + parent2 + "-01"}),
		map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": map[string]any{"email": "zed@x", "name": planted}}})
	expect(t, r, 200, "", "")
	// A bad request is traced too, with its status.
	expect(t, s.call(merge(key(reader), tp), map[string]any{"path": "db/main/users/select",
		"params": map[string]any{"where": map[string]any{"nope": 1}}}), 400, "BAD_REQUEST", "")

	call := col.one("stk-bridge", "POST /call", traceID)
	if call.parentID != parentID {
		t.Fatalf("the /call span's parent is %q, want the traceparent's %s", call.parentID, parentID)
	}
	wantAttrs(t, call, map[string]string{"santokit.op": "select", "santokit.connection": "main", "santokit.table": "users",
		"santokit.project": "demo", "santokit.env": "dev", "http.route": "/call"})
	sql := col.one("stk-bridge", "SELECT users", traceID)
	if sql.parentID != call.spanID {
		t.Fatalf("the statement span's parent is %q, want the /call span %s", sql.parentID, call.spanID)
	}
	wantAttrs(t, sql, map[string]string{"db.system": "postgresql", "db.operation": "SELECT", "db.sql.table": "users", "santokit.connection": "main"})

	lookup := col.one("stk-bridge", "apikey lookup", traceID)
	fetch := col.one("stk-bridge", "bundle fetch", traceID)
	for _, sp := range []span{lookup, fetch} {
		if sp.parentID != call.spanID {
			t.Fatalf("span %q's parent is %q, want the /call span %s that waited on it", sp.name, sp.parentID, call.spanID)
		}
	}
	wantAttrs(t, fetch, map[string]string{"santokit.project": "demo", "santokit.env": "dev", "santokit.result": "ok"})
	hubBundle := col.one("stk-hub", "GET /internal/v1/envs/{p}/{e}/bundle", traceID)
	if hubBundle.parentID != fetch.spanID {
		t.Fatalf("the Hub's bundle span's parent is %q, want the Bridge's fetch %s", hubBundle.parentID, fetch.spanID)
	}
	wantAttrs(t, hubBundle, map[string]string{"santokit.project": "demo", "santokit.env": "dev", "http.response.status_code": `{"Value":{"IntValue":200}}`})
	hubKey := col.one("stk-hub", "GET /internal/v1/apikeys/{keyId}", traceID)
	if hubKey.parentID != lookup.spanID {
		t.Fatalf("the Hub's key lookup span's parent is %q, want the Bridge's lookup %s", hubKey.parentID, lookup.spanID)
	}

	ins := col.one("stk-bridge", "POST /call", trace2)
	wantAttrs(t, ins, map[string]string{"santokit.op": "insert", "santokit.table": "users"})
	insSQL := col.one("stk-bridge", "INSERT users", trace2)
	wantAttrs(t, insSQL, map[string]string{"db.operation": "INSERT", "db.sql.table": "users"})
	if insSQL.parentID != ins.spanID {
		t.Fatal("the insert's statement span is not the insert call's child")
	}
	var bad *span
	for _, sp := range col.find("stk-bridge", "POST /call", traceID) {
		if sp.attrs["http.response.status_code"] == `{"Value":{"IntValue":400}}` {
			bad = &sp
		}
	}
	if bad == nil {
		t.Fatal("no span for the 400 call")
	}
	// The Hub API calls of setup (no traceparent) are root spans of the Hub.
	if len(col.find("stk-hub", "POST /v1/projects", "")) == 0 {
		t.Fatal("no Hub span for POST /v1/projects")
	}

	// Nothing secret or a value in any span of any service.
	secrets := []string{admin, reader, admin[strings.LastIndex(admin, "_")+1:], reader[strings.LastIndex(reader, "_")+1:],
		bridgeToken, s.hubToken, password, db, "ada@x", "zed@x", planted, "SELECT ", "INSERT INTO", "bridge-tests-owner-pw"}
	for _, sp := range col.all() {
		if _, ok := sp.attrs["db.statement"]; ok {
			t.Errorf("span %q carries db.statement", sp.name)
		}
		for k, v := range sp.attrs {
			for _, sec := range secrets {
				if strings.Contains(v, sec) {
					t.Errorf("span %q attribute %s = %q holds %q", sp.name, k, v, sec)
				}
			}
		}
	}
	if !strings.Contains(s.logs.String(), `"traceId":"`+traceID+`"`) {
		t.Fatalf("the access log lacks the trace id:\n%s", s.logs.String())
	}
	if !strings.Contains(hubLogs.String(), `"path":"/internal/v1/envs/demo/dev/bundle","status":200`) ||
		!strings.Contains(hubLogs.String(), `"traceId":"`+traceID+`"`) {
		t.Fatalf("the Hub's access log lacks the trace id of the bundle fetch:\n%s", hubLogs.String())
	}
	for _, sp := range col.all() {
		if !t.Failed() {
			break
		}
		t.Logf("%s %s trace=%s span=%s parent=%s %v", sp.service, sp.name, sp.traceID, sp.spanID, sp.parentID, sp.attrs)
	}
	col.mu.Lock()
	for _, p := range col.paths {
		if p != "/v1/traces" {
			t.Errorf("export to %q, want /v1/traces", p)
		}
	}
	col.mu.Unlock()
}

// With OTEL_EXPORTER_OTLP_ENDPOINT unset nothing is exported, and an
// incoming traceparent still reaches the access log.
func TestTracingOffLogsIncomingTraceID(t *testing.T) {
	s := newStack(t, nil)
	db := withPassword(t, testpg.New(t))
	pgExec(t, db, schemaSQL)
	_, reader, _ := s.setup(db)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	expect(t, s.call(merge(key(reader), map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}),
		map[string]any{"path": "db/main/users/select"}), 200, "", "")
	expect(t, s.call(key(reader), map[string]any{"path": "db/main/users/select"}), 200, "", "")
	logs := s.logs.String()
	if strings.Count(logs, `"traceId":`) != 1 || !strings.Contains(logs, `"traceId":"`+traceID+`"`) {
		t.Fatalf("want the one incoming trace id in the access log:\n%s", logs)
	}
	if !strings.Contains(logs, `"otlpEndpoint":""`) {
		t.Fatalf("the start-up config does not show tracing off:\n%s", logs)
	}
}

// A malformed OTEL_EXPORTER_OTLP_ENDPOINT stops either server at start,
// naming the variable; a valid one is kept.
func TestTracingConfig(t *testing.T) {
	env := map[string]string{"STK_BRIDGE_TOKEN": "t", "STK_MASTER_KEYS": "v1:x", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}
	getenv := func(k string) string { return env[k] }
	if _, err := ConfigFromEnv(getenv); err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_OTLP_ENDPOINT "collector:4318"`) {
		t.Fatalf("bridge: want an error naming the variable, got %v", err)
	}
	if _, err := hubserver.ConfigFromEnv(getenv); err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_OTLP_ENDPOINT "collector:4318"`) {
		t.Fatalf("hub: want an error naming the variable, got %v", err)
	}
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
	if c, err := ConfigFromEnv(getenv); err != nil || c.OTLPEndpoint != "http://127.0.0.1:4318" {
		t.Fatalf("bridge: %q %v", c.OTLPEndpoint, err)
	}
	if c, err := hubserver.ConfigFromEnv(getenv); err != nil || c.OTLPEndpoint != "http://127.0.0.1:4318" {
		t.Fatalf("hub: %q %v", c.OTLPEndpoint, err)
	}
}
