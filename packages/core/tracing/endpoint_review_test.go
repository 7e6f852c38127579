package tracing

import (
	"strings"
	"testing"
)

// The OTLP/HTTP exporter keeps only an endpoint's scheme, host and path:
// user info or a query given there would be dropped silently (export then
// fails unauthenticated) while the start-up log printed them. They are
// refused, pointing at OTEL_EXPORTER_OTLP_HEADERS, and never echoed
// (#17 review, SPEC §12).
func TestEndpointCredentialsRefusedAndRedacted(t *testing.T) {
	for _, bad := range []string{"https://tok3n@otel.example.com", "https://u:s3cret@otel.example.com", "https://otel.example.com/?api_key=s3cret"} {
		err := CheckEndpoint(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_HEADERS") || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for in, want := range map[string]string{
		"https://tok3n@otel.example.com/x":   "https://xxxxx@otel.example.com/x",
		"https://u:s3cret@otel.example.com/": "https://u:xxxxx@otel.example.com/",
		"http://127.0.0.1:4318":              "http://127.0.0.1:4318",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
