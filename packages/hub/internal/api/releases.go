package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func (h *handlers) putPermissions(w http.ResponseWriter, r *http.Request) {
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		h.fail(w, r, bodyErr(err))
		return
	}
	out, err := h.svc.ApplyPermissions(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), src)
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) getPermissions(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetPermissions(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) createRelease(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateRelease
	if err := decodeOptional(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateRelease(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), in)
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) listReleases(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListReleases(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Release]{Items: out}, err)
}

func (h *handlers) currentRelease(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.CurrentRelease(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) getRelease(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetRelease(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("id"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) rollback(w http.ResponseWriter, r *http.Request) {
	var in hubapi.Rollback
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.To == "" {
		h.fail(w, r, required("to"))
		return
	}
	out, err := h.svc.Rollback(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), in)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) promote(w http.ResponseWriter, r *http.Request) {
	var in hubapi.Promote
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.Promote(r.Context(), actor(r.Context()), r.PathValue("p"), in)
	status := http.StatusCreated
	if out.Reused {
		status = http.StatusOK
	}
	h.reply(w, r, status, out, err)
}

func (h *handlers) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateAPIKey
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	out, err := h.svc.CreateAPIKey(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListAPIKeys(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.APIKey]{Items: out}, err)
}

func (h *handlers) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.RevokeAPIKey(r.Context(), actor(r.Context()), r.PathValue("p"), r.PathValue("e"), r.PathValue("keyId"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) projectAudit(w http.ResponseWriter, r *http.Request) {
	limit, before, err := page(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ProjectAudit(r.Context(), actor(r.Context()), r.PathValue("p"), limit, before)
	h.reply(w, r, http.StatusOK, eventPage(out, limit), err)
}

func (h *handlers) orgAudit(w http.ResponseWriter, r *http.Request) {
	limit, before, err := page(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.OrgAudit(r.Context(), actor(r.Context()), r.URL.Query().Get("org"), limit, before)
	h.reply(w, r, http.StatusOK, eventPage(out, limit), err)
}

// defaultPage is the audit page size when ?limit= is absent.
const defaultPage = 50

// page reads ?limit= and ?before= (SPEC §9).
func page(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	limit := defaultPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, "", apierr.New(apierr.BadRequest, "limit must be a positive integer").
				WithDetail("problems", []apierr.Problem{{Path: "limit", Message: "positive integer"}})
		}
		limit = n
	}
	return limit, q.Get("before"), nil
}

// eventPage sets nextCursor when the page is full: the last event's id,
// to pass as ?before= for the next page.
func eventPage(items []hubapi.AuditEvent, limit int) hubapi.List[hubapi.AuditEvent] {
	out := hubapi.List[hubapi.AuditEvent]{Items: items}
	if len(items) == limit && limit > 0 {
		out.NextCursor = items[len(items)-1].ID
	}
	return out
}

func required(field string) error {
	return apierr.New(apierr.BadRequest, "%s is required", field).
		WithDetail("problems", []apierr.Problem{{Path: field, Message: "required"}})
}
