package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func (a *app) userCmd() *cobra.Command {
	c := group("user", "Create, list and disable operator accounts (org owners and admins)",
		`  printf '%s' "$PASSWORD" | stk user create --email dev@example.com --password-stdin
  stk user list
  stk user disable --email dev@example.com`,
		a.userCreateCmd(), a.userListCmd(), a.userDisableCmd())
	c.Aliases = []string{"users"}
	return c
}

func (a *app) userCreateCmd() *cobra.Command {
	var email string
	var fromStdin bool
	c := &cobra.Command{
		Use:   "create",
		Short: "Create an operator account",
		Long: `Create an operator account with an email and a password. The password comes
from standard input with --password-stdin (on a terminal without it, stk asks
for it twice, without echo); it is never printed. A new user has no roles yet:
give them some with 'stk member add'.`,
		Example: `  printf '%s' "$PASSWORD" | stk user create --email dev@example.com --password-stdin
  stk user create --email dev@example.com --password-stdin < password.txt
  stk user create --email dev@example.com --password-stdin --json < password.txt`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkEmail("--email", email); err != nil {
				return err
			}
			var password string
			var err error
			tty, isTTY := a.terminal()
			switch {
			case fromStdin:
				if password, err = readSecret(a.stdin, "--password-stdin"); err != nil {
					return err
				}
			case !isTTY:
				return usageErrorf("required flag --password-stdin not set: pass the password on standard input")
			default:
				if password, err = promptPassword(tty, a.stderr, "Password for "+email+": "); err != nil {
					return err
				}
				again, err := promptPassword(tty, a.stderr, "Repeat the password: ")
				if err != nil {
					return err
				}
				if again != password {
					return usageErrorf("the passwords differ")
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), hubapi.CreateUser{Email: email, Password: password})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(u)
			}
			fmt.Fprintf(a.stdout, "created user %s (%s)\ngive them a role: stk member add --org ORG --email %s --role member\n", u.Email, u.ID, u.Email)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&email, "email", "", "email of the new user (required)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	_ = c.MarkFlagRequired("email")
	_ = c.RegisterFlagCompletionFunc("email", cobra.NoFileCompletions)
	return c
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List operator accounts",
		Example: `  stk user list
  stk user list --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintln(a.stdout, "no users")
				return nil
			}
			t := newTable(a.stdout, "EMAIL", "ID", "STATUS", "CREATED")
			for _, u := range list.Items {
				t.row(u.Email, u.ID, orDash(u.Status), when(u.CreatedAt))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) userDisableCmd() *cobra.Command {
	var email string
	c := &cobra.Command{
		Use:   "disable",
		Short: "Disable an operator account",
		Long: `Disable an operator account: it can no longer log in, and the Hub refuses its
sessions and tokens.`,
		Example: `  stk user disable --email dev@example.com
  stk user disable --email dev@example.com --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkEmail("--email", email); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := c.DisableUser(cmd.Context(), email)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(u)
			}
			fmt.Fprintf(a.stdout, "disabled user %s (%s)\n", u.Email, u.ID)
			return nil
		}),
	}
	c.Flags().StringVar(&email, "email", "", "email of the user (required)")
	_ = c.MarkFlagRequired("email")
	_ = c.RegisterFlagCompletionFunc("email", a.completeUsers)
	return c
}

// completeUsers offers the emails of active users.
func (a *app) completeUsers(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return nil },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.User], error) {
			return c.ListUsers(ctx)
		},
		func(u hubapi.User) string {
			if u.Status == "disabled" {
				return ""
			}
			return u.Email
		})(cmd, args, s)
}
