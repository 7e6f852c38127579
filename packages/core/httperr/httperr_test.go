package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

func TestWriteEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		code    apierr.Code
		message string
	}{
		{"api error", apierr.New(apierr.NotFound, "project %q not found", "x"), 404, apierr.NotFound, `project "x" not found`},
		{"wrapped api error", fmt.Errorf("ctx: %w", apierr.New(apierr.Conflict, "dup")), 409, apierr.Conflict, "dup"},
		{"internal text hidden", errors.New("pq: password=hunter2 failed"), 500, apierr.Internal, "internal error"},
		{"wrap keeps cause out", apierr.Wrap(apierr.ServiceUnavailable, errors.New("dial 10.0.0.1 password=x"), "connection %q: refused", "main"), 503, apierr.ServiceUnavailable, `connection "main": refused`},
		{"header", apierr.New(apierr.MethodNotAllowed, "no").WithHeader("Allow", "GET"), 405, apierr.MethodNotAllowed, "no"},
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
			var body apierr.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.code || body.Error.Message != tc.message || body.Error.RequestID != "req_1" {
				t.Fatalf("body %+v", body)
			}
			if tc.code == apierr.MethodNotAllowed && rec.Header().Get("Allow") != "GET" {
				t.Fatal("Allow header lost")
			}
		})
	}
}

func TestDetails(t *testing.T) {
	e := apierr.Validation("permissions do not validate", []apierr.Problem{{Path: "tables.users", Line: 3, Message: "unknown table"}})
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
	Write(rec, "r", apierr.New(apierr.BadRequest, "x"))
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	if _, ok := raw["error"]["details"]; ok {
		t.Fatal("empty details serialized")
	}
}
