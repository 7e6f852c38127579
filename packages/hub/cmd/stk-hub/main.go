// Command stk-hub is the Santokit control plane (SPEC §1): configured by the
// environment (SPEC §12), it serves the Hub API until SIGINT or SIGTERM when
// run without arguments. Its subcommands maintain a Hub's store offline,
// such as `stk-hub keys rotate` (SPEC §10).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/hub/server"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// env is what a subcommand may use of the process: its environment and
// output streams (tests pass their own).
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand: run gets the arguments after its name and
// returns the exit code (exitOK, exitFailure, exitUsage).
type command struct {
	summary string
	run     func(ctx context.Context, args []string, e env) int
}

// commands are the subcommands, keyed by their words. Adding one is adding
// a line here.
func commands() map[string]command {
	return map[string]command{
		"keys rotate":         {"re-encrypt every stored secret under the active key of STK_MASTER_KEYS", keysRotate},
		"keys status":         {"count the stored secrets per key version", keysStatus},
		"keys rotate-signing": {"make a new key sign operator access tokens (the previous one keeps verifying for 15 minutes)", keysRotateSigning},
	}
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] == "serve" || args[0] == "version" || args[0] == "--version" || args[0] == "healthcheck" {
		if len(args) > 0 && args[0] == "serve" {
			os.Args = os.Args[:1]
		}
		serve()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, args, env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// dispatch runs the subcommand named by the leading words of args.
func dispatch(ctx context.Context, args []string, e env) int {
	cmds := commands()
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout, cmds)
		return exitOK
	}
	for n := min(len(args), 2); n > 0; n-- {
		if c, ok := cmds[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, args[n:], e)
		}
	}
	fmt.Fprintf(e.stderr, "stk-hub: unknown command %q\n\n", strings.Join(args[:min(len(args), 2)], " "))
	usage(e.stderr, cmds)
	return exitUsage
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprint(w, `Usage:
  stk-hub [serve]         serve the Hub API (configured by STK_* variables, SPEC §12)
  stk-hub version         print the version, commit and build date
  stk-hub healthcheck URL exit 0 when URL (the Hub's /healthz) answers 200
`)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  stk-hub %-15s %s\n", n, cmds[n].summary)
	}
	fmt.Fprint(w, `  stk-hub help            show this help

Subcommands read STK_HUB_DATABASE_URL and STK_MASTER_KEYS like the server.
Exit codes: 0 ok, 1 failure, 2 usage error.
`)
}

func serve() {
	httpserve.Command("stk-hub", func(getenv func(string) string, version string) (server.Config, slog.Level, error) {
		cfg, err := server.ConfigFromEnv(getenv)
		cfg.Version = version
		return cfg, cfg.LogLevel, err
	}, run)
}

func run(ctx context.Context, cfg server.Config, log *slog.Logger) error {
	// Listen first: with STK_HUB_ADDR=127.0.0.1:0 the Hub's own URL (the
	// OAuth callback's default base) is known only once bound.
	l, err := httpserve.Listen(cfg.Addr, "STK_HUB_ADDR")
	if err != nil {
		return err
	}
	cfg.Addr = l.Addr().String()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		_ = l.Close()
		return err
	}
	defer srv.Close()
	return srv.Serve(ctx, l)
}
