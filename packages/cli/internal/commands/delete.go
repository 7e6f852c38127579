package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// The deletes of connections, envs and projects (SPEC §11, decision 0016).
// Each asks for --confirm NAME, checked here (a usage error, exit 2, before
// anything is sent) and again by the Hub, which refuses a DELETE without
// ?confirm=NAME; --force deletes what a current release still needs, which
// the Hub otherwise refuses with CONFLICT naming the releases.

// deleteFlags declares --confirm and --force on c.
func deleteFlags(c *cobra.Command, what string, confirm *string, force *bool) {
	c.Flags().StringVar(confirm, "confirm", "", "the "+what+"'s name again, to confirm the delete (required)")
	c.Flags().BoolVar(force, "force", false, "delete even what the current release of an environment needs (Bridges stop serving it)")
}

// checkConfirm refuses a delete whose --confirm is not the name.
func checkConfirm(what, name, confirm string) error {
	if confirm == name {
		return nil
	}
	if confirm == "" {
		return usageErrorf("deleting %s %s needs --confirm %s (the name again)", what, name, name)
	}
	return usageErrorf("--confirm %q does not match %s %s: deleting it needs --confirm %s", clipArg(confirm), what, name, name)
}

func (a *app) connectionsDeleteCmd() *cobra.Command {
	var name, confirm string
	var force bool
	c := &cobra.Command{
		Use:   "delete",
		Short: "Delete a connection of an environment",
		Long: `Delete a connection and its encrypted URL. Bridges stop using it within
seconds. A connection that the environment's current release uses is refused
(exit 1, code CONFLICT) unless --force: calls through it then fail until a new
release or connection replaces it. Snapshots taken of it stay as history.`,
		Example: `  stk connections delete --project demo --env dev --name old --confirm old
  stk connections delete --project demo --env dev --name main --confirm main --force --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			env, err := a.requireEnv()
			if err != nil {
				return err
			}
			if err := checkName("--name", name); err != nil {
				return err
			}
			if err := checkConfirm("connection", name, confirm); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			conn, err := c.DeleteConnection(cmd.Context(), project, env, name, confirm, force)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(conn)
			}
			fmt.Fprintf(a.stdout, "deleted connection %s (%s) of %s/%s\n", conn.Name, orDash(conn.URL), project, env)
			return nil
		}),
	}
	c.Flags().StringVar(&name, "name", "", "connection name (required)")
	deleteFlags(c, "connection", &confirm, &force)
	_ = c.MarkFlagRequired("name")
	_ = c.RegisterFlagCompletionFunc("name", a.completeConnections)
	return c
}

func (a *app) envDeleteCmd() *cobra.Command {
	var confirm string
	var force bool
	c := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an environment",
		Long: `Delete an environment: its connections and API keys go at once, and Bridges
stop serving it within seconds (calls answer NOT_FOUND). Its releases stay as
history for the releases other environments promoted from them. An
environment with a current release is refused (exit 1, code CONFLICT) unless
--force. The name can be used again.`,
		Example: `  stk env delete --project demo staging --confirm staging
  stk env delete --project demo dev --confirm dev --force --json`,
		Args: nameArg("env name"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			if err := checkName("env name", args[0]); err != nil {
				return err
			}
			if err := checkConfirm("env", args[0], confirm); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			e, err := c.DeleteEnv(cmd.Context(), project, args[0], confirm, force)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(e)
			}
			fmt.Fprintf(a.stdout, "deleted env %s of project %s\n", e.Name, project)
			return nil
		}),
	}
	deleteFlags(c, "env", &confirm, &force)
	c.ValidArgsFunction = a.completeEnvs
	return c
}

func (a *app) projectDeleteCmd() *cobra.Command {
	var confirm string
	var force bool
	c := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a project and everything in it",
		Long: `Delete a project with its environments, connections, API keys, releases,
memberships and the CI tokens scoped to it; Bridges stop serving it within
seconds. Needs an owner or admin of the project's org. The project's audit
events move to the org's log ('stk audit list --org'), with the delete. A
project whose environments have current releases is refused (exit 1, code
CONFLICT, naming them) unless --force.`,
		Example: `  stk project delete scratch --confirm scratch
  stk project delete demo --confirm demo --force --json`,
		Args: nameArg("project name"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if err := checkName("project name", args[0]); err != nil {
				return err
			}
			if err := checkConfirm("project", args[0], confirm); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.DeleteProject(cmd.Context(), args[0], confirm, force)
			if err != nil {
				return err
			}
			if a.json {
				p.Envs = nonNil(p.Envs)
				return a.writeJSON(p)
			}
			envs := make([]string, 0, len(p.Envs))
			for _, e := range p.Envs {
				envs = append(envs, e.Name)
			}
			fmt.Fprintf(a.stdout, "deleted project %s (envs: %s)\n", p.Name, orDash(strings.Join(envs, ", ")))
			return nil
		}),
	}
	deleteFlags(c, "project", &confirm, &force)
	c.ValidArgsFunction = a.completeProjects
	return c
}
