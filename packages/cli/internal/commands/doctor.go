package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/compat"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// EnvBridgeURL names the Bridge that `stk doctor` checks when --bridge is
// not given.
const EnvBridgeURL = "STK_BRIDGE_URL"

// maxClockSkew is the largest difference between this machine's clock and
// the Hub's that stk doctor accepts: the leeway end-user token checks allow
// (SPEC §7.3). Beyond it, tokens look expired or not yet valid on one side.
const maxClockSkew = 60 * time.Second

// doctorTimeout bounds each request of a check.
const doctorTimeout = 5 * time.Second

// Check statuses: a failed check makes stk doctor exit 1; a warning does not.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
	checkSkip = "skip"
)

// doctorCheck is one line of `stk doctor`, and an item of its --json checks.
type doctorCheck struct {
	// Name is hub, clock, login, version, bridge or bridge-version.
	Name   string `json:"name"`
	Status string `json:"status"`
	// Message says what was found, naming the versions, URL or user.
	Message string `json:"message"`
	// Fix says what to do, for a failed check or a warning.
	Fix string `json:"fix,omitempty"`
	// code is the §3 code of the error line when this is the first
	// failed check.
	code apierr.Code
}

// doctorOut is the --json document of `stk doctor`.
type doctorOut struct {
	OK     bool          `json:"ok"`
	Hub    string        `json:"hub"`
	Bridge string        `json:"bridge,omitempty"`
	Client string        `json:"client"`
	Checks []doctorCheck `json:"checks"`
}

