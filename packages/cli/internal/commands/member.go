package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func (a *app) memberCmd() *cobra.Command {
	c := group("member", "Add, list, change and remove the members of a project or an org",
		`  stk member add --project demo --email dev@example.com --role viewer
  stk member list --org acme
  stk member set-role --project demo --email dev@example.com --role deployer
  stk member remove --project demo --email dev@example.com`,
		a.memberAddCmd(), a.memberListCmd(), a.memberSetRoleCmd(), a.memberRemoveCmd())
	c.Aliases = []string{"members"}
	return c
}

// memberTarget is the org or project a member command acts on, from its
// --org flag or --project (or STK_PROJECT).
type memberTarget struct {
	scope hubclient.Scope
	kind  string // "org" or "project"
	name  string
	roles []string
}

func (t memberTarget) String() string { return t.kind + " " + t.name }

// memberScope resolves --org or --project: exactly one. An explicit --org
// wins over STK_PROJECT; both flags given is a usage error.
func (a *app) memberScope(cmd *cobra.Command, org string) (memberTarget, error) {
	orgSet, projectSet := cmd.Flags().Changed("org"), cmd.Flags().Changed("project")
	switch {
	case orgSet && projectSet:
		return memberTarget{}, usageErrorf("give either --project or --org, not both")
	case orgSet:
		if err := checkName("--org", org); err != nil {
			return memberTarget{}, err
		}
		return memberTarget{scope: hubclient.Scope{Org: org}, kind: "org", name: org, roles: hubapi.OrgRoles}, nil
	case a.project != "":
		if err := checkName("--project", a.project); err != nil {
			return memberTarget{}, err
		}
		return memberTarget{scope: hubclient.Scope{Project: a.project}, kind: "project", name: a.project, roles: hubapi.ProjectRoles}, nil
	}
	return memberTarget{}, usageErrorf("give --project P (roles admin, deployer, viewer) or --org O (roles owner, admin, member)")
}

// memberFlags adds --org and the completions shared by member commands.
func (a *app) memberFlags(c *cobra.Command, org, email, role *string) {
	f := c.Flags()
	f.StringVar(org, "org", "", "the org whose members to manage (instead of --project)")
	_ = c.RegisterFlagCompletionFunc("org", a.completeOrgs)
	if email != nil {
		f.StringVar(email, "email", "", "email of the user (required)")
		_ = c.MarkFlagRequired("email")
	}
	if role != nil {
		f.StringVar(role, "role", "", "role: admin, deployer or viewer in a project; owner, admin or member in an org (required)")
		_ = c.MarkFlagRequired("role")
		_ = c.RegisterFlagCompletionFunc("role", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			if cmd.Flags().Changed("org") {
				return hubapi.OrgRoles, cobra.ShellCompDirectiveNoFileComp
			}
			return hubapi.ProjectRoles, cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// memberRoleInput checks what add and set-role share (scope, email, role)
// and returns the scope and a Hub client.
func (a *app) memberRoleInput(cmd *cobra.Command, org, email, role string) (memberTarget, *hubclient.Client, error) {
	t, err := a.memberScope(cmd, org)
	if err != nil {
		return t, nil, err
	}
	if err := checkEmail("--email", email); err != nil {
		return t, nil, err
	}
	if err := checkRole("--role", role, t.kind, t.roles); err != nil {
		return t, nil, err
	}
	c, err := a.client()
	return t, c, err
}

func (a *app) memberAddCmd() *cobra.Command {
	var org, email, role string
	c := &cobra.Command{
		Use:   "add",
		Short: "Give a user a role in a project or an org",
		Long: `Give an existing user (see 'stk user create') a role: in a project with
--project (admin, deployer or viewer), or in an org with --org (owner, admin or
member). Org owners and admins are admins of every project of the org.`,
		Example: `  stk member add --project demo --email dev@example.com --role viewer
  stk member add --org acme --email ops@example.com --role admin
  stk member add --project demo --email dev@example.com --role deployer --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			t, c, err := a.memberRoleInput(cmd, org, email, role)
			if err != nil {
				return err
			}
			m, err := c.AddMember(cmd.Context(), t.scope, email, role)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(m)
			}
			fmt.Fprintf(a.stdout, "added %s to %s as %s\n", orDefault(m.Email, email), t, orDefault(m.Role, role))
			return nil
		}),
	}
	a.memberFlags(c, &org, &email, &role)
	_ = c.RegisterFlagCompletionFunc("email", a.completeUsers)
	return c
}

func (a *app) memberListCmd() *cobra.Command {
	var org string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the members of a project or an org",
		Long: `List the members of a project or an org. A project's list also shows the
owners and admins of its org, who are admins of every project of the org
without a membership: their VIA column (via in --json) says "org owner" or
"org admin".`,
		Example: `  stk member list --project demo
  stk member list --org acme
  stk member list --project demo --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			t, err := a.memberScope(cmd, org)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListMembers(cmd.Context(), t.scope)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no members in %s\n", t)
				return nil
			}
			// VIA marks org owners and admins, who are admins of every
			// project of their org without a membership.
			tb := newTable(a.stdout, "EMAIL", "ROLE", "USER ID", "SINCE", "VIA")
			for _, m := range list.Items {
				via := "-"
				if m.Via != "" {
					via = m.Via + " (implicit)"
				}
				tb.row(orDash(m.Email), m.Role, orDash(m.UserID), when(m.CreatedAt), via)
			}
			tb.flush()
			return nil
		}),
	}
	a.memberFlags(c, &org, nil, nil)
	return c
}

