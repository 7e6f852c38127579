package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/hubapi"
)

func (a *app) projectCmd() *cobra.Command {
	return group("project", "Create, list, show and delete projects",
		`  stk project create demo
  stk project list
  stk project show demo
  stk project delete scratch --confirm scratch`,
		a.projectCreateCmd(), a.projectListCmd(), a.projectShowCmd(), a.projectDeleteCmd())
}

func (a *app) projectCreateCmd() *cobra.Command {
	var org string
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a project",
		Long: `Create a project. Project names are unique in a Hub; the project belongs to
the org given with --org, or to the org "default".`,
		Example: `  stk project create demo
  stk project create shop --org acme
  stk project create demo --json`,
		Args: nameArg("project name"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if err := checkName("project name", args[0]); err != nil {
				return err
			}
			if cmd.Flags().Changed("org") {
				if err := checkName("--org", org); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.CreateProject(cmd.Context(), hubapi.CreateProject{Name: args[0], Org: org})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(p)
			}
			fmt.Fprintf(a.stdout, "created project %s (org %s)\n", p.Name, orDash(p.Org))
			return nil
		}),
	}
	c.Flags().StringVar(&org, "org", "", `org of the project (default "default")`)
	_ = c.RegisterFlagCompletionFunc("org", a.completeOrgs)
	return c
}

func (a *app) projectListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List projects",
		Example: `  stk project list
  stk project list --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListProjects(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintln(a.stdout, "no projects")
				return nil
			}
			t := newTable(a.stdout, "NAME", "ORG", "CREATED")
			for _, p := range list.Items {
				t.row(p.Name, orDash(p.Org), when(p.CreatedAt))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) projectShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show [NAME]",
		Short: "Show a project and its environments",
		Long:  "Show a project and its environments. The project is NAME, or --project (STK_PROJECT).",
		Example: `  stk project show demo
  stk project show --project demo --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			name := a.project
			if len(args) == 1 {
				if cmd.Flags().Changed("project") && a.project != args[0] {
					return usageErrorf("project given twice: %q and --project %q", args[0], a.project)
				}
				name = args[0]
			}
			if name == "" {
				return usageErrorf("missing project: stk project show NAME (or --project, or set %s)", EnvProject)
			}
			if err := checkName("project", name); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.GetProject(cmd.Context(), name)
			if err != nil {
				return err
			}
			if a.json {
				// envs is always present here, [] when there are none.
				return a.writeJSON(struct {
					hubapi.Project
					Envs []hubapi.Env `json:"envs"`
				}{p, nonNil(p.Envs)})
			}
			envs := make([]string, 0, len(p.Envs))
			for _, e := range p.Envs {
				envs = append(envs, e.Name)
			}
			t := newTable(a.stdout, "project", p.Name)
			t.row("org", orDash(p.Org))
			t.row("created", when(p.CreatedAt))
			t.row("envs", orDash(strings.Join(envs, ", ")))
			t.flush()
			return nil
		}),
	}
}
