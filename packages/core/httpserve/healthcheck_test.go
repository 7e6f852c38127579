package httpserve

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := Healthcheck([]string{srv.URL + "/healthz"}); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	if err := Healthcheck([]string{srv.URL + "/down"}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503 answer: %v, want an error naming 503", err)
	}
	if err := Healthcheck(nil); err == nil || !strings.Contains(err.Error(), "usage: healthcheck URL") {
		t.Fatalf("no URL: %v", err)
	}
	if err := Healthcheck([]string{"http://127.0.0.1:1/healthz"}); err == nil {
		t.Fatal("unreachable server: no error")
	}
}
