package server

import (
	"net/http"

	"github.com/santokit/santokit/packages/core/buildinfo"
)

// version answers GET /v1/version with the Hub's body (hubapi.Version): the
// release version, commit and build date stamped by `make release`, so an
// operator or `stk doctor` can tell which build a Bridge runs.
func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	bi := buildinfo.Read()
	if s.cfg.Version != "" {
		bi.Version = s.cfg.Version
	}
	writeJSON(w, http.StatusOK, bi)
}
