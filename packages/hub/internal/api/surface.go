package api

import "net/http"

// currentSurface answers GET …/releases/current/surface: what the current
// release lets callers reach, for `stk gen types` (SPEC §13).
func (h *handlers) currentSurface(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.CurrentSurface(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, out, err)
}
