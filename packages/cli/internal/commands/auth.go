package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/names"
)

// maxSecretBytes bounds what --password-stdin reads.
const maxSecretBytes = 4 << 10

func (a *app) loginCmd() *cobra.Command {
	var email string
	var fromStdin bool
	var o oauthLogin
	c := &cobra.Command{
		Use:   "login",
		Short: "Log in to a Hub and store the tokens for this profile",
		Long: `Log in to a Hub and store the access and refresh tokens for --profile
(default "default") in $XDG_CONFIG_HOME/santokit/credentials.json
($HOME/.config/santokit/… when XDG_CONFIG_HOME is unset), mode 0600; later
commands use them, refreshing the access token as needed, and talk to this Hub
unless --hub or STK_HUB_URL name another.

When the Hub has OAuth providers (a company identity provider, GitHub), stk
login without --email logs in through one of them in a browser: it opens the
system browser on the Hub's login page and waits (up to --timeout) for the
browser to come back to a listener on 127.0.0.1. --no-browser prints the URL
instead, to open in any browser of this machine. --provider names the
provider when the Hub has several. On a machine without a browser, --device
prints a URL and a code to enter in a browser elsewhere, and waits for that
login. A refused login (e.g. no operator account has your email) exits 3.

With --email, or on a Hub without providers, stk logs in with an email and a
password: without flags it prompts for both on the terminal (the password
without echo); in scripts pass --email and pipe the password with
--password-stdin. A wrong email or password exits 3.`,
		Example: `  stk login --hub https://hub.example.com
  stk login --hub https://hub.example.com --provider corp --no-browser
  stk login --hub https://hub.example.com --device
  printf '%s' "$STK_PASSWORD" | stk login --email ops@example.com --password-stdin
  stk login --profile prod --hub https://hub.example.com --email ops@example.com`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			o.set = fl.Changed("provider") || fl.Changed("no-browser") || fl.Changed("device") || fl.Changed("timeout")
			if (email != "" || fromStdin) && o.set {
				return usageErrorf("--email and --password-stdin log in with a password, --provider, --no-browser, --device and --timeout through an OAuth provider: give one kind")
			}
			if o.timeout <= 0 {
				return usageErrorf("--timeout must be positive, e.g. 5m")
			}
			var password string
			switch {
			case email == "" && fromStdin:
				return usageErrorf("--password-stdin needs --email: standard input carries the password")
			case fromStdin:
				if err := checkEmail("--email", email); err != nil {
					return err
				}
				var err error
				if password, err = readSecret(a.stdin, "--password-stdin"); err != nil {
					return err
				}
			}
			path, err := credentials.DefaultPath(a.getenv)
			if err != nil {
				return runtimeErrorf(apierr.Internal, "%v", err)
			}
			store := credentials.New(path)
			if !a.hubSet {
				// Log in again where the profile was logged in.
				if e, ok, err := store.Get(a.profile); err == nil && ok && e.Hub != "" {
					a.hub = e.Hub
				}
			}
			c, err := hubclient.New(a.hub, hubclient.WithUserAgent("stk/"+a.version))
			if err != nil {
				return usageErrorf("--hub: %v", err)
			}
			a.auth = authLogin
			if email == "" && !fromStdin {
				provider, err := a.chooseProvider(cmd.Context(), c, o)
				if err != nil {
					return err
				}
				if provider != "" {
					o.provider = provider
					return a.oauthLogin(cmd.Context(), c, store, path, o)
				}
			}
			tty, isTTY := a.terminal()
			switch {
			case fromStdin:
			case !isTTY:
				return usageErrorf("standard input is not a terminal: pass --email E and the password on standard input with --password-stdin")
			default:
				if email == "" {
					if email, err = promptLine(tty, a.stderr, "Email: "); err != nil {
						return err
					}
				}
				if err := checkEmail("email", email); err != nil {
					return err
				}
				if password, err = promptPassword(tty, a.stderr, "Password: "); err != nil {
					return err
				}
			}
			toks, err := c.Login(cmd.Context(), hubapi.Login{Email: email, Password: password})
			if err != nil {
				return err
			}
			return a.storeLogin(cmd.Context(), c, store, path, email, "", toks)
		}),
	}
	f := c.Flags()
	f.StringVar(&email, "email", "", "email of the account, for a password login (prompted for when omitted on a terminal)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input (needs --email)")
	f.StringVar(&o.provider, "provider", "", "OAuth provider of the Hub to log in with (needed when it has several)")
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the login URL instead of opening the system browser")
	f.BoolVar(&o.device, "device", false, "log in with a code entered in a browser on any machine (device flow)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the login in the browser")
	_ = c.RegisterFlagCompletionFunc("email", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("provider", a.completeProviders)
	return c
}

