package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/accessdiff"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// currentWord stands for the current release of --env in `release diff`.
const currentWord = "current"

func (a *app) releaseDiffCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "diff FROM TO",
		Short: "Show the access gained or lost from one release to another",
		Long: `Compare what two releases of a project allow: for every table of their schema
snapshots, every op and every role their rules name, the access a caller
holding that role gets (the first matching rule, the table's own or
_default's). Each change is one line:

  gained             the role had no access and now has some
  lost               the role had access and now has none
  narrowed           fewer columns, or a row condition added (condition,
                     check, or the owner shorthand)
  widened            more columns, or a row condition removed
  condition-changed  the row condition was rewritten

FROM and TO are release ids of any environments of the project (compare dev's
release with prod's before promoting), or the word "current" for the current
release of --env. Roles: public is a caller without a credential,
authenticated a signed-in end user, a role name a caller holding it; owner
is shown as the condition it adds (resource.<column> == request.auth.sub).

--json prints {"from","to","changes":[{"table","op","role","change",
"columns"?,"condition"?}]}; "changes" is [] when nothing changes.`,
		Example: `  stk release diff --project demo rel_01JD3W7V4T9Q8X2M5N6P7R8S9T rel_01JD3W8A4T9Q8X2M5N6P7R8S9V
  stk release diff --project demo --env prod rel_01JD3W7V4T9Q8X2M5N6P7R8S9T current
  stk release diff --project demo rel_01JD3W7V4T9Q8X2M5N6P7R8S9T rel_01JD3W8A4T9Q8X2M5N6P7R8S9V --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("%s takes two releases, FROM and TO (release ids or %q), got %d: %s",
					cmd.CommandPath(), currentWord, len(args), cmd.UseLine())
			}
			return nil
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			for i, field := range []string{"FROM", "TO"} {
				if args[i] == currentWord {
					if _, err := a.requireEnv(); err != nil {
						return usageErrorf("%s is %q: give --env to say whose current release", field, currentWord)
					}
					continue
				}
				if err := checkReleaseID(field, args[i]); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			from, err := a.resolveRelease(cmd.Context(), c, project, args[0])
			if err != nil {
				return err
			}
			to, err := a.resolveRelease(cmd.Context(), c, project, args[1])
			if err != nil {
				return err
			}
			d, err := c.ReleaseDiff(cmd.Context(), project, from, to)
			if err != nil {
				return err
			}
			d.Changes = nonNil(d.Changes)
			if a.json {
				return a.writeJSON(d)
			}
			if len(d.Changes) == 0 {
				fmt.Fprintf(a.stdout, "no access changes from %s to %s\n", d.From, d.To)
				return nil
			}
			fmt.Fprintf(a.stdout, "access changes from %s to %s:\n", d.From, d.To)
			a.printChanges(d.Changes)
			return nil
		}),
	}
	c.ValidArgsFunction = a.completeReleases(func() string { return a.env })
	return c
}

// resolveRelease turns the word "current" into the id of --env's current
// release; a release id is returned as it is.
func (a *app) resolveRelease(ctx context.Context, c *hubclient.Client, project, arg string) (string, error) {
	if arg != currentWord {
		return arg, nil
	}
	rel, err := c.CurrentRelease(ctx, project, a.env)
	return rel.ID, err
}

// printChanges prints access changes as a table: one line per table, op,
// role and change, with the columns and condition involved.
func (a *app) printChanges(changes []accessdiff.Change) {
	t := newTable(a.stdout, "TABLE", "OP", "ROLE", "CHANGE", "DETAIL")
	for _, c := range changes {
		t.row(c.Table, c.Op, c.Role, string(c.Change), orDash(changeDetail(c)))
	}
	t.flush()
}

// changeDetail says what a change touches: "columns +a, -b; condition: (none)
// → resource.x == 1".
func changeDetail(c accessdiff.Change) string {
	var parts []string
	if c.Columns != nil {
		var cols []string
		for _, n := range c.Columns.Added {
			cols = append(cols, "+"+n)
		}
		for _, n := range c.Columns.Removed {
			cols = append(cols, "-"+n)
		}
		if len(cols) > 0 {
			parts = append(parts, "columns "+strings.Join(cols, ", "))
		}
	}
	if c.Condition != nil {
		parts = append(parts, "condition: "+orNone(c.Condition.Old)+" → "+orNone(c.Condition.New))
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// printStagedDiff prints what releasing a staged permissions version would
// change (the diff of a permissions apply result, SPEC §9).
func (a *app) printStagedDiff(project, env string, d *hubapi.ReleaseDiff) {
	switch {
	case d == nil:
		fmt.Fprintf(a.stdout, "%s/%s has no release yet: the first release grants what this version allows\n", project, env)
	case len(d.Changes) == 0:
		fmt.Fprintf(a.stdout, "no access changes from the current release %s\n", d.From)
	default:
		fmt.Fprintf(a.stdout, "a release of it would change access from the current release %s:\n", d.From)
		a.printChanges(d.Changes)
	}
}
