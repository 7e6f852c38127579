// Package commands is the cobra command tree of the operator CLI `stk`
// (SPEC §11): one file per command group, a shared app that holds the
// resolved global flags and the I/O streams of one invocation, and the
// mapping of every failure to the CLI's error line and exit code. Execute is
// free of os.Exit and of package-level state so tests can run it in-process.
package commands

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/buildinfo"
	"github.com/santokit/santokit/packages/core/names"
)

// Exit codes (SPEC §11).
const (
	ExitOK           = 0
	ExitError        = 1 // reported by the Hub or the runtime
	ExitUsage        = 2 // bad flags or arguments
	ExitUnauthorized = 3 // not logged in, or the Hub answered 401
)

// Environment variables read by the CLI (SPEC §11, §12).
const (
	EnvHubURL  = "STK_HUB_URL"
	EnvProject = "STK_PROJECT"
	EnvEnv     = "STK_ENV"
	EnvToken   = "STK_TOKEN"
)

// app is the state of one invocation: streams, environment, and the global
// flags once resolved (flag, then environment variable, then default).
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	hub     string
	project string
	env     string
	profile string
	json    bool
	// field is --field: print only that field of the --json document.
	field string
	// hubSet is true when --hub or STK_HUB_URL gave the Hub URL; otherwise
	// the profile's login names it.
	hubSet bool

	// auth is how the last client built authenticates, for the hint of a
	// 401; loginHub is the Hub of the profile's login when it is another
	// one than the Hub asked.
	auth     authMode
	loginHub string

	version string

	// openURL opens a URL in the user's browser (stk login); nil when there
	// is none (tests), and stk login then prints the URL.
	openURL func(url string) error
	// wait sleeps for d or until ctx ends (the device flow's polling);
	// tests replace it to observe the intervals without waiting them.
	wait func(ctx context.Context, d time.Duration) error
}

// authMode is the credential a client sends.
type authMode int

const (
	authNone    authMode = iota // no credentials: no Authorization header
	authSession                 // the profile's stored login
	authEnv                     // STK_TOKEN
	authLogin                   // stk login itself: a 401 is a wrong password
)

const defaultProfile = "default"

// Execute runs stk with args (without the program name) and returns the exit
// code. It reads the environment through os.Getenv and opens URLs in the
// system browser.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr, os.Getenv)
	a.openURL = openBrowser
	return a.execute(ctx, args)
}

// run is Execute with an injectable environment and no browser (stk login
// then prints its URL), for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdin, stdout, stderr, getenv).execute(ctx, args)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, version: clientVersion(), wait: sleepCtx}
}

// execute runs the command line args with a.
func (a *app) execute(ctx context.Context, args []string) int {
	if args == nil {
		// cobra reads os.Args when given nil.
		args = []string{}
	}
	root := a.newRoot()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	ce := classify(err)
	a.explainUnauthorized(ce)
	if ce.exit == ExitUsage && !a.json {
		// Flag parsing may have stopped before --json: look for it.
		a.json = jsonRequested(args)
	}
	return a.report(cmd, ce)
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "stk",
		Short: "Santokit operator CLI",
		Long: `stk is the operator's interface to a Santokit Hub: projects, environments,
database connections, schema snapshots, permissions, releases, API keys and
the audit log. 'stk init' and 'stk dev' set up a project directory and run a
local Hub and Bridge for it in one process.

'stk login' stores the tokens of a Hub login per --profile in
$XDG_CONFIG_HOME/santokit/credentials.json (mode 0600); commands then talk to
that Hub unless --hub or STK_HUB_URL names another. STK_TOKEN (a CI token from
'stk token create') overrides stored logins.

Global flags may also come from the environment: STK_HUB_URL, STK_PROJECT, STK_ENV.`,
		Example: `  stk init myapp && stk dev myapp --watch
  stk login --hub https://hub.example.com
  stk project create demo
  stk env create --project demo dev
  stk connections set --project demo --env dev --name main --db-url-stdin < db-url.txt
  stk schema snapshot --project demo --env dev
  stk permissions apply --project demo --env dev --file config/permissions.yaml
  stk release create --project demo --env dev --ref 3f2c1ab
  stk release promote --project demo --from dev --to prod
  stk apikey create --project demo --env dev --name server --roles writer,reader
  stk release current --project demo --env dev --field id`,
		Version:           a.version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              noArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { a.resolve(cmd); return nil },
	}
	// Before the completion command is made: it captures the writer.
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.hub, "hub", hubclient.DefaultURL, "Hub URL (env "+EnvHubURL+"; when neither is set, the Hub of the profile's login)")
	pf.StringVar(&a.project, "project", "", "project name (env "+EnvProject+")")
	pf.StringVar(&a.env, "env", "", "environment name (env "+EnvEnv+")")
	pf.BoolVar(&a.json, "json", false, "print exactly one JSON document on stdout")
	pf.StringVar(&a.field, "field", "", fieldHelp)
	pf.StringVar(&a.profile, "profile", defaultProfile, "credentials profile: which stored login to use")
	_ = root.RegisterFlagCompletionFunc("project", a.completeProjects)
	_ = root.RegisterFlagCompletionFunc("env", a.completeEnvs)
	root.SetVersionTemplate("stk {{.Version}}\n")

	root.AddCommand(
		a.loginCmd(),
		a.logoutCmd(),
		a.whoamiCmd(),
		a.tokenCmd(),
		a.userCmd(),
		a.orgCmd(),
		a.memberCmd(),
		a.projectCmd(),
		a.envCmd(),
		a.connectionsCmd(),
		a.schemaCmd(),
		a.permissionsCmd(),
		a.authConfigCmd(),
		a.logicCmd(),
		a.releaseCmd(),
		a.apikeyCmd(),
		a.auditCmd(),
		a.genCmd(),
		a.initCmd(),
		a.devCmd(),
		a.withVersionCheck(a.versionCmd()),
		a.doctorCmd(),
	)
	addCompletionExamples(root)
	return root
}

