package commands

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// Dynamic completions ask the Hub, briefly; any failure just offers nothing.

const completionTimeout = 3 * time.Second

type completer = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeFrom offers label(item) for each item that list returns; an empty
// label skips the item. need lists the names (project, env) that must be
// known before asking.
func completeFrom[T any](a *app, need func() []string,
	list func(ctx context.Context, c *hubclient.Client) (hubapi.List[T], error), label func(T) string) completer {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		a.resolve(cmd)
		for _, n := range need() {
			if n == "" {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		}
		c, err := a.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		items, err := list(ctx, c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]string, 0, len(items.Items))
		for _, it := range items.Items {
			if l := label(it); l != "" {
				out = append(out, l)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func (a *app) completeProjects(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return nil },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Project], error) {
			return c.ListProjects(ctx)
		},
		func(p hubapi.Project) string { return p.Name })(cmd, args, s)
}

func (a *app) completeEnvs(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return []string{a.project} },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Env], error) {
			return c.ListEnvs(ctx, a.project)
		},
		func(e hubapi.Env) string { return e.Name })(cmd, args, s)
}

func (a *app) completeConnections(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return []string{a.project, a.env} },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Connection], error) {
			return c.ListConnections(ctx, a.project, a.env)
		},
		func(cn hubapi.Connection) string { return cn.Name })(cmd, args, s)
}

// completeReleases offers the release ids of the env that env() names
// (--env, or --from for promote), newest first.
func (a *app) completeReleases(env func() string) completer {
	return completeFrom(a, func() []string { return []string{a.project, env()} },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.Release], error) {
			return c.ListReleases(ctx, a.project, env())
		},
		func(r hubapi.Release) string {
			desc := "ref " + orDash(r.Ref)
			if r.Current {
				desc += ", current"
			}
			return r.ID + "\t" + desc
		})
}

// completeAPIKeys offers the active API keys of --project/--env.
func (a *app) completeAPIKeys(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return completeFrom(a, func() []string { return []string{a.project, a.env} },
		func(ctx context.Context, c *hubclient.Client) (hubapi.List[hubapi.APIKey], error) {
			return c.ListAPIKeys(ctx, a.project, a.env)
		},
		func(k hubapi.APIKey) string {
			if k.Status == "revoked" {
				return ""
			}
			return k.KeyID + "\t" + k.Name
		})(cmd, args, s)
}
