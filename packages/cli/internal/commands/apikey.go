package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/duration"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
)

func (a *app) apikeyCmd() *cobra.Command {
	c := group("apikey", "Create, list and revoke the data-plane API keys of an environment",
		`  stk apikey create --project demo --env dev --name server --roles writer,reader
  stk apikey list --project demo --env dev
  stk apikey revoke --project demo --env dev --key-id key_01JD3W7V4T9Q8X2M5N6P7R8S9T`,
		a.apikeyCreateCmd(), a.apikeyListCmd(), a.apikeyRevokeCmd())
	c.Aliases = []string{"apikeys"}
	return c
}

// apiKeyCreated is the --json shape of `apikey create` (SPEC §11): exactly
// these keys, expiresAt only when the key expires.
type apiKeyCreated struct {
	KeyID     string     `json:"keyId"`
	APIKey    string     `json:"apiKey"`
	Name      string     `json:"name"`
	Roles     []string   `json:"roles"`
	Project   string     `json:"project"`
	Env       string     `json:"env"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

func (a *app) apikeyCreateCmd() *cobra.Command {
	var name, expires string
	var roles []string
	c := &cobra.Command{
		Use:   "create",
		Short: "Create an API key for servers and CI (shown only once)",
		Long: `Create a data-plane API key bound to one environment, carrying the given roles
(the role names of the permissions file; public and authenticated are reserved
and cannot be given to a key).

The key (apiKey) is printed this one time: the Hub keeps only a hash of its
secret and never shows it again. Store it in a secret manager right away.
--expires takes a duration such as 90d or 12h, counted from now.`,
		Example: `  stk apikey create --project demo --env dev --name server --roles writer,reader
  stk apikey create --project demo --env prod --name ci --roles deployer --expires 90d
  stk apikey create --project demo --env dev --name server --roles reader --json | jq -r .apiKey`,
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
			if len(roles) == 0 {
				return usageErrorf("--roles: give at least one role, e.g. --roles reader")
			}
			seen := map[string]bool{}
			for _, r := range roles {
				r = strings.TrimSpace(r)
				if err := names.Role("--roles", r, true); err != nil {
					return nameError(err)
				}
				if seen[r] {
					return usageErrorf("--roles: role %q given twice", r)
				}
				seen[r] = true
			}
			in := hubapi.CreateAPIKey{Name: name, Roles: trimAll(roles)}
			if cmd.Flags().Changed("expires") {
				d, err := duration.Parse(expires)
				if err != nil {
					return usageErrorf("--expires: %v", err)
				}
				at := time.Now().UTC().Add(d).Truncate(time.Second)
				in.ExpiresAt = &at
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.CreateAPIKey(cmd.Context(), project, env, in)
			if err != nil {
				return err
			}
			out := apiKeyCreated{KeyID: k.KeyID, APIKey: k.Key, Name: k.Name, Roles: nonNil(k.Roles),
				Project: k.Project, Env: k.Env, ExpiresAt: k.ExpiresAt}
			if out.Project == "" {
				out.Project = project
			}
			if out.Env == "" {
				out.Env = env
			}
			if a.json {
				return a.writeJSON(out)
			}
			fmt.Fprintf(a.stdout, "created API key %s in %s/%s\n", out.Name, out.Project, out.Env)
			t := newTable(a.stdout, "keyId", out.KeyID)
			t.row("apiKey", out.APIKey)
			t.row("roles", strings.Join(out.Roles, ", "))
			t.row("expires", expiry(out.ExpiresAt))
			t.flush()
			fmt.Fprintln(a.stdout, "\nThe apiKey is shown only this once: store it now (the Hub keeps only a hash of it).")
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "key name, e.g. server (required)")
	f.StringSliceVar(&roles, "roles", nil, "comma-separated roles of the key, e.g. writer,reader (required)")
	f.StringVar(&expires, "expires", "", "lifetime from now, e.g. 90d or 12h (default: never expires)")
	_ = c.MarkFlagRequired("name")
	_ = c.MarkFlagRequired("roles")
	_ = c.RegisterFlagCompletionFunc("roles", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("expires", cobra.FixedCompletions(
		[]string{"30d", "90d", "365d"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func expiry(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(*t)
}

func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

func (a *app) apikeyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the API keys of an environment (never their secrets)",
		Example: `  stk apikey list --project demo --env dev
  stk apikey list --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			list, err := c.ListAPIKeys(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				items := nonNil(list.Items)
				for i := range items {
					items[i].Roles = nonNil(items[i].Roles)
				}
				return a.writeJSON(items)
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no API keys in %s/%s\n", project, env)
				return nil
			}
			t := newTable(a.stdout, "KEY ID", "NAME", "ROLES", "STATUS", "CREATED", "LAST USED", "EXPIRES")
			for _, k := range list.Items {
				t.row(k.KeyID, k.Name, orDash(strings.Join(k.Roles, ",")), k.Status, when(k.CreatedAt),
					optTime(k.LastUsedAt), expiry(k.ExpiresAt))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) apikeyRevokeCmd() *cobra.Command {
	var keyID string
	c := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an API key",
		Long: `Revoke an API key: Bridges refuse it within seconds. Revoking a revoked key
again succeeds and changes nothing.`,
		Example: `  stk apikey revoke --project demo --env dev --key-id key_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk apikey revoke --project demo --env dev --key-id key_01JD3W7V4T9Q8X2M5N6P7R8S9T --json`,
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
			if !ids.Valid(ids.Key, keyID) {
				return usageErrorf("--key-id %q is not a key id: want key_ followed by 26 characters, as printed by 'stk apikey list'", clipArg(keyID))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.RevokeAPIKey(cmd.Context(), project, env, keyID)
			if err != nil {
				return err
			}
			if a.json {
				k.Roles = nonNil(k.Roles)
				return a.writeJSON(k)
			}
			fmt.Fprintf(a.stdout, "revoked API key %s (%s) in %s/%s\n", k.KeyID, orDash(k.Name), project, env)
			return nil
		}),
	}
	c.Flags().StringVar(&keyID, "key-id", "", "id of the key to revoke, key_… (required)")
	_ = c.MarkFlagRequired("key-id")
	_ = c.RegisterFlagCompletionFunc("key-id", a.completeAPIKeys)
	return c
}