// addCompletionExamples creates cobra's default completion command now
// (ExecuteC would otherwise create it later) to give it and each shell an
// example like every other command.
func addCompletionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  source <(stk completion bash)
  stk completion zsh > "${fpath[1]}/_stk"
  stk completion fish > ~/.config/fish/completions/stk.fish`
		for _, sh := range c.Commands() {
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(stk completion bash)\n  stk completion bash > /etc/bash_completion.d/stk"
			case "zsh":
				sh.Example = "  stk completion zsh > \"${fpath[1]}/_stk\""
			case "fish":
				sh.Example = "  stk completion fish > ~/.config/fish/completions/stk.fish"
			case "powershell":
				sh.Example = "  stk completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}

// resolve fills unset global flags from the environment. --field implies
// --json: the command builds its JSON document, writeJSON prints the field.
func (a *app) resolve(cmd *cobra.Command) {
	if a.field != "" {
		a.json = true
	}
	fl := cmd.Flags()
	for _, f := range []struct {
		flag, env string
		dst       *string
	}{{"hub", EnvHubURL, &a.hub}, {"project", EnvProject, &a.project}, {"env", EnvEnv, &a.env}} {
		if fl.Changed(f.flag) {
			if f.flag == "hub" {
				a.hubSet = true
			}
			continue
		}
		if v := a.getenv(f.env); v != "" {
			*f.dst = v
			if f.flag == "hub" {
				a.hubSet = true
			}
		}
	}
}

// client builds the Hub client; a malformed --hub is a usage error. It
// authenticates with STK_TOKEN when set (never refreshed), else with the
// profile's stored login when that login is of this Hub (refreshed as
// needed), else not at all: a Hub that enforces auth then answers 401,
// which is reported as "not logged in".
func (a *app) client() (*hubclient.Client, error) {
	a.auth, a.loginHub = authNone, ""
	opts := []hubclient.Option{hubclient.WithUserAgent("stk/" + a.version)}
	tok := a.getenv(EnvToken)
	if tok != "" {
		opts = append(opts, hubclient.WithToken(tok))
	}
	var store *credentials.Store
	var login credentials.Entry
	if tok == "" {
		if path, err := credentials.DefaultPath(a.getenv); err == nil {
			store = credentials.New(path)
			e, ok, err := store.Get(a.profile)
			if err != nil {
				return nil, err
			}
			if ok {
				login = e
				if !a.hubSet && e.Hub != "" {
					a.hub = e.Hub
				}
			}
		}
	}
	c, err := hubclient.New(a.hub, opts...)
	if err != nil {
		return nil, usageErrorf("--hub: %v", err)
	}
	switch {
	case tok != "":
		a.auth = authEnv
	case login.AccessToken != "" && credentials.NormalizeHub(login.Hub) == c.HubKey():
		a.auth = authSession
		hubclient.WithSession(store, a.profile)(c)
	case login.Hub != "":
		a.loginHub = redactedHub(login.Hub)
	}
	return c, nil
}

// requireProject returns the validated --project (or STK_PROJECT).
func (a *app) requireProject() (string, error) {
	return requireName("--project", EnvProject, a.project)
}

// requireEnv returns the validated --env (or STK_ENV).
func (a *app) requireEnv() (string, error) {
	return requireName("--env", EnvEnv, a.env)
}

// envScope resolves --project, --env and the Hub client: the start of
// every command that acts on one environment.
func (a *app) envScope() (project, env string, c *hubclient.Client, err error) {
	if project, err = a.requireProject(); err != nil {
		return "", "", nil, err
	}
	if env, err = a.requireEnv(); err != nil {
		return "", "", nil, err
	}
	if c, err = a.client(); err != nil {
		return "", "", nil, err
	}
	return project, env, c, nil
}

func requireName(flag, env, value string) (string, error) {
	if value == "" {
		return "", usageErrorf("required flag %s not set (or set %s)", flag, env)
	}
	return value, checkName(flag, value)
}

// checkName applies the naming rules of SPEC §2 before anything is sent, so
// a typo never costs a round trip; the Hub applies the very same rules.
func checkName(field, value string) error {
	if err := names.Resource(field, value); err != nil {
		return nameError(err)
	}
	return nil
}

// clientVersion is the version stamped by `make release`, the module
// version of a `go install`, or dev for builds from a work tree (package
// buildinfo).
func clientVersion() string {
	if v := buildinfo.Read().Version; !strings.HasPrefix(v, "dev-") {
		return v
	}
	return "dev"
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2 // cobra's own default
			}
			msg := "unknown command " + strconv.Quote(args[0]) + " for " + strconv.Quote(cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strconv.Quote(s[0]) + "?"
			}
			return usageErrorf("%s", msg)
		}
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// nameArg accepts exactly one positional argument, described by what.
func nameArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usageErrorf("missing %s: %s", what, cmd.UseLine())
		case len(args) > 1:
			return usageErrorf("too many arguments: %s takes one %s, got %q", cmd.CommandPath(), what, strings.Join(args, " "))
		}
		return nil
	}
}

// group is a command that only holds subcommands: alone it prints its help,
// with an unknown subcommand it is a usage error.
func group(use, short, example string, children ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(children...)
	return c
}

// jsonRequested reports whether --json appears among the flags in args.
func jsonRequested(args []string) bool {
	for _, s := range args {
		if s == "--" {
			return false
		}
		if s == "--json" || s == "--json=true" || s == "--json=1" {
			return true
		}
	}
	return false
}