// storeLogin stores the tokens of a login (password or OAuth) for the
// profile and prints the result: the same entry, line and --json document
// whichever way the user logged in.
func (a *app) storeLogin(ctx context.Context, c *hubclient.Client, store *credentials.Store, path, email, provider string, toks hubapi.Tokens) error {
	if toks.AccessToken == "" {
		return runtimeErrorf(apierr.Internal, "the Hub at %s answered the login without an access token", c.URL())
	}
	e := credentials.Entry{
		Hub: c.HubKey(), Email: email,
		AccessToken: toks.AccessToken, RefreshToken: toks.RefreshToken,
		AccessExpiresAt: hubclient.ExpiresAt(time.Now(), toks.ExpiresIn),
	}
	if err := store.Put(ctx, a.profile, e); err != nil {
		return runtimeErrorf(apierr.Internal, "logged in, but storing the credentials failed: %v", err)
	}
	if a.json {
		return a.writeJSON(loginInfo{Hub: c.URL(), Email: email, Profile: a.profile, Provider: provider,
			AccessExpiresAt: optionalTime(e.AccessExpiresAt), CredentialsFile: path})
	}
	fmt.Fprintf(a.stdout, "logged in to %s as %s (profile %s)\ncredentials stored in %s\n", c.URL(), email, a.profile, path)
	return nil
}