func (a *app) doctorCmd() *cobra.Command {
	var bridge string
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the local setup: Hub reachable, logged in, versions compatible, clock",
		Long: `Check what stk needs and say what to fix for each check that fails:

  hub             the Hub (--hub, STK_HUB_URL, or the profile's login) answers
                  GET /readyz: it is up and its store is reachable
  clock           this machine's clock is within 60s of the Hub's (its Date
                  header); beyond, tokens look expired or not yet valid
  login           the credential (the profile's login, or STK_TOKEN) is valid:
                  GET /v1/auth/whoami answers who you are
  version         stk and the Hub are compatible: the same major.minor
                  version (a development build is a warning, not a failure)
  bridge          with --bridge or STK_BRIDGE_URL: the Bridge answers GET /readyz
                  (it reaches the Hub, or its cached bundles are fresh)
  bridge-version  the Bridge and the Hub have the same major.minor version

Exit status 1 when any check fails, 0 otherwise (warnings included). With
--json: {ok, hub, bridge?, client, checks: [{name, status, message, fix?}]},
status one of ok, warn, fail, skip (a check that depends on a failed one).`,
		Example: `  stk doctor
  stk doctor --hub https://hub.example.com --bridge https://bridge.example.com
  STK_TOKEN=stkpat_… stk doctor --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if bridge == "" {
				bridge = a.getenv(EnvBridgeURL)
			}
			if bridge != "" {
				if err := checkServerURL(bridge); err != nil {
					return usageErrorf("--bridge: %v", err)
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			out := a.doctor(cmd.Context(), c, strings.TrimRight(bridge, "/"))
			if a.json {
				if err := a.writeJSON(out); err != nil {
					return err
				}
			} else {
				for _, ch := range out.Checks {
					fmt.Fprintf(a.stdout, "%-5s %-15s %s\n", ch.Status, ch.Name, ch.Message)
					if ch.Fix != "" {
						fmt.Fprintf(a.stdout, "      %-15s fix: %s\n", "", ch.Fix)
					}
				}
			}
			var failed []string
			code := apierr.Code("")
			for _, ch := range out.Checks {
				if ch.Status == checkFail {
					failed = append(failed, ch.Name)
					if code == "" {
						code = ch.code
					}
				}
			}
			if len(failed) == 0 {
				return nil
			}
			// The document is printed already: report prints the line only.
			return &cliError{exit: ExitError, code: code, printed: true,
				message: fmt.Sprintf("%d check(s) failed: %s", len(failed), strings.Join(failed, ", "))}
		}),
	}
	c.Flags().StringVar(&bridge, "bridge", "", "a Bridge URL to check too (env "+EnvBridgeURL+")")
	return c
}

// doctor runs the checks in order; a check that needs an answer of the Hub
// is skipped when the Hub did not answer.
func (a *app) doctor(ctx context.Context, c *hubclient.Client, bridge string) doctorOut {
	out := doctorOut{Hub: c.URL(), Bridge: redactURL(bridge), Client: a.version}
	add := func(ch doctorCheck) { out.Checks = append(out.Checks, ch) }

	// The Hub's public routes, asked without credentials: reachability
	// must not depend on the login, which is checked on its own.
	plain, err := hubclient.New(a.hub, hubclient.WithUserAgent("stk/"+a.version))
	if err != nil {
		plain = c
	}
	hubUp := false
	cctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	var health hubapi.Health
	start := time.Now()
	_, err = plain.Do(cctx, http.MethodGet, "/readyz", nil, &health)
	cancel()
	switch {
	case err == nil:
		hubUp = true
		msg := fmt.Sprintf("the Hub at %s is ready (answered in %s)", out.Hub, time.Since(start).Round(time.Millisecond))
		if health.Mode != "" {
			msg += "; mode " + health.Mode
		}
		add(doctorCheck{Name: "hub", Status: checkOK, Message: msg})
	default:
		var he *hubclient.Error
		if errors.As(err, &he) && he.Status == http.StatusServiceUnavailable {
			hubUp = true // it answers; its store does not
			add(doctorCheck{Name: "hub", Status: checkFail, code: apierr.ServiceUnavailable,
				Message: "the Hub at " + out.Hub + " answers but is not ready: " + he.Message,
				Fix:     "the Hub cannot reach its store: check STK_HUB_DATABASE_URL and the Hub's log"})
		} else {
			add(doctorCheck{Name: "hub", Status: checkFail, code: classify(err).code, Message: classify(err).message,
				Fix: "start the Hub (stk-hub, or stk dev for a local one), or point stk at yours: --hub URL, " +
					EnvHubURL + ", or " + a.loginCommand()})
		}
	}

	// GET /v1/version gives the Hub's version and, in its Date header, the
	// Hub's clock.
	var hubVersion string
	if hubUp {
		cctx, cancel := context.WithTimeout(ctx, doctorTimeout)
		var v hubapi.Version
		sent := time.Now()
		res, err := plain.Do(cctx, http.MethodGet, "/v1/version", nil, &v)
		received := time.Now()
		cancel()
		if err != nil {
			add(doctorCheck{Name: "clock", Status: checkSkip, Message: "the Hub's version could not be read: " + classify(err).message})
		} else {
			hubVersion = v.Version
			add(clockCheck(res.Header.Get("Date"), sent, received))
		}
	} else {
		add(doctorCheck{Name: "clock", Status: checkSkip, Message: "needs an answer of the Hub"})
	}

	if hubUp {
		add(a.loginCheck(ctx, c))
	} else {
		add(doctorCheck{Name: "login", Status: checkSkip, Message: "needs an answer of the Hub"})
	}

	if hubVersion != "" {
		add(versionCheck("version", compat.Check("stk", a.version, "Hub", hubVersion)))
	} else {
		add(doctorCheck{Name: "version", Status: checkSkip, Message: "needs the Hub's version"})
	}

	if bridge == "" {
		return finish(out)
	}
	hc := &http.Client{Timeout: doctorTimeout}
	if status, body, err := getJSON(ctx, hc, bridge+"/readyz"); err != nil {
		add(doctorCheck{Name: "bridge", Status: checkFail, code: apierr.ServiceUnavailable,
			Message: "cannot reach the Bridge at " + out.Bridge + ": " + err.Error(),
			Fix:     "start stk-bridge, or name the right one: --bridge URL or " + EnvBridgeURL})
	} else if status != http.StatusOK {
		add(doctorCheck{Name: "bridge", Status: checkFail, code: apierr.ServiceUnavailable,
			Message: fmt.Sprintf("the Bridge at %s is not ready (HTTP %d%s)", out.Bridge, status, envelopeMessage(body)),
			Fix:     "the Bridge cannot reach the Hub and its cache is stale: check its STK_HUB_URL and STK_BRIDGE_TOKEN (one of the Hub's STK_BRIDGE_TOKENS) and its log"})
	} else {
		add(doctorCheck{Name: "bridge", Status: checkOK, Message: "the Bridge at " + out.Bridge + " is ready"})
		var v hubapi.Version
		status, body, err := getJSON(ctx, hc, bridge+"/v1/version")
		switch {
		case err == nil && status == http.StatusOK && json.Unmarshal(body, &v) == nil && v.Version != "":
			if hubVersion == "" {
				add(doctorCheck{Name: "bridge-version", Status: checkSkip, Message: "Bridge " + v.Version + "; the Hub's version is unknown"})
			} else {
				add(versionCheck("bridge-version", compat.Check("Bridge", v.Version, "Hub", hubVersion)))
			}
		case err == nil && status == http.StatusNotFound:
			add(doctorCheck{Name: "bridge-version", Status: checkWarn,
				Message: "the Bridge does not report its version (a build without GET /v1/version)",
				Fix:     "upgrade the Bridge to the Hub's version"})
		default:
			msg := fmt.Sprintf("HTTP %d", status)
			if err != nil {
				msg = err.Error()
			}
			add(doctorCheck{Name: "bridge-version", Status: checkWarn, Message: "the Bridge's version could not be read: " + msg})
		}
	}
	return finish(out)
}

func finish(out doctorOut) doctorOut {
	out.OK = true
	for _, ch := range out.Checks {
		if ch.Status == checkFail {
			out.OK = false
		}
	}
	return out
}

// loginCheck asks the Hub who the credential is.
func (a *app) loginCheck(ctx context.Context, c *hubclient.Client) doctorCheck {
	cctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	w, err := c.Whoami(cctx)
	if err == nil {
		who := w.Name
		switch {
		case w.Kind == "dev":
			return doctorCheck{Name: "login", Status: checkOK, Message: "the Hub runs with operator auth disabled (STK_DISABLE_AUTH): no login needed"}
		case a.auth == authEnv:
			who = w.Name + " (" + EnvToken + ")"
		case a.auth == authSession:
			who += " (profile " + a.profile + ")"
		}
		return doctorCheck{Name: "login", Status: checkOK, Message: "logged in as " + who}
	}
	ce := classify(err)
	a.explainUnauthorized(ce)
	ch := doctorCheck{Name: "login", Status: checkFail, code: ce.code, Message: ce.message}
	switch {
	case ce.exit != ExitUnauthorized:
		ch.Fix = "the Hub failed to answer who you are: see the message, and the Hub's log"
	case a.auth == authEnv:
		ch.Fix = "create a new CI token (stk token create) and set " + EnvToken + " to it, or unset " + EnvToken + " to use a login"
	default:
		ch.Fix = "run " + a.loginCommand()
	}
	return ch
}

// clockCheck compares the Hub's Date header with this machine's clock at
// the middle of the request (a Date has whole seconds: one more second is
// allowed for its rounding).
func clockCheck(date string, sent, received time.Time) doctorCheck {
	hubTime, err := http.ParseTime(date)
	if err != nil {
		return doctorCheck{Name: "clock", Status: checkWarn, Message: "the Hub's answer has no valid Date header: the clock cannot be compared"}
	}
	local := sent.Add(received.Sub(sent) / 2)
	skew := local.Sub(hubTime)
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	rtt := received.Sub(sent)
	if abs <= maxClockSkew+time.Second+rtt/2 {
		return doctorCheck{Name: "clock", Status: checkOK, Message: fmt.Sprintf("this clock and the Hub's differ by %s (at most %.0fs allowed)", abs.Round(time.Second), maxClockSkew.Seconds())}
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	return doctorCheck{Name: "clock", Status: checkFail, code: apierr.Conflict,
		Message: fmt.Sprintf("this clock is %s %s the Hub's (more than the %.0fs allowed)", abs.Round(time.Second), dir, maxClockSkew.Seconds()),
		Fix:     "synchronize the clocks of this machine and the Hub's with NTP (e.g. timedatectl set-ntp true)"}
}

// versionCheck turns a compat verdict into a check.
func versionCheck(name string, r compat.Result) doctorCheck {
	switch r.Verdict {
	case compat.Compatible:
		return doctorCheck{Name: name, Status: checkOK, Message: r.Reason}
	case compat.Unknown:
		return doctorCheck{Name: name, Status: checkWarn, Message: r.Reason, Fix: r.Advice}
	}
	return doctorCheck{Name: name, Status: checkFail, code: apierr.Conflict, Message: r.Reason, Fix: r.Advice}
}

// getJSON GETs url and returns the status and at most 64 KiB of the body.
func getJSON(ctx context.Context, hc *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the message names already
		}
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, b, err
}

// envelopeMessage is ": <message>" of a §3 body, or "".
func envelopeMessage(b []byte) string {
	var body apierr.Body
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		return ": " + body.Error.Message
	}
	return ""
}

// checkServerURL accepts an http(s) URL with a host.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want http://host:port or https://host, got %q", redactURL(s))
	}
	return nil
}

// redactURL hides a password in a URL's user info.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}
