package api

import "net/http"

// releaseDiff answers GET /v1/projects/{p}/releases/diff?from=&to= (SPEC
// §9, §15).
func (h *handlers) releaseDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := h.svc.ReleaseDiff(r.Context(), actor(r.Context()), r.PathValue("p"), q.Get("from"), q.Get("to"))
	h.reply(w, r, http.StatusOK, out, err)
}
