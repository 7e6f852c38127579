package api

import (
	"net/http"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// rotateConnection replaces a connection's URL (SPEC §10, `stk connections
// rotate`): 200 with the new version; an unknown connection is 404.
func (h *handlers) rotateConnection(w http.ResponseWriter, r *http.Request) {
	var in hubapi.PutConnection
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.RotateConnection(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"), in)
	h.reply(w, r, http.StatusOK, out, err)
}
