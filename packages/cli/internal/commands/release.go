package commands

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
)

func (a *app) releaseCmd() *cobra.Command {
	c := group("release", "Create, list, promote and roll back the releases of an environment",
		`  stk release create --project demo --env dev --ref 3f2c1ab
  stk release list --project demo --env dev
  stk release promote --project demo --from dev --to prod
  stk release rollback --project demo --env prod --to rel_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk release diff --project demo --env prod rel_01JD3W7V4T9Q8X2M5N6P7R8S9T current`,
		a.releaseCreateCmd(), a.releaseListCmd(), a.releaseCurrentCmd(), a.releaseShowCmd(),
		a.releaseRollbackCmd(), a.releasePromoteCmd(), a.releaseDiffCmd())
	c.Aliases = []string{"releases", "rel"}
	return c
}

// checkReleaseID refuses anything that is not shaped like a release id
// (rel_ + ULID), e.g. a git ref or an env name given by mistake.
func checkReleaseID(field, v string) error {
	if v == "" {
		return usageErrorf("%s is required", field)
	}
	if !ids.Valid(ids.Release, v) {
		return usageErrorf("%s %q is not a release id: want rel_ followed by 26 characters, as printed by 'stk release list'", field, clipArg(v))
	}
	return nil
}

// checkRef refuses refs that cannot be a git ref or tag.
func checkRef(field, v string) error {
	if len(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return usageErrorf("%s %q is not a valid ref: want a commit sha or tag without spaces (at most 200 characters)", field, clipArg(v))
	}
	return nil
}

