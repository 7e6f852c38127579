package api

import (
	"net/http"
	"strconv"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/hub/internal/service"
)

// deletion reads the query of a DELETE of a connection, env or project:
// ?confirm=NAME (required, checked by the service) and ?force=true|false.
func deletion(r *http.Request) (service.Deletion, error) {
	q := r.URL.Query()
	d := service.Deletion{Confirm: q.Get("confirm")}
	if s := q.Get("force"); s != "" {
		f, err := strconv.ParseBool(s)
		if err != nil {
			return d, apierr.New(apierr.BadRequest, "force must be true or false").
				WithDetail("problems", []apierr.Problem{{Path: "force", Message: "true or false"}})
		}
		d.Force = f
	}
	return d, nil
}

func (h *handlers) deleteConnection(w http.ResponseWriter, r *http.Request) {
	d, err := deletion(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.DeleteConnection(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("name"), d)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) deleteEnv(w http.ResponseWriter, r *http.Request) {
	d, err := deletion(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.DeleteEnv(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), d)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) deleteProject(w http.ResponseWriter, r *http.Request) {
	d, err := deletion(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.DeleteProject(r.Context(), actor(r.Context()), r.PathValue("p"), d)
	h.reply(w, r, http.StatusOK, out, err)
}
