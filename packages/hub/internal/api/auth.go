package api

import (
	"net"
	"net/http"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/metrics"
	"github.com/santokit/santokit/packages/hub/internal/service"
)

// Operator auth, CI tokens, users, orgs and members (SPEC §7.1, §15).

func (h *handlers) jwks(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.Keys().JWKS(r.Context())
	if err != nil {
		err = apierr.Wrap(apierr.Internal, err, "internal error")
	}
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	var in hubapi.Login
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	out, err := h.svc.Login(r.Context(), in, peerAddr(r))
	if err != nil {
		switch apierr.As(err).Code {
		case apierr.Unauthorized:
			h.cfg.Metrics.LoginFailed(metrics.LoginBadCredentials)
		case apierr.TooManyRequests:
			h.cfg.Metrics.LoginFailed(metrics.LoginRateLimited)
		}
	}
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) refresh(w http.ResponseWriter, r *http.Request) {
	var in hubapi.Refresh
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	out, err := h.svc.Refresh(r.Context(), in)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	var in hubapi.Refresh
	if err := decodeOptional(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	err := h.svc.Logout(r.Context(), actor(r.Context()), in)
	h.reply(w, r, http.StatusOK, hubapi.Status{Status: "ok"}, err)
}

func (h *handlers) whoami(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.Whoami(r.Context(), actor(r.Context()))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) createToken(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateToken
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	out, err := h.svc.CreateToken(r.Context(), actor(r.Context()), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listTokens(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListTokens(r.Context(), actor(r.Context()))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Token]{Items: out}, err)
}

func (h *handlers) revokeToken(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.RevokeToken(r.Context(), actor(r.Context()), r.PathValue("id"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) createUser(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateUser
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateUser(r.Context(), actor(r.Context()), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listUsers(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListUsers(r.Context(), actor(r.Context()))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.User]{Items: out}, err)
}

func (h *handlers) disableUser(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.DisableUser(r.Context(), actor(r.Context()), r.PathValue("email"))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) createOrg(w http.ResponseWriter, r *http.Request) {
	var in hubapi.CreateOrg
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateOrg(r.Context(), actor(r.Context()), in)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) listOrgs(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListOrgs(r.Context(), actor(r.Context()))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Org]{Items: out}, err)
}

// memberScope reads {org} or {p} of the member routes.
func memberScope(r *http.Request) service.MemberScope {
	return service.MemberScope{Org: r.PathValue("org"), Project: r.PathValue("p")}
}

func (h *handlers) listMembers(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ListMembers(r.Context(), actor(r.Context()), memberScope(r))
	h.reply(w, r, http.StatusOK, hubapi.List[hubapi.Membership]{Items: out}, err)
}

func (h *handlers) addMember(w http.ResponseWriter, r *http.Request) {
	var in hubapi.PutMember
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, _, err := h.svc.PutMember(r.Context(), actor(r.Context()), memberScope(r), in.Email, in, true)
	h.reply(w, r, http.StatusCreated, out, err)
}

func (h *handlers) setMemberRole(w http.ResponseWriter, r *http.Request) {
	var in hubapi.PutMember
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Email != "" {
		h.fail(w, r, apierr.New(apierr.BadRequest, "the member's email is in the path; the body holds only role").
			WithDetail("problems", []apierr.Problem{{Path: "email", Message: "not allowed here"}}))
		return
	}
	out, _, err := h.svc.PutMember(r.Context(), actor(r.Context()), memberScope(r), r.PathValue("email"), in, false)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) removeMember(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.RemoveMember(r.Context(), actor(r.Context()), memberScope(r), r.PathValue("email"))
	h.reply(w, r, http.StatusOK, out, err)
}

// peerAddr is the client's address for per-address rate limits: the peer
// address, not X-Forwarded-For, which a client could forge to dodge them.
func peerAddr(r *http.Request) string {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return addr
}
