package api

import (
	"io"
	"net/http"
)

// putAuthConfig stages an auth.yaml (SPEC §7.3, §15): the body is the YAML
// text, as for permissions.
func (h *handlers) putAuthConfig(w http.ResponseWriter, r *http.Request) {
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		h.fail(w, r, bodyErr(err))
		return
	}
	out, err := h.svc.ApplyAuthConfig(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), src)
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) getAuthConfig(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetAuthConfig(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, out, err)
}
