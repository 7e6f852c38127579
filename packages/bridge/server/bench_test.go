package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/santokit/santokit/internal/testpg"
)

// BenchmarkCallPostgres measures one select-by-primary-key /call through
// the Bridge's whole handler (request id, access log, API key, planner,
// pool, PostgreSQL round trip, response) without the network, to count the
// allocations the load test (tools/callbench) pays per request. Logs are
// at info level, as in production.
func BenchmarkCallPostgres(b *testing.B) {
	s := newStack(b, nil)
	db := withPassword(b, testpg.New(b))
	pgExec(b, db, schemaSQL)
	_, reader, _ := s.setup(db)
	h := s.bridge.Handler()
	call := func(id int) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/call", bytes.NewReader([]byte(`{"path":"db/main/users/select","params":{"where":{"id":`+strconv.Itoa(id)+`}}}`)))
		req.Header.Set("X-Santokit-Api-Key", reader)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := call(1); w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"Ada"`)) {
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	s.logs.mu.Lock()
	s.logs.b.Reset()
	s.logs.mu.Unlock()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if w := call(1 + i%2); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
