package apierr

import (
	"testing"
)

func TestStatusMapping(t *testing.T) {
	want := map[Code]int{
		BadRequest: 400, SchemaValidationFailed: 400, Unauthorized: 401, Forbidden: 403,
		NotFound: 404, MethodNotAllowed: 405, Conflict: 409, SchemaDrift: 409,
		PayloadTooLarge: 413, TooManyRequests: 429, Internal: 500, ServiceUnavailable: 503,
		Timeout: 504,
	}
	if len(Codes()) != len(want) {
		t.Fatalf("Codes() has %d codes, SPEC §3 has %d", len(Codes()), len(want))
	}
	for _, c := range Codes() {
		if c.Status() != want[c] {
			t.Errorf("%s → %d, want %d", c, c.Status(), want[c])
		}
	}
	if Code("NOPE").Status() != 500 {
		t.Error("unknown code must be 500")
	}
}
