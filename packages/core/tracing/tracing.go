// Package tracing is the Hub's and the Bridge's OpenTelemetry tracing
// (SPEC §12; decision 0032): one Tracer per server, exporting spans over
// OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and nothing at all
// otherwise — a nil *Tracer is the disabled one: no provider, no exporter
// goroutine, no span allocated on the request path. Incoming W3C
// traceparent headers are honoured either way, so that the access log's
// traceId joins the caller's trace; outgoing requests (the Bridge's Hub
// fetches) carry one when tracing is on. Attributes name things (op,
// connection, table, logic, project, env, route, status) and never carry
// values, keys, tokens or SQL text: callers pass only those.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// EndpointVariable is the variable that turns export on (SPEC §12).
const EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT"

// Tracer makes the spans of one server. A nil *Tracer is tracing off:
// every method is safe to call on it and costs nothing beyond the check.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// propagator is W3C Trace Context (traceparent, tracestate). It is a
// stateless value, built where needed.
func propagator() propagation.TraceContext { return propagation.TraceContext{} }

// CheckEndpoint validates OTEL_EXPORTER_OTLP_ENDPOINT's value: "" (off) or
// an http(s) base URL, to which /v1/traces is appended (the OTLP/HTTP
// convention for this variable). The exporter keeps only scheme, host and
// path, so user info or a query (a collector's credential) would be
// dropped silently: they are refused, pointing at the headers variable.
func CheckEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s %q: want http(s)://host[:port][/path], the OTLP/HTTP collector's base URL", EndpointVariable, Redact(endpoint))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s %q: no user info, query or fragment (the exporter would drop them): give the collector's credentials in OTEL_EXPORTER_OTLP_HEADERS",
			EndpointVariable, Redact(endpoint))
	}
	return nil
}

// Redact is endpoint without credentials, for logs: no query, and user
// info masked whole (a user name alone may be a token).
func Redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparsable)"
	}
	u.RawQuery, u.Fragment = "", ""
	if u.User != nil {
		if _, hasPassword := u.User.Password(); !hasPassword {
			u.User = url.User("xxxxx")
		}
	}
	return u.Redacted()
}

// New returns the tracer of service (stk-hub, stk-bridge) at version,
// exporting to endpoint; nil when endpoint is "" (tracing off). Spans are
// batched and exported in the background; every trace is sampled unless
// its incoming parent was not (parent-based). Headers of the export
// (OTEL_EXPORTER_OTLP_HEADERS) and its other OTEL_EXPORTER_OTLP_* settings
// are read by the exporter itself.
func New(ctx context.Context, endpoint, service, version string) (*Tracer, error) {
	if endpoint == "" {
		return nil, nil
	}
	if err := CheckEndpoint(endpoint); err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EndpointVariable, err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", service), attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return FromProvider(tp), nil
}

// FromProvider is a Tracer making its spans with tp: tests record spans
// in memory with it; New uses it with an OTLP exporter.
func FromProvider(tp *sdktrace.TracerProvider) *Tracer {
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/santokit/santokit")}
}

// Enabled reports whether spans are made and exported.
func (t *Tracer) Enabled() bool { return t != nil }

// Shutdown exports the spans still queued, within ctx, and stops.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Start starts a span named name under ctx's span; with tracing off it
// returns ctx and a non-recording span without allocating.
func (t *Tracer) Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// StartServer starts the server span of r, named name(r), as a child of r's
// traceparent when it has a valid one. With tracing off, r is returned
// unchanged unless it carries a traceparent, whose trace id then goes into
// the context for the access log (TraceID). The returned span is
// non-recording when tracing is off.
func (t *Tracer) StartServer(r *http.Request, name func(*http.Request) string) (*http.Request, trace.Span) {
	noop := trace.SpanFromContext(context.Background())
	if t == nil && r.Header.Get("Traceparent") == "" {
		return r, noop
	}
	ctx := propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	if t == nil {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return r, noop
		}
		return r.WithContext(ctx), noop
	}
	ctx, span := t.tracer.Start(ctx, name(r), trace.WithSpanKind(trace.SpanKindServer))
	return r.WithContext(ctx), span
}

// EndServer records status on a server span and ends it: 5xx marks it
// failed (the span carries the status code, never an error's text).
func EndServer(span trace.Span, status int, attrs ...attribute.KeyValue) {
	if !span.IsRecording() {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// Fail marks span failed with a fixed description (never an error's
// text: a driver's message may quote row values).
func Fail(span trace.Span, what string) {
	if span.IsRecording() {
		span.SetStatus(codes.Error, what)
	}
}

// Inject writes ctx's trace context into h (traceparent) when tracing is
// on, so that the Hub's spans join the Bridge's trace.
func (t *Tracer) Inject(ctx context.Context, h http.Header) {
	if t != nil {
		propagator().Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// TraceID is the trace id of ctx's span, or "" when it has none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// Detach returns base carrying ctx's span context (not its deadline or
// values): work done on behalf of a request in the background, such as a
// shared bundle load, joins that request's trace.
func Detach(base, ctx context.Context) context.Context {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return trace.ContextWithSpanContext(base, sc)
	}
	return base
}

// PathValue returns the segment of path under the wildcard {name} of the
// ServeMux pattern ("GET /v1/projects/{project}/envs/{env}"), or "".
func PathValue(pattern, path, name string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		pattern = pattern[i:]
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	for i, p := range ps {
		if i < len(xs) && (p == "{"+name+"}" || p == "{"+name+"...}") {
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return ""
			}
			return v
		}
	}
	return ""
}
