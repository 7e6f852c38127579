package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/duration"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
)

// checkRole refuses a role that is not one of roles, naming the kind.
func checkRole(flag, role, kind string, roles []string) error {
	for _, r := range roles {
		if r == role {
			return nil
		}
	}
	if role == "" {
		return usageErrorf("%s is required: one of %s", flag, strings.Join(roles, ", "))
	}
	article := "a"
	if strings.ContainsAny(kind[:1], "aeiou") {
		article = "an"
	}
	return usageErrorf("%s %q is not %s %s role: use one of %s", flag, clipArg(role), article, kind, strings.Join(roles, ", "))
}

func (a *app) tokenCmd() *cobra.Command {
	c := group("token", "Create, list and revoke access tokens for CI (STK_TOKEN)",
		`  stk token create --name ci --project demo --role deployer --expires 90d
  stk token list
  stk token revoke tok_01JD3W7V4T9Q8X2M5N6P7R8S9T`,
		a.tokenCreateCmd(), a.tokenListCmd(), a.tokenRevokeCmd())
	c.Aliases = []string{"tokens"}
	return c
}

// tokenCreated is the --json shape of `token create` (SPEC §11): id, name
// and token, then the scope and lifetime.
type tokenCreated struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Token     string     `json:"token"`
	Project   string     `json:"project,omitempty"`
	Role      string     `json:"role,omitempty"`
	CreatedAt time.Time  `json:"createdAt,omitzero"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

func (a *app) tokenCreateCmd() *cobra.Command {
	var name, role, expires string
	c := &cobra.Command{
		Use:   "create",
		Short: "Create an access token for CI (shown only once)",
		Long: `Create an opaque access token (stkpat_…) for CI: set it as STK_TOKEN and stk
sends it instead of a stored login. It acts with the lesser of its scope's role
and your own current role. With --project (given as a flag; STK_PROJECT does not
scope a token) it is limited to that project, as --role (admin, deployer or
viewer). --expires takes a duration such as 90d or 12h.

The token is printed this one time: the Hub keeps only a hash of it.`,
		Example: `  stk token create --name ci --project demo --role deployer --expires 90d
  stk token create --name backup --expires 30d
  stk token create --name ci --project demo --role deployer --json | jq -r .token`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usageErrorf("--name is required, e.g. --name ci")
			}
			if err := checkName("--name", name); err != nil {
				return err
			}
			in := hubapi.CreateToken{Name: name}
			if cmd.Flags().Changed("project") {
				if err := checkName("--project", a.project); err != nil {
					return err
				}
				in.Project = a.project
			}
			if cmd.Flags().Changed("role") {
				if in.Project == "" {
					return usageErrorf("--role needs --project: a token without a project acts with its creator's roles")
				}
				if err := checkRole("--role", role, "project", hubapi.ProjectRoles); err != nil {
					return err
				}
				in.Role = role
			}
			if cmd.Flags().Changed("expires") {
				if _, err := duration.Parse(expires); err != nil {
					return usageErrorf("--expires: %v", err)
				}
				in.Expires = expires
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), in)
			if err != nil {
				return err
			}
			out := tokenCreated{ID: t.ID, Name: t.Name, Token: t.Token, Project: t.Project, Role: t.Role,
				CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
			if a.json {
				return a.writeJSON(out)
			}
			fmt.Fprintf(a.stdout, "created token %s (%s)\n", out.Name, out.ID)
			tb := newTable(a.stdout, "token", out.Token)
			tb.row("scope", tokenScope(out.Project, out.Role))
			tb.row("expires", expiry(out.ExpiresAt))
			tb.flush()
			fmt.Fprintf(a.stdout, "\nThe token is shown only this once and will not be shown again: store it now (e.g. as %s in your CI's secrets).\n", EnvToken)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "token name, e.g. ci (required)")
	f.StringVar(&role, "role", "", "project role of the token: admin, deployer or viewer (needs --project)")
	f.StringVar(&expires, "expires", "", "lifetime from now, e.g. 90d or 12h (default: the Hub's)")
	_ = c.MarkFlagRequired("name")
	_ = c.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(hubapi.ProjectRoles, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("expires", cobra.FixedCompletions(
		[]string{"30d", "90d", "365d"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) tokenListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your access tokens (never their secrets)",
		Example: `  stk token list
  stk token list --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			items := nonNil(list.Items)
			for i := range items {
				items[i].Token = "" // never a secret in a list
			}
			if a.json {
				return a.writeJSON(items)
			}
			if len(items) == 0 {
				fmt.Fprintln(a.stdout, "no access tokens")
				return nil
			}
			t := newTable(a.stdout, "ID", "NAME", "PROJECT", "ROLE", "STATUS", "CREATED", "EXPIRES")
			for _, k := range items {
				t.row(k.ID, k.Name, orDash(k.Project), orDash(k.Role), orDash(k.Status), when(k.CreatedAt), expiry(k.ExpiresAt))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) tokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an access token",
		Long: `Revoke an access token by its id (as 'stk token list' prints it): the Hub
refuses it from then on.`,
		Example: `  stk token revoke tok_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk token revoke tok_01JD3W7V4T9Q8X2M5N6P7R8S9T --json`,
		Args:              nameArg("token id"),
		ValidArgsFunction: a.completeTokens,
		RunE: action(func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if strings.HasPrefix(id, "stkpat_") {
				// Never echo a secret, even one pasted by mistake.
				return usageErrorf("that is a token, not a token id: use the id as printed by 'stk token list'")
			}
			if !ids.Valid(ids.Token, id) {
				return usageErrorf("%q is not a token id: want tok_ followed by 26 characters, as printed by 'stk token list'", clipArg(id))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := c.RevokeToken(cmd.Context(), id)
			if err != nil {
				return err
			}
			t.Token = ""
			if a.json {
				return a.writeJSON(t)
			}
			fmt.Fprintf(a.stdout, "revoked token %s (%s)\n", t.ID, orDash(t.Name))
			return nil
		}),
	}
}

// completeTokens offers the ids of active tokens as the argument of revoke.
func (a *app) completeTokens(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeFrom(a, func() []string { return nil },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Token], error) {
			return c.ListTokens(ctx)
		},
		func(t hubapi.Token) string {
			if t.Status == "revoked" {
				return ""
			}
			return t.ID + "\t" + t.Name
		})(cmd, args, s)
}
