package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/schema"
)

// BenchmarkCallPostgresLogic is BenchmarkCallPostgres for the same row
// read by a readonly logic (SPEC §6), and its Auto CRUD twin in the same
// run: the difference is the read-only transaction a readonly logic runs
// in (decision 0024) where the Auto CRUD select shares a read pipeline.
func BenchmarkCallPostgresLogic(b *testing.B) {
	s := &stack{t: b}
	s.hubURL, s.hubToken = startHub(b)
	get := logic.Logic{Name: "users/get", Auth: logic.AuthRoles, Roles: []string{"reader"}, Connection: "main", Readonly: true,
		Params:  []logic.Param{{Name: "id", Type: logic.TypeInteger, Required: true}},
		SQL:     `SELECT id, email, name FROM users WHERE id = $1`,
		Binds:   []logic.Bind{{Kind: logic.BindParam, Name: "id"}},
		Columns: []logic.Column{{Name: "id", Type: schema.Bigint}, {Name: "email", Type: schema.Text}, {Name: "name", Type: schema.Text}}}
	proxied := bundleProxy(b, s.hubURL, func(bu *bundle.Bundle) { bu.Release.Logics = []logic.Logic{get} })
	s.bridge, s.bridgeURL, s.logs = startBridge(b, testConfig(proxied))
	db := withPassword(b, testpg.New(b))
	pgExec(b, db, schemaSQL)
	_, reader, _ := s.setup(db)
	h := s.bridge.Handler()
	for _, bc := range []struct{ name, body string }{
		{"crud", `{"path":"db/main/users/select","params":{"where":{"id":ID}}}`},
		{"logic", `{"path":"logics/users/get","params":{"id":ID}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			call := func(id int) *httptest.ResponseRecorder {
				body := bytes.Replace([]byte(bc.body), []byte("ID"), []byte(strconv.Itoa(id)), 1)
				req := httptest.NewRequest("POST", "/call", bytes.NewReader(body))
				req.Header.Set("X-Santokit-Api-Key", reader)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w
			}
			if w := call(1); w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"Ada"`)) {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if w := call(1 + i%2); w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
