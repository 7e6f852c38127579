package commands

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/ids"
)

// maxAuditLimit is the largest page size stk asks for.
const maxAuditLimit = 1000

func (a *app) auditCmd() *cobra.Command {
	return group("audit", "Show the audit log of a project or of an org",
		`  stk audit list --project demo
  stk audit list --project demo --limit 20 --before evt_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk audit list --org acme`,
		a.auditListCmd())
}

func (a *app) auditListCmd() *cobra.Command {
	var limit int
	var before, org string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List audit events, newest first",
		Long: `List audit events, newest first: every mutation and every denied attempt, with
its actor, action, target, outcome and request id. With --project (or
STK_PROJECT) the project's events; with --org (or without either) the
org-level events (users, orgs, members, tokens). --org and --project exclude
each other; an explicit --org wins over STK_PROJECT.

Pages: when more events exist, the id to pass as --before for the next page is
printed after the table.`,
		Example: `  stk audit list --project demo
  stk audit list --project demo --limit 20 --before evt_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk audit list --org acme
  stk audit list --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project := a.project
			if cmd.Flags().Changed("org") {
				if cmd.Flags().Changed("project") {
					return usageErrorf("give either --project or --org, not both")
				}
				if err := checkName("--org", org); err != nil {
					return err
				}
				project = ""
			}
			if project != "" {
				if err := checkName("--project", project); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("limit") && (limit < 1 || limit > maxAuditLimit) {
				return usageErrorf("--limit %d: want 1 to %d", limit, maxAuditLimit)
			}
			if before != "" && !ids.Valid(ids.Event, before) {
				return usageErrorf("--before %q is not an event id: want evt_ followed by 26 characters", clipArg(before))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListAudit(cmd.Context(), project, org, limit, before)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			scope := "the org"
			if org != "" {
				scope = "org " + org
			}
			if project != "" {
				scope = "project " + project
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no audit events for %s\n", scope)
				return nil
			}
			header := []string{"TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "REQUEST", "ID"}
			if project == "" {
				header = append([]string{"PROJECT"}, header...)
			}
			t := newTable(a.stdout, header...)
			for _, e := range list.Items {
				row := []string{when(e.Time), orDash(e.Actor), e.Action, orDash(e.Target), e.Outcome, orDash(e.RequestID), e.ID}
				if project == "" {
					row = append([]string{orDash(e.Project)}, row...)
				}
				t.row(row...)
			}
			t.flush()
			if list.NextCursor != "" {
				fmt.Fprintf(a.stdout, "\nmore events: add --before %s\n", list.NextCursor)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.IntVar(&limit, "limit", 0, "at most this many events (default: the Hub's page size)")
	f.StringVar(&before, "before", "", "only events older than this event id (the next page)")
	f.StringVar(&org, "org", "", "the org whose org-level events to list (instead of --project)")
	_ = c.RegisterFlagCompletionFunc("org", a.completeOrgs)
	return c
}
