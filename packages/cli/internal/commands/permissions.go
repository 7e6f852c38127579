package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/condition"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// defaultPermissionsFile is where `stk init` puts the permissions file.
const defaultPermissionsFile = "config/permissions.yaml"

// maxDocumentBytes bounds what stk reads from a local document; the Hub has
// its own (smaller) body limit and answers PAYLOAD_TOO_LARGE above it.
const maxDocumentBytes = 16 << 20

func (a *app) permissionsCmd() *cobra.Command {
	c := group("permissions", "Apply, show and validate the permissions of an environment",
		`  stk permissions apply --project demo --env dev --file config/permissions.yaml
  stk permissions show --project demo --env dev
  stk permissions validate --file config/permissions.yaml --schema schema.json`,
		a.permissionsApplyCmd(), a.permissionsShowCmd(), a.permissionsValidateCmd())
	c.Aliases = []string{"perms"}
	return c
}

func (a *app) permissionsApplyCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply",
		Short: "Validate and stage a permissions file",
		Long: `Send a permissions file (format: docs/permissions.md) to the Hub, which
validates it against the environment's latest schema snapshots and stages it
as a new version. Staging
does not change what Bridges serve: the next 'stk release create' does.

When the text equals the latest staged version, that version is reused. A file
that does not validate is refused (exit 1, code SCHEMA_VALIDATION_FAILED) and
each problem is printed as file:line:column: path: message. Warnings (a
condition or owner on a column without an index) do not fail the apply.

It then prints what a release of the staged version would change from the
environment's current release, as 'stk release diff' does (--json: "diff").

--file - reads the document from standard input.`,
		Example: `  stk permissions apply --project demo --env dev --file config/permissions.yaml
  stk permissions apply --project demo --env dev --json
  cat permissions.yaml | stk permissions apply --project demo --env dev --file -`,
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
			src, err := readDocument("--file", file, a.stdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			perm, _, err := c.PutPermissions(cmd.Context(), project, env, src)
			if err != nil {
				return inFile(err, file)
			}
			perm.Warnings = nonNil(perm.Warnings)
			for _, w := range perm.Warnings {
				fmt.Fprintln(a.stderr, formatWarning(w))
			}
			if a.json {
				return a.writeJSON(perm)
			}
			state := "new"
			if perm.Reused {
				state = "unchanged, latest version reused"
			}
			fmt.Fprintf(a.stdout, "staged permissions %s in %s/%s (%s, %s)\n",
				perm.ID, project, env, state, plural(len(perm.Warnings), "warning"))
			a.printStagedDiff(project, env, perm.Diff)
			return nil
		}),
	}
	c.Flags().StringVarP(&file, "file", "f", defaultPermissionsFile, "permissions file, or - for standard input")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	return c
}

func (a *app) permissionsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the latest staged permissions file of an environment",
		Long: `Print the YAML text of the latest staged permissions version, exactly as it
was applied (so it can be saved back to a file). With --json, print the
version: id, hash, warnings, createdAt, createdBy and source.`,
		Example: `  stk permissions show --project demo --env dev
  stk permissions show --project demo --env prod > permissions.prod.yaml
  stk permissions show --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			perm, err := c.GetPermissions(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				perm.Warnings = nonNil(perm.Warnings)
				return a.writeJSON(perm)
			}
			_, _ = io.WriteString(a.stdout, perm.Source)
			if perm.Source != "" && !strings.HasSuffix(perm.Source, "\n") {
				fmt.Fprintln(a.stdout)
			}
			return nil
		}),
	}
}

// validateOut is the --json shape of a successful `permissions validate`.
type validateOut struct {
	OK bool `json:"ok"`
	// Connections lists the connections whose snapshots were used.
	Connections []string `json:"connections"`
	// Warnings are those that apply would report (SPEC §5.4).
	Warnings []hubapi.Warning `json:"warnings"`
}

func (a *app) permissionsValidateCmd() *cobra.Command {
	var file, schemaFile string
	c := &cobra.Command{
		Use:   "validate",
		Short: "Check a permissions file against schema snapshots, without staging it",
		Long: `Check a permissions file against schema snapshots with the very rules the Hub
applies, without staging anything.

With --schema the check runs offline: the file holds what 'stk schema show
--json' prints (a JSON array of snapshots), or one snapshot as printed by
'stk schema snapshot --json'. Without --schema, the latest snapshots of
--project/--env are fetched from the Hub and the check runs locally.

