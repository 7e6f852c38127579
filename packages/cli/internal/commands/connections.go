package commands

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/schema"
)

// maxURLBytes bounds what --db-url-stdin reads.
const maxURLBytes = 64 << 10

func (a *app) connectionsCmd() *cobra.Command {
	c := group("connections", "Set, list, test, rotate and delete the database connections of an environment",
		`  stk connections set --project demo --env dev --name main --db-url-stdin < db-url.txt
  stk connections list --project demo --env dev
  stk connections test --project demo --env dev --name main
  stk connections rotate --project demo --env dev --name main --db-url-stdin < new-db-url.txt
  stk connections delete --project demo --env dev --name old --confirm old`,
		a.connectionsSetCmd(), a.connectionsListCmd(), a.connectionsTestCmd(), a.connectionsRotateCmd(),
		a.connectionsDeleteCmd())
	c.Aliases = []string{"connection", "conn"}
	return c
}

func (a *app) connectionsSetCmd() *cobra.Command {
	var name, engine, dbURL string
	var fromStdin, noTest bool
	c := &cobra.Command{
		Use:   "set",
		Short: "Create or replace a connection",
		Long: `Create or replace a connection of an environment. The URL is stored encrypted
by the Hub and never shown again: reads show it with the password redacted.

Prefer --db-url-stdin: a URL given with --db-url stays in the shell history.
--engine defaults from the URL scheme (postgres://, postgresql:// → postgres;
sqlite:// → sqlite).

The Hub connects to the URL before storing it, and stores nothing when that
fails (the error names the category: refused, authentication failed,
timeout, …); --no-test stores it untested, e.g. for a database not up yet.
Either way the Hub refuses URLs its connection policy does not allow:
SQLite files outside its STK_SQLITE_DIR, PostgreSQL Unix sockets unless
STK_ALLOW_LOCAL_SOCKETS=true, hosts outside STK_DB_ALLOWED_HOSTS.`,
		Example: `  stk connections set --project demo --env dev --name main --db-url-stdin < db-url.txt
  printf '%s' "$DATABASE_URL" | stk connections set --project demo --env dev --name main --db-url-stdin
  stk connections set --project demo --env dev --name main --engine postgres --db-url postgres://app:secret@db:5432/app`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, in, err := a.connectionInput(cmd, name, dbURL, engine, fromStdin)
			in.NoTest = noTest
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			conn, created, err := c.PutConnection(cmd.Context(), project, env, name, in)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(conn)
			}
			verb := "updated"
			if created {
				verb = "created"
			}
			fmt.Fprintf(a.stdout, "%s connection %s in %s/%s: %s %s (version %d)\n",
				verb, conn.Name, project, env, conn.Engine, conn.URL, conn.Version)
			return nil
		}),
	}
	a.connectionURLFlags(c, &name, &engine, &dbURL, &fromStdin, &noTest)
	return c
}