// loginInfo is the --json output of login: never a token.
type loginInfo struct {
	Hub     string `json:"hubUrl"`
	Email   string `json:"email"`
	Profile string `json:"profile"`
	// Provider is the OAuth provider of a browser or device login.
	Provider        string     `json:"provider,omitempty"`
	AccessExpiresAt *time.Time `json:"accessExpiresAt,omitempty"`
	CredentialsFile string     `json:"credentialsFile"`
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// logoutInfo is the --json output of logout.
type logoutInfo struct {
	Profile string `json:"profile"`
	Hub     string `json:"hubUrl,omitempty"`
	// Removed is false when the profile had no stored login.
	Removed bool `json:"removed"`
	// HubLoggedOut is true when the Hub ended the session; HubError says
	// why not.
	HubLoggedOut bool   `json:"hubLoggedOut"`
	HubError     string `json:"hubError,omitempty"`
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session on the Hub and remove this profile's stored login",
		Long: `End the session of the profile's login on its Hub and remove the profile's
entry from the credentials file. The entry is removed even when the Hub cannot
be reached; the session then stays valid on the Hub until its refresh token
expires, and stk says so. Logging out of a profile with no login succeeds and
changes nothing. STK_TOKEN is not affected: revoke CI tokens with
'stk token revoke'.`,
		Example: `  stk logout
  stk logout --profile prod
  stk logout --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			out := logoutInfo{Profile: a.profile}
			path, err := credentials.DefaultPath(a.getenv)
			if err != nil {
				return runtimeErrorf(apierr.Internal, "%v", err)
			}
			store := credentials.New(path)
			e, ok, err := store.Get(a.profile)
			if err != nil {
				return err
			}
			if !ok {
				if a.json {
					return a.writeJSON(out)
				}
				fmt.Fprintf(a.stdout, "profile %s is not logged in: nothing to do\n", a.profile)
				return nil
			}
			out.Hub = redactedHub(e.Hub)
			c, err := hubclient.New(e.Hub, hubclient.WithUserAgent("stk/"+a.version), hubclient.WithSession(store, a.profile))
			if err == nil {
				// By the stored refresh token, which is always the current
				// one (refreshes rewrite it under the file's lock).
				_, err = c.Logout(cmd.Context(), e.RefreshToken)
			}
			switch {
			case err == nil:
				out.HubLoggedOut = true
			case isUnauthorized(err):
				// The session had ended already: nothing left to end.
				out.HubLoggedOut = true
			default:
				out.HubError = classify(err).message
			}
			if out.Removed, err = store.Delete(cmd.Context(), a.profile); err != nil {
				return runtimeErrorf(apierr.Internal, "removing the credentials of profile %s failed: %v", a.profile, err)
			}
			if !out.HubLoggedOut {
				fmt.Fprintf(a.stderr, "warning: the Hub was not told (%s): the session stays valid there until it expires\n", out.HubError)
			}
			if a.json {
				return a.writeJSON(out)
			}
			if out.HubLoggedOut {
				fmt.Fprintf(a.stdout, "logged out of %s (profile %s): session ended, credentials removed\n", out.Hub, a.profile)
			} else {
				fmt.Fprintf(a.stdout, "removed the credentials of profile %s; the Hub at %s was not reached\n", a.profile, out.Hub)
			}
			return nil
		}),
	}
}

func isUnauthorized(err error) bool {
	var se *hubclient.SessionEndedError
	var he *hubclient.Error
	return errors.As(err, &se) || (errors.As(err, &he) && he.Status == http.StatusUnauthorized)
}

// whoamiInfo is the --json output of whoami: the Hub's answer, the Hub
// asked and the credential used.
type whoamiInfo struct {
	hubapi.Whoami
	Hub string `json:"hubUrl"`
	// Credential is "login" (the profile's stored login), "STK_TOKEN" or
	// "none".
	Credential string `json:"credential"`
	Profile    string `json:"profile,omitempty"`
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the Hub takes you for, and your roles",
		Long: `Ask the Hub who the current credential is (the profile's login or STK_TOKEN),
and show its org and project roles. A Hub running with STK_DISABLE_AUTH=true
answers kind "dev" without any login.`,
		Example: `  stk whoami
  stk whoami --profile prod
  STK_TOKEN=stkpat_… stk whoami --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			w.Orgs, w.Projects = nonNil(w.Orgs), nonNil(w.Projects)
			out := whoamiInfo{Whoami: w, Hub: c.URL(), Credential: "none"}
			switch a.auth {
			case authSession:
				out.Credential, out.Profile = "login", a.profile
			case authEnv:
				out.Credential = EnvToken
			}
			if a.json {
				return a.writeJSON(out)
			}
			t := newTable(a.stdout, "name", orDash(w.Name))
			t.row("kind", orDash(w.Kind))
			t.row("id", orDash(w.ID))
			if w.Email != "" && w.Email != w.Name {
				t.row("email", w.Email)
			}
			t.row("hub", out.Hub)
			switch a.auth {
			case authSession:
				t.row("credential", "login of profile "+a.profile)
			case authEnv:
				t.row("credential", EnvToken)
			default:
				t.row("credential", "none")
			}
			if w.Kind == "token" {
				t.row("token scope", tokenScope(w.TokenProject, w.TokenRole))
				t.row("expires", expiry(w.ExpiresAt))
			}
			t.row("orgs", memberships(w.Orgs, func(m hubapi.Membership) string { return m.Org }))
			t.row("projects", memberships(w.Projects, func(m hubapi.Membership) string { return m.Project }))
			t.flush()
			return nil
		}),
	}
}

func memberships(ms []hubapi.Membership, name func(hubapi.Membership) string) string {
	if len(ms) == 0 {
		return "-"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = name(m) + " (" + m.Role + ")"
	}
	return strings.Join(parts, ", ")
}