Prints "ok", or each problem as file:line:column: path: message and fails
(exit 1, code SCHEMA_VALIDATION_FAILED).`,
		Example: `  stk schema show --project demo --env dev --json > schema.json
  stk permissions validate --file config/permissions.yaml --schema schema.json
  stk permissions validate --project demo --env prod --file config/permissions.yaml`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			var snaps []schema.Snapshot
			if schemaFile != "" {
				raw, err := readDocument("--schema", schemaFile, a.stdin)
				if err != nil {
					return err
				}
				if file == "-" && schemaFile == "-" {
					return usageErrorf("--file and --schema cannot both read standard input")
				}
				if snaps, err = decodeSnapshots(schemaFile, raw); err != nil {
					return err
				}
			} else {
				if a.project == "" && a.env == "" {
					return usageErrorf("give --schema FILE (offline), or --project and --env to validate against the Hub's latest snapshots")
				}
				project, env, c, err := a.envScope()
				if err != nil {
					return err
				}
				list, err := c.Schema(cmd.Context(), project, env, "")
				if err != nil {
					return err
				}
				for _, s := range list.Items {
					s.Tables = schema.Normalize(s.Tables)
					snaps = append(snaps, s.Snapshot)
				}
			}
			src, err := readDocument("--file", file, a.stdin)
			if err != nil {
				return err
			}
			byConn := make(map[string]*schema.Snapshot, len(snaps))
			conns := make([]string, 0, len(snaps))
			for i := range snaps {
				s := &snaps[i]
				if _, dup := byConn[s.Connection]; dup {
					return usageErrorf("--schema %s holds two snapshots of connection %q", schemaFile, s.Connection)
				}
				byConn[s.Connection] = s
				conns = append(conns, s.Connection)
			}
			doc, problems := validatePermissions(src, byConn)
			if len(problems) > 0 {
				return &cliError{exit: ExitError, code: apierr.SchemaValidationFailed, file: file,
					message: fmt.Sprintf("%s does not validate: %s", displayName(file), plural(len(problems), "problem")),
					details: map[string]any{"problems": problems}}
			}
			warnings := []hubapi.Warning{}
			for _, w := range permissions.IndexWarnings(doc, byConn) {
				hw := hubapi.Warning{Connection: w.Connection, Table: w.Table, Column: w.Column, Message: w.Message}
				warnings = append(warnings, hw)
				loc := problemFile(file)
				if w.Line > 0 {
					loc += ":" + strconv.Itoa(w.Line)
				}
				fmt.Fprintln(a.stderr, loc+": "+formatWarning(hw))
			}
			if a.json {
				return a.writeJSON(validateOut{OK: true, Connections: conns, Warnings: warnings})
			}
			fmt.Fprintln(a.stdout, "ok")
			return nil
		}),
	}
	f := c.Flags()
	f.StringVarP(&file, "file", "f", defaultPermissionsFile, "permissions file, or - for standard input")
	f.StringVar(&schemaFile, "schema", "", "schema snapshots file (output of 'stk schema show --json'); offline")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	_ = c.MarkFlagFilename("schema", "json")
	return c
}

// validatePermissions runs the Hub's own checks, as the Hub runs them at
// apply time: parse, validate against the snapshots by connection, and
// compile the conditions (SPEC §5.2) with the same CEL compiler.
func validatePermissions(src []byte, snaps map[string]*schema.Snapshot) (*permissions.Document, []apierr.Problem) {
	return condition.Document(src, snaps)
}

// decodeSnapshots reads a JSON array of snapshots, one snapshot object, or
// a list envelope {"items": [...]} (the Hub's raw answer).
func decodeSnapshots(path string, raw []byte) ([]schema.Snapshot, error) {
	raw = bytes.TrimSpace(raw)
	bad := func(why string) error {
		return usageErrorf("--schema %s: %s; want the output of 'stk schema show --json'", displayName(path), why)
	}
	if len(raw) == 0 {
		return nil, bad("the file is empty")
	}
	var snaps []schema.Snapshot
	switch raw[0] {
	case '[':
		if err := json.Unmarshal(raw, &snaps); err != nil {
			return nil, bad("not a JSON array of snapshots")
		}
	case '{':
		var probe struct {
			Items *[]schema.Snapshot `json:"items"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, bad("not a JSON snapshot")
		}
		if probe.Items != nil {
			snaps = *probe.Items
			break
		}
		var s schema.Snapshot
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad("not a JSON snapshot")
		}
		snaps = []schema.Snapshot{s}
	default:
		return nil, bad("not JSON")
	}
	if len(snaps) == 0 {
		return nil, bad("no snapshots in it")
	}
	for i := range snaps {
		if snaps[i].Connection == "" {
			return nil, bad(fmt.Sprintf("snapshot %d has no connection", i+1))
		}
		// As the Hub reads its stored snapshots.
		snaps[i].Tables = schema.Normalize(snaps[i].Tables)
	}
	return snaps, nil
}

// readDocument reads the local file named by flag ("-" = standard input).
// A missing or unreadable file is a bad argument (exit 2).
func readDocument(flag, path string, stdin io.Reader) ([]byte, error) {
	if path == "" {
		return nil, usageErrorf("%s is required", flag)
	}
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return nil, usageErrorf("%s -: no standard input", flag)
		}
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, usageErrorf("%s %s: %v", flag, path, err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, usageErrorf("%s %s: is a directory", flag, path)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDocumentBytes+1))
	if err != nil {
		return nil, usageErrorf("%s %s: reading failed", flag, displayName(path))
	}
	if len(b) > maxDocumentBytes {
		return nil, usageErrorf("%s %s: larger than %d bytes", flag, displayName(path), maxDocumentBytes)
	}
	return b, nil
}

// displayName shows "-" as "standard input".
func displayName(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}

// formatWarning renders one apply warning: warning: main.users.email: message.
func formatWarning(w hubapi.Warning) string {
	what := w.Table
	if w.Connection != "" {
		what = w.Connection + "." + what
	}
	if w.Column != "" {
		what += "." + w.Column
	}
	return "warning: " + what + ": " + w.Message
}
