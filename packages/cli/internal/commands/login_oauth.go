package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// stk login through one of the Hub's OAuth providers (SPEC §7.1, issue 14,
// decisions 0026 and 0027): the browser flow, where a listener on a
// loopback address receives the Hub's redirect with a one-time code (RFC
// 8252, PKCE), and the device flow (RFC 8628) for machines without one.

// oauthLogin holds the flags of an OAuth login.
type oauthLogin struct {
	provider  string
	noBrowser bool
	device    bool
	timeout   time.Duration
	// set is true when any of the flags above was given.
	set bool
}

// callbackPath is the path of the loopback redirect URI.
const callbackPath = "/callback"

// chooseProvider picks the provider to log in with: "" means a password
// login (the Hub has none).
func (a *app) chooseProvider(ctx context.Context, c *hubclient.Client, o oauthLogin) (string, error) {
	list, err := c.Providers(ctx)
	var he *hubclient.Error
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		// A Hub from before OAuth logins: it has no providers.
		list, err = hubapi.List[hubapi.Provider]{}, nil
	}
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	switch {
	case len(names) == 0 && o.set:
		return "", usageErrorf("this Hub has no OAuth providers: log in with --email")
	case len(names) == 0:
		return "", nil
	case o.provider != "" && !slices.Contains(names, o.provider):
		return "", usageErrorf("--provider %q is not a provider of this Hub: use one of %s", o.provider, strings.Join(names, ", "))
	case o.provider != "":
		return o.provider, nil
	case len(names) == 1:
		return names[0], nil
	}
	return "", usageErrorf("this Hub has several OAuth providers: pass --provider with one of %s", strings.Join(names, ", "))
}

func (a *app) completeProviders(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return nil },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Provider], error) {
			return c.Providers(ctx)
		},
		func(p hubapi.Provider) string { return p.Name })(cmd, args, s)
}

// oauthLogin runs the browser or device flow with o.provider, within
// o.timeout, and stores the login like a password login.
func (a *app) oauthLogin(ctx context.Context, c *hubclient.Client, store *credentials.Store, path string, o oauthLogin) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	finish := func(toks hubapi.Tokens) error {
		email, err := a.loginEmail(ctx, toks.AccessToken)
		if err != nil {
			return err
		}
		return a.storeLogin(ctx, c, store, path, email, o.provider, toks)
	}
	var err error
	if o.device {
		err = a.deviceLogin(ctx, c, o, finish)
	} else {
		err = a.browserLogin(ctx, c, o, finish)
	}
	switch {
	case err == nil:
		return nil
	case parent.Err() != nil:
		return runtimeErrorf(apierr.Internal, "login canceled")
	case ctx.Err() != nil && o.device:
		return runtimeErrorf(apierr.Timeout, "the login was not approved within %s: run stk login --device again (--timeout sets how long to wait)", o.timeout)
	case ctx.Err() != nil:
		return runtimeErrorf(apierr.Timeout, "no login came back from the browser within %s: run stk login again (--timeout sets how long to wait)", o.timeout)
	}
	return err
}

// loginEmail asks the Hub who the new access token belongs to: the
// stored login and the printed line name the account.
func (a *app) loginEmail(ctx context.Context, accessToken string) (string, error) {
	if accessToken == "" {
		return "", runtimeErrorf(apierr.Internal, "the Hub at %s answered the login without an access token", redactedHub(a.hub))
	}
	c, err := hubclient.New(a.hub, hubclient.WithUserAgent("stk/"+a.version), hubclient.WithToken(accessToken))
	if err != nil {
		return "", usageErrorf("--hub: %v", err)
	}
	w, err := c.Whoami(ctx)
	if err != nil {
		return "", err
	}
	if w.Email != "" {
		return w.Email, nil
	}
	return w.Name, nil
}

