package commands

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/hubapi"
)

func (a *app) envCmd() *cobra.Command {
	return group("env", "Create, list and delete environments of a project",
		`  stk env create --project demo dev
  stk env list --project demo
  stk env delete --project demo staging --confirm staging`,
		a.envCreateCmd(), a.envListCmd(), a.envDeleteCmd())
}

func (a *app) envCreateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an environment in a project",
		Example: `  stk env create --project demo dev
  STK_PROJECT=demo stk env create prod --json`,
		Args: nameArg("env name"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			if err := checkName("env name", args[0]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			e, err := c.CreateEnv(cmd.Context(), project, hubapi.CreateEnv{Name: args[0]})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(e)
			}
			fmt.Fprintf(a.stdout, "created env %s in project %s\n", e.Name, orDash(e.Project))
			return nil
		}),
	}
}

func (a *app) envListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the environments of a project",
		Example: `  stk env list --project demo
  stk env list --project demo --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListEnvs(cmd.Context(), project)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no envs in project %s\n", project)
				return nil
			}
			t := newTable(a.stdout, "NAME", "CREATED")
			for _, e := range list.Items {
				t.row(e.Name, when(e.CreatedAt))
			}
			t.flush()
			return nil
		}),
	}
}