func (a *app) memberSetRoleCmd() *cobra.Command {
	var org, email, role string
	c := &cobra.Command{
		Use:   "set-role",
		Short: "Change the role of a member of a project or an org",
		Example: `  stk member set-role --project demo --email dev@example.com --role deployer
  stk member set-role --org acme --email ops@example.com --role owner`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			t, c, err := a.memberRoleInput(cmd, org, email, role)
			if err != nil {
				return err
			}
			m, err := c.SetMemberRole(cmd.Context(), t.scope, email, role)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(m)
			}
			fmt.Fprintf(a.stdout, "%s is now %s of %s\n", orDefault(m.Email, email), orDefault(m.Role, role), t)
			return nil
		}),
	}
	a.memberFlags(c, &org, &email, &role)
	_ = c.RegisterFlagCompletionFunc("email", a.completeMembers(&org))
	return c
}

func (a *app) memberRemoveCmd() *cobra.Command {
	var org, email string
	c := &cobra.Command{
		Use:     "remove",
		Aliases: []string{"rm"},
		Short:   "Remove a member from a project or an org",
		Long: `Remove a user's role in a project or an org. It takes effect at once: roles
are checked on every request.`,
		Example: `  stk member remove --project demo --email dev@example.com
  stk member remove --org acme --email ops@example.com --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			t, err := a.memberScope(cmd, org)
			if err != nil {
				return err
			}
			if err := checkEmail("--email", email); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			m, err := c.RemoveMember(cmd.Context(), t.scope, email)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(m)
			}
			was := ""
			if m.Role != "" {
				was = " (was " + m.Role + ")"
			}
			fmt.Fprintf(a.stdout, "removed %s from %s%s\n", orDefault(m.Email, email), t, was)
			return nil
		}),
	}
	a.memberFlags(c, &org, &email, nil)
	_ = c.RegisterFlagCompletionFunc("email", a.completeMembers(&org))
	return c
}

// completeMembers offers the emails of the members of --org or --project.
func (a *app) completeMembers(org *string) completer {
	return func(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
		a.resolve(cmd)
		scope := hubclient.Scope{Org: *org}
		if *org == "" {
			scope.Project = a.project
		}
		return completeFrom(a, func() []string { return []string{scope.Org + scope.Project} },
			func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Membership], error) {
				return c.ListMembers(ctx, scope)
			},
			func(m hubapi.Membership) string { return m.Email })(cmd, args, s)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
