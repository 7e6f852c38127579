package api

import (
	"net/http"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/service"
)

// Operator login through identity providers (SPEC §7.1, decision 0026).
// Every route here is open (no operator credential): the browser and the
// CLI are not logged in yet.

func (h *handlers) providers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, hubapi.List[hubapi.Provider]{Items: h.svc.Providers()})
}

func (h *handlers) oauthStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to, err := h.svc.StartBrowserLogin(r.Context(), r.PathValue("provider"), service.BrowserStart{
		RedirectURI: q.Get("redirect_uri"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), State: q.Get("state")}, peerAddr(r))
	if err != nil {
		h.failPage(w, r, err, false, "")
		return
	}
	redirect(w, r, to.URL)
}

func (h *handlers) oauthCallback(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.OAuthCallback(r.Context(), r.PathValue("provider"), r.URL.Query(), r.Cookies())
	if out.Cookie != nil {
		http.SetCookie(w, out.Cookie)
	}
	switch {
	case err != nil:
		h.failPage(w, r, err, false, "")
	case out.Redirect != "":
		redirect(w, r, out.Redirect)
	default:
		resultPage(w, out.Result)
	}
}

// resultPage renders the fixed text of a login result.
func resultPage(w http.ResponseWriter, result string) {
	switch result {
	case hubapi.ResultSuccess:
		writePage(w, http.StatusOK, htmlPage{Title: "You are logged in", Message: service.ResultMessage(result)})
	case hubapi.ResultExpired:
		writePage(w, http.StatusBadRequest, htmlPage{Title: "Login link invalid", Error: service.ResultMessage(result)})
	default:
		writePage(w, http.StatusForbidden, htmlPage{Title: "Login refused", Error: service.ResultMessage(result)})
	}
}

// oauthDone is the page the CLI's loopback sends the browser to once it
// knows the outcome. Only the result's fixed text is shown; nothing of the
// URL is echoed.
func (h *handlers) oauthDone(w http.ResponseWriter, r *http.Request) {
	result := r.URL.Query().Get("result")
	if result == hubapi.ResultSuccess {
		writePage(w, http.StatusOK, htmlPage{Title: "You are logged in", Message: service.ResultMessage(result)})
		return
	}
	writePage(w, http.StatusOK, htmlPage{Title: "Login failed", Error: service.ResultMessage(result)})
}

func (h *handlers) oauthToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var in hubapi.OAuthToken
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.OAuthToken(r.Context(), in)
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) deviceCode(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var in hubapi.DeviceCodeRequest
	if err := decodeOptional(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.DeviceCode(r.Context(), in, peerAddr(r))
	h.reply(w, r, http.StatusOK, out, err)
}

func (h *handlers) deviceToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var in hubapi.DeviceToken
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.DeviceToken(r.Context(), in)
	h.reply(w, r, http.StatusOK, out, err)
}

// devicePage is the form where a user types the code stk login --device
// printed (prefilled from verificationUriComplete).
func (h *handlers) devicePage(w http.ResponseWriter, r *http.Request) {
	writePage(w, http.StatusOK, htmlPage{Title: "Log in to the Santokit Hub", Form: true,
		Message: "Enter the code shown in your terminal to log in with your identity provider. " +
			"Continue only if you ran stk login --device yourself: whoever started this login receives your session.",
		UserCode: userCodeText(r.URL.Query().Get("user_code")), FormTargets: h.svc.AuthorizationOrigins(r.Context())})
}

// userCodeText is what the form shows back of a typed or linked code:
// letters and dashes only, 16 at most, so that a crafted link cannot put
// words of its own on the Hub's page.
func userCodeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' {
			return r
		}
		return -1
	}, s)
	return clip(s, 16)
}

// deviceVerify takes the form's code and starts the provider login for
// it, or shows the form again with what is wrong. A cross-site post is
// refused (Sec-Fetch-Site, else Origin against Host): otherwise any web
// page could post an attacker's user code from a victim's browser, which
// would then carry the flow's cookie and approve the attacker's device
// with the victim's identity at the provider.
func (h *handlers) deviceVerify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	r.Header.Set("Accept", "text/html") // a form post: answer pages
	if err := h.crossOrigin.Check(r); err != nil {
		h.failPage(w, r, apierr.New(apierr.Forbidden, "this form was posted from another site: open the Hub's device page yourself and enter your code"), true, "")
		return
	}
	if err := r.ParseForm(); err != nil {
		h.failPage(w, r, apierr.New(apierr.BadRequest, "the form could not be read: enter the code again"), true, "")
		return
	}
	code := r.PostForm.Get("user_code")
	to, err := h.svc.DeviceVerify(r.Context(), code, peerAddr(r))
	if err != nil {
		h.failPage(w, r, err, true, userCodeText(code))
		return
	}
	http.SetCookie(w, to.Cookie)
	redirect(w, r, to.URL)
}

// noStore marks answers that carry codes or tokens as not cacheable
// (RFC 6749 §5.1, RFC 8628 §3.2).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
