package commands

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/examples"
	"github.com/santokit/santokit/packages/cli/internal/devstack"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httpserve"
)

func (a *app) devCmd() *cobra.Command {
	o := devstack.Options{HubAddr: devstack.DefaultHubAddr, BridgeAddr: devstack.DefaultBridgeAddr, IssuerAddr: devstack.DefaultIssuerAddr,
		WebAddr: devstack.DefaultWebAddr}
	var dbStdin bool
	c := &cobra.Command{
		Use:   "dev [DIR]",
		Short: "Run a local Hub and Bridge in one process, set up for a project",
		Long: `Run a Hub (operator auth off: it is local) and a Bridge (data-plane auth on, so
that what works in dev works in production) in one process, on embedded
defaults kept in DIR/.santokit/ (DIR defaults to the current directory):

  hub.db        the Hub's store (SQLite)
  master.key    the generated master key ring (mode 0600, reused by later runs)
  bridge.token  the generated token the Bridge presents to the Hub (0600)
  data.db       the data database (SQLite), unless --db names your own
  dev.log       both servers' logs (JSON); nothing is logged to the terminal
  issuer.keys   the dev OIDC issuer's signing keys (0600, reused by later runs)

In a project directory (the 'stk init' layout: config/permissions.yaml,
config/auth.yaml, logics/), a new data.db is created from DIR/schema.sql and
the project's permissions are served. Anywhere else, with --db, your own
database is served as it is: stk dev snapshots its tables, prints which it
found, and serves them with _default rules only (role reader selects, role
writer inserts, updates and deletes); a database without tables is an error.
Anywhere else without --db, the built-in todo example (examples/todo) is
served: data.db gets its schema and rows once, and its permissions let role
reader select and role writer do everything.

Either way stk dev creates project dev and env dev if missing, sets
connection main, snapshots it, applies the permissions, releases them (ref
dev) and creates an API key named dev with every role the permissions name
(the dev key of an earlier run is revoked). It also applies config/auth.yaml
(outside a project: a built-in one) before releasing.

It also runs a development OpenID Connect issuer on loopback (--issuer-addr,
default 127.0.0.1:4001, so its URL and the tokens it signed stay valid across
restarts). The example's and 'stk init's config/auth.yaml trust it by that
URL; with another --issuer-addr, stk dev applies them with the issuer's real
URL instead. 'stk dev token --sub alice' prints an end-user token it signed;
a page gets the same from POST http://127.0.0.1:4001/dev/token with
{"sub": "alice", "roles": [...]} (answer {token, expiresIn, ...}).

--web DIR serves DIR's files on loopback (--web-addr, default
127.0.0.1:4002; names starting with a dot are never served) for a browser
app: the Bridge and the token endpoint allow that origin (CORS, added to
STK_CORS_ORIGINS), and /santokit-dev.json there tells the page the Bridge
URL, project, env and token URL.

Then it prints the Hub and Bridge URLs, the key, a ready curl with the key
and, when some table lets an authenticated end user select, a second curl
with an end-user token for alice (valid 24h), and serves until interrupted
(Ctrl+C or SIGTERM), when the servers shut down gracefully.

--watch reacts to every save in the project: config/permissions.yaml,
config/auth.yaml and logics/ (custom SQL logic) are applied and released
again; schema.sql rebuilds data.db (the previous one is kept as data.db.bak),
then the new tables are snapshotted and released. Saves in quick
succession are taken as one change. One line per change; problems print as
file:line:column: path: message, and the last good release (and database)
stays served. Port 0 in --hub-addr or --bridge-addr picks a free port; the
real address is printed; an address in use is reported (code CONFLICT, exit
1) naming the flag to change. With --json, one JSON object
{hubUrl, bridgeUrl, apiKey, curl, issuerUrl, endUserCurl?, tokenUrl, webUrl?} is printed on
stdout once ready, and everything else goes to stderr.`,
		Example: `  stk dev
  stk init myapp && stk dev myapp --watch
  printf '%s' "$DATABASE_URL" | stk dev --db-stdin
  stk dev --web examples/todo-web
  stk dev --hub-addr 127.0.0.1:0 --bridge-addr 127.0.0.1:0 --json`,
		Args:              optionalDirArg,
		ValidArgsFunction: dirCompletion,
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Dir = args[0]
			}
			if dbStdin {
				if cmd.Flags().Changed("db") {
					return usageErrorf("give either --db or --db-stdin, not both")
				}
				u, err := readStdinLine(a.stdin, "--db-stdin", maxURLBytes, true)
				if err != nil {
					return err
				}
				o.DatabaseURL = u
			}
			o.Version = a.version
			o.Getenv = a.getenv
			o.Ready = a.devReady
			o.Applied = a.devApplied
			o.Notice = func(s string) { fmt.Fprintln(a.devLog(), "note: "+s) }
			return devError(devstack.Run(cmd.Context(), o))
		}),
	}
	f := c.Flags()
	f.StringVar(&o.DatabaseURL, "db", "", "data database: a PostgreSQL URL, postgres://… (default: DIR/.santokit/data.db)")
	f.BoolVar(&dbStdin, "db-stdin", false, "read the --db URL from stdin (keeps its password out of shell history and ps)")
	f.BoolVarP(&o.Watch, "watch", "w", false, "react to changes of schema.sql, config/ and logics/ (rebuild, re-apply, release)")
	f.StringVar(&o.HubAddr, "hub-addr", devstack.DefaultHubAddr, "listen address of the Hub (port 0: any free port)")
	f.StringVar(&o.BridgeAddr, "bridge-addr", devstack.DefaultBridgeAddr, "listen address of the Bridge (port 0: any free port)")
	f.StringVar(&o.IssuerAddr, "issuer-addr", devstack.DefaultIssuerAddr, "loopback listen address of the dev OIDC issuer (port 0: any free port; its URL then changes at each start)")
	f.StringVar(&o.Web, "web", "", "serve this directory's static files on --web-addr and allow that origin in the Bridge (CORS)")
	f.StringVar(&o.WebAddr, "web-addr", devstack.DefaultWebAddr, "loopback listen address of the --web file server (port 0: any free port)")
	_ = c.MarkFlagDirname("web")
	_ = c.RegisterFlagCompletionFunc("db", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("hub-addr", cobra.FixedCompletions(
		[]string{devstack.DefaultHubAddr, "127.0.0.1:0"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("bridge-addr", cobra.FixedCompletions(
		[]string{devstack.DefaultBridgeAddr, "127.0.0.1:0"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("issuer-addr", cobra.FixedCompletions(
		[]string{devstack.DefaultIssuerAddr, "127.0.0.1:0"}, cobra.ShellCompDirectiveNoFileComp))
	c.AddCommand(a.devTokenCmd())
	return c
}

// devLog is where stk dev's running commentary goes: stdout, or stderr when
// stdout carries the one JSON document.
func (a *app) devLog() io.Writer {
	if a.json {
		return a.stderr
	}
	return a.stdout
}

func (a *app) devReady(info devstack.Info) {
	if a.json {
		_ = a.writeJSON(info)
		return
	}
	w := a.stdout
	fmt.Fprintf(w, "stk dev: Hub and Bridge running (project %s, env %s)\n\n", info.Project, info.Env)
	t := newTable(w, "  Hub", info.HubURL+"   (operator auth off: local use only)")
	t.row("  Bridge", info.BridgeURL)
	t.row("  API key", info.APIKey+"   (roles "+strings.Join(info.Roles, ", ")+"; revoked at the next start)")
	db := info.Database
	if info.Seeded {
		db += "   (created now)"
	}
	t.row("  Database", db)
	t.row("  Tables", tableList(info.Tables))
	perm := info.PermissionsFile
	if perm == "" {
		perm = "built-in todo example"
	}
	if info.Release.ID != "" {
		perm += " → release " + info.Release.ID
	} else {
		perm += " → not released yet"
	}
	t.row("  Config", perm)
	t.row("  Issuer", info.IssuerURL+"   (dev OIDC issuer: stk dev token --sub NAME)")
	t.row("  Tokens", "POST "+info.TokenURL+`   {"sub": "NAME"} (for pages)`)
	if info.WebURL != "" {
		t.row("  Web", info.WebURL+"   (--web; this origin may call the Bridge)")
	}
	t.row("  Logs", relToCwd(info.LogFile))
	t.flush()
	fmt.Fprintf(w, "\nTry it:\n  %s\n\n", info.Curl)
	if info.EndUserCurl != "" {
		fmt.Fprintf(w, "As end user %s (a token of the dev issuer, valid 24h; another user: stk dev token --sub bob):\n  %s\n\n",
			devstack.DevUser, info.EndUserCurl)
	} else {
		fmt.Fprintf(w, "End users: stk dev token --sub alice prints a token; no table lets them select yet (owner: in %s)\n\n", devstack.PermissionsPath)
	}
	if info.Watching {
		fmt.Fprintf(w, "Watching %s, config/ and logics/ for changes. Ctrl+C stops.\n",
			filepath.Join(filepath.Dir(filepath.Dir(info.PermissionsFile)), devstack.SchemaPath))
	} else {
		fmt.Fprintln(w, "Ctrl+C stops.")
	}
}

func (a *app) devApplied(ap devstack.Apply) {
	w := a.devLog()
	stamp := time.Now().Format("15:04:05")
	if ap.Rebuilt != "" {
		fmt.Fprintf(w, "%s rebuilt %s from %s (the previous one is kept as %s.bak)\n", stamp,
			relToCwd(ap.Rebuilt), devstack.SchemaPath, filepath.Base(ap.Rebuilt))
	}
	if ap.Err == nil {
		state := "released " + ap.Release.ID
		if ap.Release.Reused {
			state = "unchanged, release " + ap.Release.ID + " reused"
		}
		warn := ""
		if n := len(ap.Permissions.Warnings); n > 0 {
			warn = ", " + plural(n, "warning")
		}
		fmt.Fprintf(w, "%s applied %s: %s%s\n", stamp, ap.File, state, warn)
		for _, x := range ap.Permissions.Warnings {
			fmt.Fprintln(w, ap.File+": "+formatWarning(x))
		}
		return
	}
	ce := inFile(devError(ap.Err), ap.File).(*cliError)
	for _, p := range detailList[apierr.Problem](ce.details, "problems") {
		file := ce.file
		if p.File != "" {
			file = p.File // a logic file under logics/
		}
		fmt.Fprintln(w, formatProblem(file, p))
	}
	line := fmt.Sprintf("%s not applied %s: %s (code %s", stamp, ap.File, ce.message, ce.code)
	if ce.requestID != "" {
		line += ", request " + ce.requestID
	}
	kept := "the last good release stays served"
	var se *devstack.SchemaError
	if errors.As(ap.Err, &se) {
		kept = "the database and the release stay as they were"
	}
	fmt.Fprintln(w, line+"); "+kept)
}

// tableList shows the tables found, the first few by name.
func tableList(tables []string) string {
	const shown = 8
	switch n := len(tables); {
	case n == 0:
		return "none"
	case n <= shown:
		return strings.Join(tables, ", ")
	default:
		return strings.Join(tables[:shown], ", ") + fmt.Sprintf(", … (%d in all)", n)
	}
}

// devError maps devstack's errors to the CLI's.
func devError(err error) error {
	if err == nil {
		return nil
	}
	var ue *devstack.UsageError
	if errors.As(err, &ue) {
		return usageErrorf("%s", ue.Msg)
	}
	var ae *devstack.ApplyError
	if errors.As(err, &ae) {
		return inFile(ae.Err, ae.File)
	}
	// A port taken by another process is a conflict with the machine's
	// state, not a usage error nor an internal one (docs/decisions/0014).
	var ie *httpserve.AddrInUseError
	if errors.As(err, &ie) {
		return runtimeErrorf(apierr.Conflict, "%v", ie)
	}
	// schema.sql is a document of the user's that did not run: a
	// problem in a file, as a permissions file that does not validate.
	var se *devstack.SchemaError
	if errors.As(err, &se) {
		return &cliError{exit: ExitError, code: apierr.SchemaValidationFailed, file: se.File,
			message: "SQLite refused " + devstack.SchemaPath + ": " + se.Err.Error(),
			details: map[string]any{"problems": []apierr.Problem{{File: se.File, Line: se.Line, Message: se.Err.Error()}}}}
	}
	var ne *devstack.NoTablesError
	if errors.As(err, &ne) {
		return runtimeErrorf(apierr.NotFound, "%v", ne)
	}
	var ni *devstack.NoIssuerError
	if errors.As(err, &ni) {
		return runtimeErrorf(apierr.NotFound, "%v", ni)
	}
	return err
}

func (a *app) initCmd() *cobra.Command {
	var force, list bool
	var template string
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a project directory from a template (todo, blog, saas, minimal)",
		Long: `Copy a template's project into DIR (default: the current directory, created
if missing); --template picks it (default todo), --list shows them all:

  todo     each end user's private rows (owner), readers and writers by API key
  blog     public reads, authors write their own posts, role moderator, a feed logic
  saas     rows of many tenants kept apart by the token's org claim, role admin,
           an aggregate logic
  minimal  _default rules only: validates against any database (stk dev --db)

Each template has the layout that 'stk dev' and the apply commands read:

  schema.sql               what 'stk dev' loads into a new local database, with rows
  config/permissions.yaml  who may do what, with comments
  config/auth.yaml         end-user JWT issuers: the dev issuer of 'stk dev'
  logics/                  custom SQL logic
  README.md                what the template shows and calls to try
  .gitignore               ignores .santokit/, stk dev's local state

An existing file is never overwritten (exit 1, naming it; nothing is written)
unless --force; a file that already holds the very content is left alone, an
existing README.md is kept, and an existing .gitignore only gets the
.santokit/ line added.`,
		Example: `  stk init myapp && cd myapp && stk dev --watch
  stk init myblog --template blog
  stk init --list
  stk init . --template saas --force`,
		Args:              optionalDirArg,
		ValidArgsFunction: dirCompletion,
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if list {
				if len(args) > 0 || cmd.Flags().Changed("template") || force {
					return usageErrorf("--list takes no directory, --template or --force")
				}
				return a.listTemplates()
			}
			files, ok := examples.Files(template)
			if !ok {
				return usageErrorf("unknown template %q: --template takes one of %s (stk init --list)", template, templateNames())
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			written, err := devstack.Init(dir, files, force)
			if err != nil {
				var ee *devstack.ExistsError
				if errors.As(err, &ee) {
					return &cliError{exit: ExitError, code: apierr.Conflict, message: ee.Error()}
				}
				var ue *devstack.UsageError
				if errors.As(err, &ue) {
					return usageErrorf("%s", ue.Msg)
				}
				return runtimeErrorf(apierr.Internal, "%v", err)
			}
			if a.json {
				abs, _ := filepath.Abs(dir)
				return a.writeJSON(struct {
					Dir      string              `json:"dir"`
					Template string              `json:"template"`
					Files    []devstack.InitFile `json:"files"`
				}{abs, template, written})
			}
			for _, f := range written {
				fmt.Fprintf(a.stdout, "%-11s %s\n", f.Action, filepath.Join(dir, filepath.FromSlash(f.Path)))
			}
			next := "stk dev --watch"
			if dir != "." {
				next = "cd " + dir + " && stk dev --watch"
			}
			fmt.Fprintf(a.stdout, "\nTemplate %s. Next: read README.md, then run: %s\n", template, next)
			return nil
		}),
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	c.Flags().StringVarP(&template, "template", "t", examples.DefaultTemplate, "the template to copy: "+templateNames())
	c.Flags().BoolVar(&list, "list", false, "list the templates and exit")
	_ = c.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, t := range examples.Templates() {
			names = append(names, t.Name+"\t"+t.Summary)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

// listTemplates prints `stk init --list`: a table, or with --json an
// array of {name, summary, default}.
func (a *app) listTemplates() error {
	type item struct {
		examples.Template
		Default bool `json:"default"`
	}
	var items []item
	for _, t := range examples.Templates() {
		items = append(items, item{t, t.Name == examples.DefaultTemplate})
	}
	if a.json {
		return a.writeJSON(items)
	}
	t := newTable(a.stdout, "TEMPLATE", "WHAT IT SHOWS")
	for _, it := range items {
		name := it.Name
		if it.Default {
			name += " (default)"
		}
		t.row(name, it.Summary)
	}
	t.flush()
	return nil
}

// templateNames lists the template names for messages: "todo, blog, …".
func templateNames() string {
	var names []string
	for _, t := range examples.Templates() {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// optionalDirArg accepts zero or one positional argument, a directory.
func optionalDirArg(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageErrorf("too many arguments: %s takes at most one directory, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

func dirCompletion(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// relToCwd shows path relative to the working directory when it is below it.
func relToCwd(path string) string {
	abs, err := filepath.Abs(".")
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(abs, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
