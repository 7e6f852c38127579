package commands

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// versionOut is the --json shape of `stk version`.
type versionOut struct {
	Client string `json:"client"`
	HubURL string `json:"hubUrl"`
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
			out := versionOut{Client: a.version, HubURL: c.URL()}
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
			t := newTable(a.stdout, "client", out.Client)
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
