package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/schema"
)

func (a *app) schemaCmd() *cobra.Command {
	return group("schema", "Take and show schema snapshots of an environment's connections",
		`  stk schema snapshot --project demo --env dev --connection main
  stk schema show --project demo --env dev`,
		a.schemaSnapshotCmd(), a.schemaShowCmd())
}

func (a *app) schemaSnapshotCmd() *cobra.Command {
	var conn string
	c := &cobra.Command{
		Use:   "snapshot",
		Short: "Introspect a connection's database into a new schema snapshot",
		Long: `Ask the Hub to introspect the database of a connection and stage the result as
a schema snapshot. When the schema is unchanged since the connection's latest
snapshot, that snapshot is returned again (reused).`,
		Example: `  stk schema snapshot --project demo --env dev --connection main
  stk schema snapshot --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			if err := checkName("--connection", conn); err != nil {
				return err
			}
			snap, _, err := c.Snapshot(cmd.Context(), project, env, conn)
			if err != nil {
				return err
			}
			if a.json {
				snap.Tables = nonNil(snap.Tables)
				return a.writeJSON(snap)
			}
			state := "new"
			if snap.Reused {
				state = "schema unchanged, latest snapshot reused"
			}
			fmt.Fprintf(a.stdout, "snapshot %s of %s/%s/%s: %s (%s)\n",
				snap.ID, project, env, snap.Connection, plural(len(snap.Tables), "table"), state)
			return nil
		}),
	}
	c.Flags().StringVar(&conn, "connection", "main", "connection name")
	_ = c.RegisterFlagCompletionFunc("connection", a.completeConnections)
	return c
}

func (a *app) schemaShowCmd() *cobra.Command {
	var conn string
	c := &cobra.Command{
		Use:   "show",
		Short: "Show the latest schema snapshot of each connection",
		Example: `  stk schema show --project demo --env dev
  stk schema show --project demo --env dev --connection main --json`,
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
			if cmd.Flags().Changed("connection") {
				if err := checkName("--connection", conn); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.Schema(cmd.Context(), project, env, conn)
			if err != nil {
				return err
			}
			if a.json {
				items := nonNil(list.Items)
				for i := range items {
					items[i].Tables = nonNil(items[i].Tables)
				}
				return a.writeJSON(items)
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no schema snapshots in %s/%s (take one: stk schema snapshot --project %s --env %s)\n",
					project, env, project, env)
				return nil
			}
			for i, s := range list.Items {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printSnapshot(a, s)
			}
			return nil
		}),
	}
	c.Flags().StringVar(&conn, "connection", "", "show only this connection")
	_ = c.RegisterFlagCompletionFunc("connection", a.completeConnections)
	return c
}

func printSnapshot(a *app, s hubapi.Snapshot) {
	fmt.Fprintf(a.stdout, "connection %s (%s): snapshot %s, %s, %s, taken %s\n",
		s.Connection, s.Engine, s.ID, plural(len(s.Tables), "table"), s.Hash, when(s.CreatedAt))
	for _, t := range s.Tables {
		fmt.Fprintf(a.stdout, "\ntable %s\n", t.Name)
		tw := newTable(a.stdout, "  COLUMN", "TYPE", "NULL", "KEY", "DB TYPE")
		for _, col := range t.Columns {
			tw.row("  "+col.Name, col.Type, yesNo(col.Nullable), keyOf(t, col), col.DBType)
		}
		tw.flush()
		for _, fk := range t.ForeignKeys {
			fmt.Fprintf(a.stdout, "  foreign key %s (%s) → %s (%s)\n", fk.Name,
				strings.Join(fk.Columns, ", "), fk.RefTable, strings.Join(fk.RefColumns, ", "))
		}
		for _, ix := range t.Indexes {
			kind := "index"
			if ix.Unique {
				kind = "unique index"
			}
			fmt.Fprintf(a.stdout, "  %s %s (%s)\n", kind, ix.Name, strings.Join(ix.Columns, ", "))
		}
	}
}

func keyOf(t schema.Table, c schema.Column) string {
	for _, k := range t.PrimaryKey {
		if k == c.Name {
			return "pk"
		}
	}
	return ""
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
