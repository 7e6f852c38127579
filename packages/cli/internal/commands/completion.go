package commands

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// Dynamic completions ask the Hub, briefly; any failure just offers nothing.

const completionTimeout = 3 * time.Second

func (a *app) completeProjects(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	a.resolve(cmd)
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	list, err := c.ListProjects(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeEnvs(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	a.resolve(cmd)
	c, err := a.client()
	if err != nil || a.project == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	list, err := c.ListEnvs(ctx, a.project)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, e.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeConnections(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	a.resolve(cmd)
	c, err := a.client()
	if err != nil || a.project == "" || a.env == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	list, err := c.ListConnections(ctx, a.project, a.env)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(list.Items))
	for _, cn := range list.Items {
		out = append(out, cn.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeReleases offers the release ids of the env that env() names
// (--env, or --from for promote), newest first.
func (a *app) completeReleases(env func() string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		a.resolve(cmd)
		c, err := a.client()
		e := env()
		if err != nil || a.project == "" || e == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		list, err := c.ListReleases(ctx, a.project, e)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]string, 0, len(list.Items))
		for _, r := range list.Items {
			desc := "ref " + orDash(r.Ref)
			if r.Current {
				desc += ", current"
			}
			out = append(out, r.ID+"\t"+desc)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeAPIKeys offers the active API keys of --project/--env.
func (a *app) completeAPIKeys(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	a.resolve(cmd)
	c, err := a.client()
	if err != nil || a.project == "" || a.env == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	list, err := c.ListAPIKeys(ctx, a.project, a.env)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(list.Items))
	for _, k := range list.Items {
		if k.Status == "revoked" {
			continue
		}
		out = append(out, k.KeyID+"\t"+k.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