// clipArg keeps echoed arguments short.
func clipArg(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (a *app) releaseCreateCmd() *cobra.Command {
	var ref string
	c := &cobra.Command{
		Use:   "create",
		Short: "Freeze the staged configuration into a release and make it current",
		Long: `Freeze the environment's staged schema snapshots, permissions and auth config
(if one was applied) into an immutable release, record the ref (a git commit)
and make it current: Bridges serve it within seconds. The staged permissions
are validated again against the snapshots being frozen.

When the content and the ref equal the current release's, the current release
is returned with reused: true and nothing changes.`,
		Example: `  stk release create --project demo --env dev --ref 3f2c1ab
  stk release create --project demo --env dev --ref "$(git rev-parse --short HEAD)" --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			if err := checkRef("--ref", ref); err != nil {
				return err
			}
			rel, _, err := c.CreateRelease(cmd.Context(), project, env, hubapi.CreateRelease{Ref: ref})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(releaseJSON(rel))
			}
			if rel.Reused {
				fmt.Fprintf(a.stdout, "release %s of %s/%s reused: content and ref equal the current release (ref %s)\n",
					rel.ID, project, env, orDash(rel.Ref))
				return nil
			}
			fmt.Fprintf(a.stdout, "created release %s of %s/%s (ref %s), now current\n", rel.ID, project, env, orDash(rel.Ref))
			return nil
		}),
	}
	c.Flags().StringVar(&ref, "ref", "", "the git commit (or tag) the release is built from")
	return c
}

func (a *app) releaseListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the releases of an environment, newest first",
		Example: `  stk release list --project demo --env prod
  stk release list --project demo --env prod --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			list, err := c.ListReleases(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				items := nonNil(list.Items)
				for i := range items {
					items[i] = releaseJSON(items[i])
				}
				return a.writeJSON(items)
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no releases in %s/%s (create one: stk release create --project %s --env %s --ref REF)\n",
					project, env, project, env)
				return nil
			}
			t := newTable(a.stdout, "ID", "REF", "CURRENT", "CREATED", "BY", "PROMOTED FROM")
			for _, r := range list.Items {
				t.row(r.ID, orDash(r.Ref), yesNo(r.Current), when(r.CreatedAt), orDash(r.CreatedBy), orDash(r.PromotedFrom))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) releaseCurrentCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "current",
		Short: "Show the current release of an environment",
		Long: `Show the release that Bridges serve for an environment. An environment with no
release yet is NOT_FOUND (exit 1).`,
		Example: `  stk release current --project demo --env prod
  stk release current --project demo --env prod --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			rel, err := c.CurrentRelease(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(releaseJSON(rel))
			}
			a.printRelease(rel)
			return nil
		}),
	}
}

func (a *app) releaseShowCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "show RELEASE_ID",
		Short: "Show a release and what its permissions expose",
		Long: `Show a release of an environment: who made it, when and from which ref, its
content hash, the permissions version and schema snapshots it froze, and the
tables and columns that its permissions expose (what a promotion checks for
drift) with the ops each allows and the roles of their rules.`,
		Example: `  stk release show --project demo --env dev rel_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk release show --project demo --env dev rel_01JD3W7V4T9Q8X2M5N6P7R8S9T --json`,
		Args: nameArg("release id"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			if err := checkReleaseID("release id", args[0]); err != nil {
				return err
			}
			rel, err := c.GetRelease(cmd.Context(), project, env, args[0])
			if err != nil {
				return err
			}
			if a.json {
				exposes := nonNil(rel.Exposes)
				for i := range exposes {
					exposes[i].Columns = nonNil(exposes[i].Columns)
				}
				// exposes is always present here, [] when nothing is.
				return a.writeJSON(struct {
					hubapi.Release
					Exposes []hubapi.Exposure `json:"exposes"`
				}{releaseJSON(rel), exposes})
			}
			a.printRelease(rel)
			fmt.Fprintln(a.stdout)
			if len(rel.Exposes) == 0 {
				fmt.Fprintln(a.stdout, "exposes nothing: no permission rule allows any table")
				return nil
			}
			t := newTable(a.stdout, "CONNECTION", "TABLE", "COLUMNS", "OPS (ROLES)")
			for _, e := range rel.Exposes {
				t.row(e.Connection, e.Table, orDash(strings.Join(e.Columns, ", ")), orDash(opsText(e.Ops)))
			}
			t.flush()
			return nil
		}),
	}
	c.ValidArgsFunction = a.completeReleases(func() string { return a.env })
	return c
}

func (a *app) releaseRollbackCmd() *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:   "rollback",
		Short: "Make an earlier release of an environment current again",
		Long: `Move an environment's current-release pointer back to one of its earlier
releases; Bridges serve it within seconds. The release must belong to the same
environment (another env's release is a CONFLICT; an unknown one NOT_FOUND).`,
		Example: `  stk release rollback --project demo --env prod --to rel_01JD3W7V4T9Q8X2M5N6P7R8S9T
  stk release rollback --project demo --env prod --to rel_01JD3W7V4T9Q8X2M5N6P7R8S9T --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			if err := checkReleaseID("--to", to); err != nil {
				return err
			}
			rel, err := c.Rollback(cmd.Context(), project, env, hubapi.Rollback{To: to})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(releaseJSON(rel))
			}
			fmt.Fprintf(a.stdout, "rolled back %s/%s to release %s (ref %s), now current\n", project, env, rel.ID, orDash(rel.Ref))
			return nil
		}),
	}
	c.Flags().StringVar(&to, "to", "", "id of the release to make current (required)")
	_ = c.MarkFlagRequired("to")
	_ = c.RegisterFlagCompletionFunc("to", a.completeReleases(func() string { return a.env }))
	return c
}

func (a *app) releasePromoteCmd() *cobra.Command {
	var from, to, ref, releaseID string
	var force bool
	c := &cobra.Command{
		Use:   "promote",
		Short: "Release the content of one environment's release into another environment",
		Long: `Create a release in --to with the same content as a release of --from: its
current release, or its newest release with --ref, or the release named by
--release. The new release keeps --to's own connections and becomes current.

Before switching, the Hub compares --to's databases with the release's
snapshots: a connection, table or column that the release exposes and --to
lacks (or has with another type) refuses the promotion (exit 1, code
SCHEMA_DRIFT), and each item is printed as "drift: connection.table.column:
reason". --force promotes anyway.`,
		Example: `  stk release promote --project demo --from dev --to prod
  stk release promote --project demo --from dev --to prod --ref 3f2c1ab
  stk release promote --project demo --from stg --to prod --release rel_01JD3W7V4T9Q8X2M5N6P7R8S9T --json
  stk release promote --project demo --from dev --to prod --force`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			if err := checkName("--from", from); err != nil {
				return err
			}
			if err := checkName("--to", to); err != nil {
				return err
			}
			if from == to {
				return usageErrorf("--from and --to are both %q: promote between two environments", from)
			}
			if cmd.Flags().Changed("ref") && cmd.Flags().Changed("release") {
				return usageErrorf("give either --ref or --release, not both")
			}
			if cmd.Flags().Changed("ref") {
				if ref == "" {
					return usageErrorf("--ref is empty")
				}
				if err := checkRef("--ref", ref); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("release") {
				if err := checkReleaseID("--release", releaseID); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			rel, err := c.Promote(cmd.Context(), project, hubapi.Promote{From: from, To: to, Ref: ref, ReleaseID: releaseID, Force: force})
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(releaseJSON(rel))
			}
			src := ""
			if rel.PromotedFrom != "" {
				src = " " + rel.PromotedFrom
			}
			if rel.Reused {
				fmt.Fprintf(a.stdout, "release %s of %s/%s reused: it already has the content and ref of release%s of %s (ref %s)\n",
					rel.ID, project, to, src, from, orDash(rel.Ref))
				return nil
			}
			fmt.Fprintf(a.stdout, "promoted release%s of %s/%s to %s/%s as %s (ref %s), now current\n",
				src, project, from, project, to, rel.ID, orDash(rel.Ref))
			if force {
				fmt.Fprintln(a.stdout, "the drift check was skipped (--force)")
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "environment to promote from (required)")
	f.StringVar(&to, "to", "", "environment to promote to (required)")
	f.StringVar(&ref, "ref", "", "promote --from's newest release with this ref")
	f.StringVar(&releaseID, "release", "", "promote this release of --from")
	f.BoolVar(&force, "force", false, "promote even if --to's databases drifted from the release's snapshots")
	_ = c.MarkFlagRequired("from")
	_ = c.MarkFlagRequired("to")
	_ = c.RegisterFlagCompletionFunc("from", a.completeEnvs)
	_ = c.RegisterFlagCompletionFunc("to", a.completeEnvs)
	_ = c.RegisterFlagCompletionFunc("release", a.completeReleases(func() string { return from }))
	return c
}

// opsText shows an exposure's ops in op order: "select: reader, writer;
// insert: writer".
func opsText(ops map[string][]string) string {
	var parts []string
	for _, op := range []string{"select", "insert", "update", "delete"} {
		if roles, ok := ops[op]; ok {
			parts = append(parts, op+": "+strings.Join(roles, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// releaseJSON fills the release's collections so --json shows [] and {}
// rather than null.
func releaseJSON(r hubapi.Release) hubapi.Release {
	if r.Snapshots == nil {
		r.Snapshots = map[string]string{}
	}
	return r
}

// printRelease prints a release as a two-column table.
func (a *app) printRelease(r hubapi.Release) {
	conns := make([]string, 0, len(r.Snapshots))
	for conn := range r.Snapshots {
		conns = append(conns, conn)
	}
	sort.Strings(conns)
	snaps := make([]string, 0, len(conns))
	for _, conn := range conns {
		snaps = append(snaps, conn+"="+r.Snapshots[conn])
	}
	t := newTable(a.stdout, "release", r.ID)
	t.row("env", orDash(r.Project)+"/"+orDash(r.Env))
	t.row("ref", orDash(r.Ref))
	t.row("current", yesNo(r.Current))
	t.row("hash", orDash(r.Hash))
	t.row("permissions", orDash(r.PermissionsID))
	t.row("auth config", orDash(r.AuthID))
	t.row("snapshots", orDash(strings.Join(snaps, ", ")))
	t.row("promoted from", orDash(r.PromotedFrom))
	t.row("created", when(r.CreatedAt))
	t.row("created by", orDash(r.CreatedBy))
	t.flush()
}