// browserLogin runs the loopback browser flow: it listens on a loopback
// address, sends the browser to the Hub's start page with a PKCE challenge
// and a random state, and waits for the Hub's redirect to the listener.
// The listener takes the first request of this login's state (others get
// a 400 page and do not end the wait), exchanges its one-time code, calls
// finish, and then sends the browser to the Hub's result page.
func (a *app) browserLogin(ctx context.Context, c *hubclient.Client, o oauthLogin, finish func(hubapi.Tokens) error) error {
	ln, err := listenLoopback()
	if err != nil {
		return runtimeErrorf(apierr.Internal, "cannot listen on a loopback address for the browser's answer: %v", err)
	}
	verifier, state := randomToken(32), randomToken(24)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	redirectURI := "http://" + ln.Addr().String() + callbackPath
	startURL := c.OAuthStartURL(o.provider, redirectURI, challenge, state)

	outcome := make(chan error, 1)
	var taken atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+callbackPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			loopbackPage(w, http.StatusBadRequest, "This answer does not belong to the login that stk is waiting for. Go back to your terminal.")
			return
		}
		if !taken.CompareAndSwap(false, true) {
			loopbackPage(w, http.StatusBadRequest, "This login is over already. Go back to your terminal.")
			return
		}
		result, err := a.loopbackAnswer(ctx, c, q, verifier, finish)
		http.Redirect(w, r, c.OAuthDoneURL(result), http.StatusSeeOther)
		outcome <- err
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		loopbackPage(w, http.StatusNotFound, "Nothing here: stk is waiting for the Hub's answer on "+callbackPath+".")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the browser's redirect to the result page go out first.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	a.showLoginURL(startURL, o)
	select {
	case err := <-outcome:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loopbackAnswer handles the Hub's redirect of this login: the result
// page to send the browser to and the login's outcome.
func (a *app) loopbackAnswer(ctx context.Context, c *hubclient.Client, q url.Values, verifier string, finish func(hubapi.Tokens) error) (string, error) {
	if q.Get("error") != "" {
		result := q.Get("result")
		if !slices.Contains([]string{hubapi.ResultUnknownEmail, hubapi.ResultUnverifiedEmail, hubapi.ResultDisabled,
			hubapi.ResultDenied, hubapi.ResultExpired}, result) {
			result = hubapi.ResultError
		}
		msg := printable(q.Get("error_description"))
		if msg == "" {
			msg = "the login was refused"
		}
		return result, &cliError{exit: ExitUnauthorized, code: apierr.Forbidden, message: msg,
			details: map[string]any{"reason": hubapi.DeviceAccessDenied, "result": result}}
	}
	code := q.Get("code")
	if code == "" {
		return hubapi.ResultError, runtimeErrorf(apierr.Internal, "the Hub's answer carried neither a login code nor an error")
	}
	toks, err := c.OAuthToken(ctx, hubapi.OAuthToken{Code: code, CodeVerifier: verifier})
	if err != nil {
		var he *hubclient.Error
		if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
			return hubapi.ResultExpired, err
		}
		return hubapi.ResultError, err
	}
	if err := finish(toks); err != nil {
		return hubapi.ResultError, err
	}
	return hubapi.ResultSuccess, nil
}

// showLoginURL opens url in the browser, unless --no-browser or there is
// no way to, and says on stderr what to do; the URL is printed in every
// case, since the browser may open in another profile or not at all.
func (a *app) showLoginURL(u string, o oauthLogin) {
	switch {
	case o.noBrowser || a.openURL == nil:
		fmt.Fprintf(a.stderr, "Open this URL in your browser to log in:\n%s\n", u)
	default:
		if err := a.openURL(u); err != nil {
			fmt.Fprintf(a.stderr, "Could not open a browser (%v).\nOpen this URL in your browser to log in:\n%s\n", err, u)
		} else {
			fmt.Fprintf(a.stderr, "Opened your browser to log in with %s. If it did not open, open this URL:\n%s\n", o.provider, u)
		}
	}
	fmt.Fprintf(a.stderr, "Waiting for the login (up to %s)…\n", o.timeout)
}

// deviceLogin runs the device flow: it asks the Hub for a code, tells the
// user where to enter it, and polls until the login is approved, refused
// or expired, honouring the interval and each slow_down.
func (a *app) deviceLogin(ctx context.Context, c *hubclient.Client, o oauthLogin, finish func(hubapi.Tokens) error) error {
	dc, err := c.DeviceCode(ctx, o.provider)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "To log in, open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode)
	if dc.VerificationURIComplete != "" {
		fmt.Fprintf(a.stderr, "or open %s\n", dc.VerificationURIComplete)
	}
	fmt.Fprintf(a.stderr, "Waiting for the login (up to %s)…\n", o.timeout)
	interval := time.Duration(dc.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2's default
	}
	for {
		if err := a.wait(ctx, interval); err != nil {
			return err
		}
		toks, err := c.DeviceToken(ctx, dc.DeviceCode)
		if err == nil {
			return finish(toks)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason, next := hubclient.DevicePoll(err)
		var he *hubclient.Error
		errors.As(err, &he)
		switch reason {
		case hubapi.DeviceAuthorizationPending:
		case hubapi.DeviceSlowDown:
			if next > interval {
				interval = next
			} else {
				interval += 5 * time.Second // RFC 8628 §3.5
			}
		case hubapi.DeviceExpiredToken:
			return &cliError{exit: ExitError, code: he.Code, requestID: he.RequestID,
				message: "the code expired: run stk login --device again"}
		case hubapi.DeviceAccessDenied:
			env := he.Envelope
			return &cliError{exit: ExitUnauthorized, code: he.Code, message: printable(he.Message),
				requestID: he.RequestID, details: he.Details, envelope: &env}
		default:
			return err
		}
	}
}

// listenLoopback listens on a free port of 127.0.0.1, else of [::1]: the
// only redirect URIs the Hub accepts (RFC 8252 §7.3; "localhost" could
// resolve elsewhere).
func listenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err == nil {
		return ln, nil
	}
	if ln6, err6 := net.Listen("tcp6", "[::1]:0"); err6 == nil {
		return ln6, nil
	}
	return nil, err
}

// randomToken is n random bytes, base64url without padding: PKCE verifiers
// (32 bytes give 43 characters, RFC 7636 §4.1) and states.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// printable is text from a redirect URL or the Hub, made safe for a
// terminal: no control characters (escape sequences), at most 300 runes.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 300 {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// loopbackPage answers the browser with a small page of its own: only for
// requests that are not this login's answer (which goes to the Hub's
// result page instead).
func loopbackPage(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stk login</title></head>"+
		"<body><h1>stk login</h1><p>%s</p></body></html>\n", html.EscapeString(text))
}

// openBrowser opens u in the system's browser, without a shell: u is one
// argument of the platform's opener.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it; its exit status says nothing reliable
	return nil
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