// connectionURLFlags adds the flags of set and rotate.
func (a *app) connectionURLFlags(c *cobra.Command, name, engine, dbURL *string, fromStdin, noTest *bool) {
	f := c.Flags()
	f.StringVar(name, "name", "", "connection name, e.g. main (required)")
	f.StringVar(engine, "engine", "", "database engine: postgres or sqlite (default: from the URL scheme)")
	f.StringVar(dbURL, "db-url", "", "database URL (stays in shell history; prefer --db-url-stdin)")
	f.BoolVar(fromStdin, "db-url-stdin", false, "read the database URL from stdin")
	f.BoolVar(noTest, "no-test", false, "store the URL without connecting to it first")
	_ = c.MarkFlagRequired("name")
	_ = c.RegisterFlagCompletionFunc("engine", cobra.FixedCompletions(
		[]string{schema.EnginePostgres, schema.EngineSQLite}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("name", a.completeConnections)
}

// connectionURL takes the URL from --db-url or --db-url-stdin and the
// engine from --engine or the URL scheme.
func (a *app) connectionURL(cmd *cobra.Command, dbURL, engine string, fromStdin bool) (string, string, error) {
	var err error
	switch {
	case fromStdin && cmd.Flags().Changed("db-url"):
		return "", "", usageErrorf("give either --db-url or --db-url-stdin, not both")
	case fromStdin:
		dbURL, err = readURL(a.stdin)
		if err != nil {
			return "", "", err
		}
	case dbURL == "":
		return "", "", usageErrorf("required flag --db-url or --db-url-stdin not set")
	}
	engine, err = resolveEngine(engine, dbURL)
	if err != nil {
		return "", "", err
	}
	return dbURL, engine, nil
}

func (a *app) connectionsRotateCmd() *cobra.Command {
	var name, engine, dbURL string
	var fromStdin, noTest bool
	c := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the URL (credentials) of an existing connection",
		Long: `Replace the database URL of an existing connection, typically after rotating
its password: the Hub stores the new URL encrypted and bumps the connection's
version, and Bridges reconnect with it. Unlike 'set' it never creates a
connection. The URL is handled as by 'set': prefer --db-url-stdin; --engine
defaults from the URL scheme; the Hub tests the new URL first unless
--no-test, and keeps the old one when the test fails.`,
		Example: `  stk connections rotate --project demo --env prod --name main --db-url-stdin < new-db-url.txt
  printf '%s' "$NEW_DATABASE_URL" | stk connections rotate --project demo --env prod --name main --db-url-stdin
  stk connections rotate --project demo --env dev --name main --db-url postgres://app:new-secret@db:5432/app --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, in, err := a.connectionInput(cmd, name, dbURL, engine, fromStdin)
			in.NoTest = noTest
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			conn, err := c.RotateConnection(cmd.Context(), project, env, name, in)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(conn)
			}
			fmt.Fprintf(a.stdout, "rotated connection %s in %s/%s: %s %s (version %d)\n",
				conn.Name, project, env, conn.Engine, conn.URL, conn.Version)
			return nil
		}),
	}
	a.connectionURLFlags(c, &name, &engine, &dbURL, &fromStdin, &noTest)
	return c
}

// connectionInput reads what set and rotate share: the project, env and
// connection name, and the URL with its engine.
func (a *app) connectionInput(cmd *cobra.Command, name, dbURL, engine string, fromStdin bool) (project, env string, in hubapi.PutConnection, err error) {
	if project, err = a.requireProject(); err != nil {
		return
	}
	if env, err = a.requireEnv(); err != nil {
		return
	}
	if err = checkName("--name", name); err != nil {
		return
	}
	in.URL, in.Engine, err = a.connectionURL(cmd, dbURL, engine, fromStdin)
	return
}

// readURL reads one URL from r: surrounding white space (a trailing newline
// from echo or a file) is dropped.
func readURL(r io.Reader) (string, error) {
	return readStdinLine(r, "--db-url-stdin", maxURLBytes, true)
}

var schemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// resolveEngine checks --engine and fills it from the URL scheme. Messages
// quote the scheme only, never the rest of the URL.
func resolveEngine(engine, dbURL string) (string, error) {
	scheme, _, ok := strings.Cut(dbURL, "://")
	if !ok || !schemeRe.MatchString(scheme) {
		scheme = ""
	}
	var fromScheme string
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		fromScheme = schema.EnginePostgres
	case "sqlite":
		fromScheme = schema.EngineSQLite
	}
	switch {
	case engine != "" && engine != schema.EnginePostgres && engine != schema.EngineSQLite:
		return "", usageErrorf("--engine %s is not supported: use %s or %s", strconv.Quote(engine), schema.EnginePostgres, schema.EngineSQLite)
	case engine != "" && fromScheme != "" && engine != fromScheme:
		return "", usageErrorf("--engine %s does not match the URL scheme %s://", engine, scheme)
	case engine != "":
		return engine, nil
	case fromScheme != "":
		return fromScheme, nil
	case scheme == "":
		return "", usageErrorf("the database URL has no scheme: use postgres://… or sqlite://…, or pass --engine")
	default:
		return "", usageErrorf("cannot tell the engine from the URL scheme %s://: pass --engine %s or --engine %s", scheme, schema.EnginePostgres, schema.EngineSQLite)
	}
}

func (a *app) connectionsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the connections of an environment (URLs redacted)",
		Example: `  stk connections list --project demo --env dev
  stk connections list --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			list, err := c.ListConnections(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(list.Items))
			}
			if len(list.Items) == 0 {
				fmt.Fprintf(a.stdout, "no connections in %s/%s\n", project, env)
				return nil
			}
			t := newTable(a.stdout, "NAME", "ENGINE", "URL", "VERSION", "UPDATED")
			for _, cn := range list.Items {
				t.row(cn.Name, cn.Engine, cn.URL, strconv.Itoa(cn.Version), when(cn.UpdatedAt))
			}
			t.flush()
			return nil
		}),
	}
}

func (a *app) connectionsTestCmd() *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "test",
		Short: "Check that the Hub can connect to a connection's database",
		Long: `Ask the Hub to connect to the database of a connection. On success it reports
the server version and the latency; on failure (exit 1, code SERVICE_UNAVAILABLE)
the message names only a category: refused, authentication failed, timeout, TLS,
unknown host.`,
		Example: `  stk connections test --project demo --env dev --name main
  stk connections test --project demo --env dev --name main --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			if err := checkName("--name", name); err != nil {
				return err
			}
			res, err := c.TestConnection(cmd.Context(), project, env, name)
			if err != nil {
				return err
			}
			if !res.OK {
				// The API answers failures with 503; a 200 that is not ok
				// breaks that contract, so say so rather than print "ok".
				return runtimeErrorf(apierr.Internal, "the Hub answered the test of connection %s without ok: true", name)
			}
			if a.json {
				return a.writeJSON(res)
			}
			fmt.Fprintf(a.stdout, "ok: connection %s in %s/%s reached, server %s, %d ms\n",
				name, project, env, orDash(res.ServerVersion), res.LatencyMs)
			return nil
		}),
	}
	c.Flags().StringVar(&name, "name", "", "connection name, e.g. main (required)")
	_ = c.MarkFlagRequired("name")
	_ = c.RegisterFlagCompletionFunc("name", a.completeConnections)
	return c
}
