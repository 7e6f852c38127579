package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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

func TestWriteEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		code    Code
		message string
	}{
		{"api error", New(NotFound, "project %q not found", "x"), 404, NotFound, `project "x" not found`},
		{"wrapped api error", fmt.Errorf("ctx: %w", New(Conflict, "dup")), 409, Conflict, "dup"},
		{"internal text hidden", errors.New("pq: password=hunter2 failed"), 500, Internal, "internal error"},
		{"wrap keeps cause out", Wrap(ServiceUnavailable, errors.New("dial 10.0.0.1 password=x"), "connection %q: refused", "main"), 503, ServiceUnavailable, `connection "main": refused`},
		{"header", New(MethodNotAllowed, "no").WithHeader("Allow", "GET"), 405, MethodNotAllowed, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, "req_1", tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var body Body
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.code || body.Error.Message != tc.message || body.Error.RequestID != "req_1" {
				t.Fatalf("body %+v", body)
			}
			if tc.code == MethodNotAllowed && rec.Header().Get("Allow") != "GET" {
				t.Fatal("Allow header lost")
			}
		})
	}
}

func TestDetails(t *testing.T) {
	e := Validation("permissions do not validate", []Problem{{Path: "tables.users", Line: 3, Message: "unknown table"}})
	rec := httptest.NewRecorder()
	Write(rec, "r", e)
	var raw map[string]map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	problems := raw["error"]["details"].(map[string]any)["problems"].([]any)
	p := problems[0].(map[string]any)
	if rec.Code != http.StatusBadRequest || p["line"].(float64) != 3 || p["path"] != "tables.users" {
		t.Fatalf("got %d %v", rec.Code, raw)
	}
	// No details → no details key at all.
	rec = httptest.NewRecorder()
	Write(rec, "r", New(BadRequest, "x"))
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	if _, ok := raw["error"]["details"]; ok {
		t.Fatal("empty details serialized")
	}
}
