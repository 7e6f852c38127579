package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/service"
	"github.com/santokit/santokit/packages/hub/internal/store"
	"github.com/santokit/santokit/packages/hub/server"
)

// keysRotate is `stk-hub keys rotate [--json] [--batch N]` (SPEC §10).
func keysRotate(ctx context.Context, args []string, e env) int {
	fs := newFlags("keys rotate", "re-encrypts every stored secret that is not sealed with the active key (the first of\n"+
		"STK_MASTER_KEYS) under it, in batches of one transaction each. A second run changes nothing; an\n"+
		"interrupted run leaves every secret readable and the next run goes on from there.\n"+
		"Restart every Hub with the new ring (new key first, old key kept) before rotating: a Hub without\n"+
		"the new key cannot open what this re-encrypts.", e)
	asJSON := fs.Bool("json", false, "print the report as one JSON document")
	batch := fs.Int("batch", service.DefaultRotateBatch, "secrets per transaction")
	if code, done := parse(fs, args); done {
		return code
	}
	if *batch <= 0 {
		fmt.Fprintln(e.stderr, "stk-hub keys rotate: --batch must be positive")
		return exitUsage
	}
	st, ring, code := openStore(ctx, "keys rotate", e)
	if st == nil {
		return code
	}
	defer st.Close()
	rep, err := service.RotateKeys(ctx, st, ring, service.RotateOptions{BatchSize: *batch})
	if *asJSON {
		writeJSON(e.stdout, rep)
	} else {
		printRotation(e.stdout, rep)
	}
	if err != nil {
		for _, f := range rep.Failures {
			fmt.Fprintf(e.stderr, "stk-hub keys rotate: %s\n", f)
		}
		if errors.Is(err, service.ErrRotateIncomplete) {
			fmt.Fprintf(e.stderr, "stk-hub keys rotate: %d secrets could not be re-encrypted and are unchanged\n", len(rep.Failures))
		} else {
			fmt.Fprintf(e.stderr, "stk-hub keys rotate: %v (every secret stays readable; run it again to go on)\n", err)
		}
		return exitFailure
	}
	if !*asJSON {
		if ks, err := service.KeyRingStatus(ctx, st, ring); err == nil {
			for _, v := range ks.Versions {
				if !v.Active && v.InRing && v.Total == 0 {
					fmt.Fprintf(e.stdout, "key %s seals no secret now: it can be removed from STK_MASTER_KEYS\n", v.Version)
				}
			}
		}
	}
	return exitOK
}

func printRotation(w io.Writer, rep service.RotateReport) {
	for _, t := range rep.Tables {
		line := fmt.Sprintf("%s: rotated %d, already current %d", store.SecretTable(t.Table).Label(), t.Rotated, t.AlreadyCurrent)
		if t.Skipped > 0 {
			line += fmt.Sprintf(", skipped %d (changed by another writer during the run)", t.Skipped)
		}
		if t.Failed > 0 {
			line += fmt.Sprintf(", failed %d", t.Failed)
		}
		fmt.Fprintln(w, line)
	}
	if rep.Rotated == 0 && len(rep.Failures) == 0 {
		fmt.Fprintf(w, "nothing to rotate: every secret is sealed with the active key %s\n", rep.Active)
		return
	}
	fmt.Fprintf(w, "rotated %d secrets to key %s\n", rep.Rotated, rep.Active)
}

