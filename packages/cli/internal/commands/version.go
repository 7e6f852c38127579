package commands

import (
	"context"
	"time"

	"github.com/santokit/santokit/packages/core/buildinfo"
	"github.com/spf13/cobra"
)

// versionOut is the --json shape of `stk version`.
type versionOut struct {
	Client string `json:"client"`
	// ClientCommit and ClientDate identify a release build of stk.
	ClientCommit string `json:"clientCommit,omitempty"`
	ClientDate   string `json:"clientDate,omitempty"`
	HubURL       string `json:"hubUrl"`
	// Hub is the Hub's version; empty when it could not be asked.
	Hub      string `json:"hub,omitempty"`
	HubError string `json:"hubError,omitempty"`
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stk and of the Hub",
		Long: `Print the version of stk and, when it answers, of the Hub. An unreachable Hub
is reported but is not an error.`,
		Example: `  stk version
  stk version --hub http://hub.internal:4000 --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			bi := buildinfo.Read()
			out := versionOut{Client: a.version, ClientCommit: bi.Commit, ClientDate: bi.Date, HubURL: c.URL()}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			if v, err := c.Version(ctx); err != nil {
				out.HubError = classify(err).message
			} else {
				out.Hub = v.Version
			}
			if a.json {
				return a.writeJSON(out)
			}
			t := newTable(a.stdout, "client", buildinfo.Info{Version: out.Client, Commit: out.ClientCommit, Date: out.ClientDate}.String())
			if out.HubError != "" {
				t.row("hub", "unknown: "+out.HubError)
			} else {
				t.row("hub", out.Hub+" at "+out.HubURL)
			}
			t.flush()
			return nil
		}),
	}
}