func tokenScope(project, role string) string {
	if project == "" {
		return "all of its creator's roles"
	}
	if role == "" {
		return "project " + project
	}
	return "project " + project + " as " + role
}

// explainUnauthorized adds to a 401 what to do about it, by the credential
// that was sent.
func (a *app) explainUnauthorized(e *cliError) {
	switch {
	case e.sessionEnded:
		e.message += ": run " + a.loginCommand()
	case !e.hub401:
		return
	case a.auth == authLogin:
		// The Hub's words say which (wrong email or password, limited).
		e.message = "login failed: " + e.message
	case a.auth == authNone && a.loginHub != "":
		// No credential was sent: the Hub's own words add nothing.
		e.message = fmt.Sprintf("not logged in to %s (profile %s is logged in to %s): run %s",
			redactedHub(a.hub), a.profile, a.loginHub, a.loginCommand())
	case a.auth == authNone:
		e.message = "not logged in: run " + a.loginCommand()
	case a.auth == authEnv:
		e.message = "the Hub rejected the token in " + EnvToken + ": " + e.message
	case a.auth == authSession:
		e.message += ": run " + a.loginCommand() + " to log in again"
	}
}

// loginCommand is the stk login invocation for the current Hub and profile.
func (a *app) loginCommand() string {
	s := "stk login"
	if credentials.NormalizeHub(a.hub) != hubclient.DefaultURL {
		s += " --hub " + redactedHub(a.hub)
	}
	if a.profile != defaultProfile {
		s += " --profile " + a.profile
	}
	return s
}

func redactedHub(u string) string {
	if p, err := url.Parse(credentials.NormalizeHub(u)); err == nil {
		return p.Redacted()
	}
	return u
}

// terminal is stdin when it is a terminal.
func (a *app) terminal() (*os.File, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// promptLine asks on w and reads one line from the terminal.
func promptLine(tty *os.File, w io.Writer, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	line, err := bufio.NewReader(io.LimitReader(tty, maxSecretBytes)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", usageErrorf("no answer read from the terminal")
	}
	return strings.TrimSpace(line), nil
}

// promptPassword asks on w and reads a password from the terminal without
// echo.
func promptPassword(tty *os.File, w io.Writer, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(w)
	if err != nil {
		return "", runtimeErrorf(apierr.Internal, "reading the password from the terminal failed")
	}
	if len(b) == 0 {
		return "", usageErrorf("empty password")
	}
	return string(b), nil
}

// readSecret reads a password from r: everything up to the end, without a
// trailing line break (spaces are the password's). Its content never
// appears in a message.
func readSecret(r io.Reader, flag string) (string, error) {
	return readStdinLine(r, flag, maxSecretBytes, false)
}

// readStdinLine reads the one line a --…-stdin flag passes on r: at most
// max bytes, without its line break, and without surrounding white space
// when trimSpace is set. Empty input and several lines are usage errors,
// which never quote the input.
func readStdinLine(r io.Reader, flag string, max int, trimSpace bool) (string, error) {
	if r == nil {
		return "", usageErrorf("%s: no standard input", flag)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return "", runtimeErrorf(apierr.Internal, "%s: reading standard input failed", flag)
	}
	if len(b) > max {
		return "", usageErrorf("%s: input larger than %d bytes", flag, max)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if trimSpace {
		s = strings.TrimSpace(s)
	}
	switch {
	case s == "":
		return "", usageErrorf("%s: standard input is empty", flag)
	case strings.ContainsAny(s, "\r\n"):
		return "", usageErrorf("%s: standard input holds more than one line", flag)
	}
	return s, nil
}

// checkEmail refuses, as a usage error, an email the Hub would refuse.
func checkEmail(field, v string) error {
	if _, err := names.Email(field, v); err != nil {
		return nameError(err) // the Hub's rule, as a usage error
	}
	return nil
}
