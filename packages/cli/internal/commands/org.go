package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func (a *app) orgCmd() *cobra.Command {
	c := group("org", "Create and list orgs",
		`  stk org create acme
  stk org list`,
		a.orgCreateCmd(), a.orgListCmd())
	c.Aliases = []string{"orgs"}
	return c
}

func (a *app) orgCreateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an org (you become its owner)",
		Example: `  stk org create acme
  stk org create acme --json`,
		Args: nameArg("org name"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if err := checkName("org name", args[0]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			o, err := c.CreateOrg(cmd.Context(), hubapi.CreateOrg{Name: args[0]})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(o)
			}
			fmt.Fprintf(a.stdout, "created org %s\n", o.Name)
			return nil
		}),
	}
}

func (a *app) orgListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the orgs you belong to, with your role",
		Example: `  stk org list
  stk org list --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListOrgs(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintln(a.stdout, "no orgs")
				return nil
			}
			t := newTable(a.stdout, "NAME", "ROLE", "CREATED")
			for _, o := range list.Items {
				t.row(o.Name, orDash(o.Role), when(o.CreatedAt))
			}
			t.flush()
			return nil
		}),
	}
}

// completeOrgs offers the orgs the caller sees.
func (a *app) completeOrgs(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return nil },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Org], error) {
			return c.ListOrgs(ctx)
		},
		func(o hubapi.Org) string { return o.Name })(cmd, args, s)
}
