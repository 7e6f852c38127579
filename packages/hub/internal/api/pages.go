package api

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
)

// The Hub's few HTML pages (decision 0026): the result of a browser or
// device login and the device code form. Small, accessible, no external
// assets and no script; every text is fixed by the Hub or escaped. The
// form posts to the relative "device" (its own URL), so that a Hub served
// under a path prefix by a proxy still works.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Santokit Hub</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}
.error{color:#a40000;font-weight:600}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{font:inherit;font-size:1.25rem;letter-spacing:.1em;padding:.4rem;text-transform:uppercase}
button{font:inherit;padding:.5rem 1rem;margin-top:.75rem}
code{font-size:.95em}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="device">
<label for="user_code">Code shown in your terminal</label>
<input id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" autocapitalize="characters" spellcheck="false" required maxlength="16" placeholder="XXXX-XXXX" aria-describedby="hint">
<p id="hint">Eight letters, as <code>stk login --device</code> printed them; the dash is optional.</p>
<button type="submit">Continue</button>
</form>{{end}}
</main>
</body>
</html>
`))

type htmlPage struct {
	Title    string
	Message  string
	Error    string
	Form     bool
	UserCode string
	// FormTargets are origins the form's post may be redirected to (the
	// providers' authorization endpoints), besides the Hub itself.
	FormTargets []string
}

// pageHeaders are set on every page and on the redirects of the login
// flows: nothing is cached, no Referer leaves with a code in the URL, the
// page cannot be framed and runs no script. Browsers apply form-action to
// every redirect that follows a form's post too (Chromium blocks the
// navigation), so formTargets must name where the device form's answer
// sends the browser.
func pageHeaders(h http.Header, formTargets ...string) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+
		strings.Join(append([]string{"'self'"}, formTargets...), " "))
}

func writePage(w http.ResponseWriter, status int, p htmlPage) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pageHeaders(w.Header(), p.FormTargets...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// redirect sends the browser on with the login flows' headers.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	pageHeaders(w.Header())
	http.Redirect(w, r, to, http.StatusFound)
}

// wantsHTML: a browser (Accept names text/html) gets pages, other clients
// §3 envelopes.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

// failPage answers err as a page to a browser, or as an envelope.
func (h *handlers) failPage(w http.ResponseWriter, r *http.Request, err error, form bool, userCode string) {
	if !wantsHTML(r) {
		h.fail(w, r, err)
		return
	}
	e := apierr.As(err)
	if e.Code == apierr.Internal {
		h.log.Error("internal error", "requestId", RequestID(r.Context()), "message", e.Message, "cause", causeText(e))
	}
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	title, page := "Login failed", htmlPage{Error: e.Message, Form: form, UserCode: userCode}
	if form {
		title, page.FormTargets = "Log in to the Santokit Hub", h.svc.AuthorizationOrigins(r.Context())
	}
	page.Title = title
	writePage(w, e.Status(), page)
}
