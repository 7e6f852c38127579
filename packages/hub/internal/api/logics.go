package api

import (
	"net/http"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// putLogics stages a logic directory (SPEC §6, §15): {files: {path: text}}.
func (h *handlers) putLogics(w http.ResponseWriter, r *http.Request) {
	var in hubapi.ApplyLogics
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ApplyLogics(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), in)
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) getLogics(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetLogics(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, out, err)
}

// runLogic runs a logic of the current release as an operator (stk logic
// run): {name, params} → {data} or {meta: {affected}}, like /call.
func (h *handlers) runLogic(w http.ResponseWriter, r *http.Request) {
	var in hubapi.RunLogic
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.RunLogic(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), in)
	h.reply(w, r, http.StatusOK, out, err)
}