// keysStatus is `stk-hub keys status [--json]`: exit 1 when a stored
// secret's key version is missing from the ring (the Hub would refuse to
// start), 0 otherwise.
func keysStatus(ctx context.Context, args []string, e env) int {
	fs := newFlags("keys status", "reports how many stored secrets each key version seals, per table, and which\n"+
		"versions are missing from STK_MASTER_KEYS (exit 1 then: the Hub would refuse to start).", e)
	asJSON := fs.Bool("json", false, "print the report as one JSON document")
	if code, done := parse(fs, args); done {
		return code
	}
	st, ring, code := openStore(ctx, "keys status", e)
	if st == nil {
		return code
	}
	defer st.Close()
	ks, err := service.KeyRingStatus(ctx, st, ring)
	if err != nil {
		fmt.Fprintf(e.stderr, "stk-hub keys status: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		writeJSON(e.stdout, ks)
	} else {
		printStatus(e.stdout, ks)
	}
	if len(ks.Missing) > 0 {
		fmt.Fprintf(e.stderr, "stk-hub keys status: %v\n", service.CheckKeyRing(ctx, st, ring))
		return exitFailure
	}
	return exitOK
}

// keysRotateSigning is `stk-hub keys rotate-signing`: a new Ed25519 key
// signs access tokens from now on; the previous key stays in the JWKS until
// the tokens it signed have expired (SPEC §7.1). Running Hubs pick the new
// key up within 30 seconds, or at once when they see its kid.
func keysRotateSigning(ctx context.Context, args []string, e env) int {
	fs := newFlags("keys rotate-signing", "makes a new key sign operator access tokens at once; tokens signed by the\n"+
		"previous key stay valid until they expire.", e)
	if code, done := parse(fs, args); done {
		return code
	}
	st, ring, code := openStore(ctx, "keys rotate-signing", e)
	if st == nil {
		return code
	}
	defer st.Close()
	id, err := auth.NewKeys(st, ring, func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }).Rotate(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "stk-hub keys rotate-signing: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "signing key %s now signs access tokens\n", id)
	return exitOK
}

func printStatus(w io.Writer, ks service.KeyStatus) {
	fmt.Fprintf(w, "active key: %s (STK_MASTER_KEYS holds %s)\n\n", ks.Active, strings.Join(ks.Ring, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCONNECTIONS\tSIGNING KEYS\tTOTAL\t")
	var conns, keys int
	for _, v := range ks.Versions {
		note := ""
		switch {
		case !v.InRing:
			note = "MISSING from STK_MASTER_KEYS: these secrets cannot be opened"
		case v.Active:
			note = "active"
		case v.Total > 0:
			note = "in the ring: run stk-hub keys rotate"
		default:
			note = "in the ring, seals nothing: can be removed"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", v.Version, v.Connections, v.SigningKeys, v.Total, note)
		conns += v.Connections
		keys += v.SigningKeys
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\n", conns, keys, ks.Total)
	_ = tw.Flush()
}

// openStore opens the Hub store and key ring the environment names, as the
// server would. On failure it has reported why and returns a nil store and
// the exit code.
func openStore(ctx context.Context, name string, e env) (*store.Store, *secrets.Ring, int) {
	cfg, err := server.ConfigFromEnv(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "stk-hub %s: %v\n", name, err)
		return nil, nil, exitUsage
	}
	if strings.TrimSpace(cfg.MasterKeys) == "" {
		fmt.Fprintf(e.stderr, "stk-hub %s: STK_MASTER_KEYS is required: the key ring of the Hub, active key first\n", name)
		return nil, nil, exitUsage
	}
	ring, err := secrets.Parse(cfg.MasterKeys)
	if err != nil {
		fmt.Fprintf(e.stderr, "stk-hub %s: %v\n", name, err)
		return nil, nil, exitUsage
	}
	// Opening a SQLite path that does not exist would create an empty store
	// and report on it: a typo would look like a Hub without secrets.
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://"); ok && path != "" {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(e.stderr, "stk-hub %s: no Hub store at %s (STK_HUB_DATABASE_URL): %v\n", name, path, errors.Unwrap(err))
			return nil, nil, exitFailure
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintf(e.stderr, "stk-hub %s: open the Hub store %s: %v\n", name, secrets.RedactURL(cfg.DatabaseURL), err)
		return nil, nil, exitFailure
	}
	return st, ring, exitOK
}

func newFlags(name, doc string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("stk-hub "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: stk-hub %s [flags]\n\nIt %s\n\nFlags:\n", name, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; done reports that the command ends here with code
// (help asked: 0; bad flags or stray arguments: 2).
func parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, true
	}
	return exitOK, false
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
