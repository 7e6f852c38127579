package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/compat"
	"github.com/santokit/santokit/packages/core/apierr"
)

// versionCheckOut is the --json shape of `stk version --check`.
type versionCheckOut struct {
	Client string `json:"client"`
	HubURL string `json:"hubUrl"`
	Hub    string `json:"hub"`
	// Verdict is compatible, incompatible or unknown (a development build).
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Advice  string `json:"advice,omitempty"`
}

// withVersionCheck gives `stk version` its --check flag: compare the
// versions of stk and the Hub by the rule of package compat (same
// major.minor; docs/decisions/0033) instead of only printing them. It is a
// wrapper so that the plain command stays as it is.
func (a *app) withVersionCheck(c *cobra.Command) *cobra.Command {
	var check bool
	c.Flags().BoolVar(&check, "check", false, "compare stk's version with the Hub's: exit 1 when they are incompatible or the Hub does not answer")
	c.Long += `

--check compares them: the same major.minor version (v1.4.x and v1.4.y) is
compatible; another major or minor is not (exit 1, saying which side to
upgrade); a development build on either side is a warning (exit 0), as is
anything that is not a release version. An unreachable Hub is an error (exit
1). With --json: {client, hubUrl, hub, verdict, reason, advice?}, verdict one
of compatible, incompatible, unknown. 'stk doctor' runs the same comparison
among its checks.`
	c.Example += "\n  stk version --check\n  stk version --check --json --hub https://hub.example.com"
	plain := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if !check {
			return plain(cmd, args)
		}
		return action(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), doctorTimeout)
			defer cancel()
			v, err := cl.Version(ctx)
			if err != nil {
				return err
			}
			r := compat.Check("stk", a.version, "Hub", v.Version)
			out := versionCheckOut{Client: a.version, HubURL: cl.URL(), Hub: v.Version, Verdict: string(r.Verdict), Reason: r.Reason, Advice: r.Advice}
			if a.json {
				if err := a.writeJSON(out); err != nil {
					return err
				}
			} else {
				t := newTable(a.stdout, "client", out.Client)
				t.row("hub", out.Hub+" at "+out.HubURL)
				t.row("verdict", out.Verdict)
				t.flush()
			}
			switch r.Verdict {
			case compat.Compatible:
				return nil
			case compat.Unknown:
				fmt.Fprintf(a.stderr, "warning: %s; %s\n", r.Reason, r.Advice)
				return nil
			}
			return versionMismatch(r)
		})(cmd, args)
	}
	return c
}

// versionMismatch is the failure of an incompatible pair (exit 1, code
// CONFLICT), after the document was printed.
func versionMismatch(r compat.Result) error {
	return &cliError{exit: ExitError, code: apierr.Conflict, printed: true, message: r.Reason + ": " + r.Advice}
}
