package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/gentypes"
)

func (a *app) genCmd() *cobra.Command {
	return group("gen", "Generate code from an environment's current release",
		"  stk gen types --lang ts --project demo --env dev --out src/santokit.ts", a.genTypesCmd())
}

// genJSON is `stk gen types --json`.
type genJSON struct {
	Release string `json:"release"`
	Project string `json:"project"`
	Env     string `json:"env"`
	Lang    string `json:"lang"`
	// File is --out; Types the generated text when there is no --out.
	File   string `json:"file,omitempty"`
	Types  string `json:"types,omitempty"`
	Tables int    `json:"tables"`
	Logics int    `json:"logics"`
}

func (a *app) genTypesCmd() *cobra.Command {
	var lang, out string
	c := &cobra.Command{
		Use:   "types",
		Short: "Write the types of what an environment's current release exposes",
		Long: `Write types for typed clients from the environment's CURRENT release (what its
Bridges serve; nothing staged): every table some permissions rule exposes,
with Row (the columns a select can return), Insert and Update (the columns
the insert and update rules let callers write), and every logic that is not
private, with its params (from the types recorded at 'stk logic apply') and
result columns.

--lang ts (the only language so far) writes a TypeScript module exporting
'type DB', which createClient<DB>() of @santokit/client accepts, so unknown
tables, columns and params fail at compile time. Keys are sorted and the
header names the release id, so the file changes only when a release
changes what callers can reach. Types follow what POST /call returns:
numeric as string, bigint as number (values beyond 2^53 arrive as strings),
json as the Json alias (unknown), nullable columns as T | null; on Insert a
column is optional when it is nullable, has a default or is the owner column.

Without --out the module is printed on stdout. An environment with no release
is NOT_FOUND (exit 1).`,
		Example: `  stk gen types --lang ts --project demo --env dev --out src/santokit.ts
  stk gen types --lang ts --project demo --env prod > db.ts`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if lang != "ts" {
				return usageErrorf("--lang %q: the only language is ts (TypeScript)", lang)
			}
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			s, err := c.CurrentSurface(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			src := gentypes.TypeScript(s)
			tables := 0
			for _, conn := range s.Connections {
				tables += len(conn.Tables)
			}
			res := genJSON{Release: s.Release, Project: s.Project, Env: s.Env, Lang: lang, File: out, Tables: tables, Logics: len(s.Logics)}
			if out == "" {
				if a.json {
					res.Types = string(src)
					return a.writeJSON(res)
				}
				_, err := a.stdout.Write(src)
				return err
			}
			if err := writeFileAtomic(out, src); err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(res)
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d tables, %d logics of release %s (%s/%s)\n", out, tables, len(s.Logics), s.Release, s.Project, s.Env)
			return nil
		}),
	}
	c.Flags().StringVar(&lang, "lang", "ts", "language of the types: ts (TypeScript)")
	c.Flags().StringVar(&out, "out", "", "file to write (default: stdout)")
	_ = c.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions([]string{"ts"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory, so that a reader (a watching compiler) never sees half a
// file; missing parent directories are created. A path that cannot be
// written is a usage error naming --out.
func writeFileAtomic(path string, data []byte) error {
	fail := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usageErrorf("--out %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fail(err)
	}
	// Then the mode of a file written by hand (CreateTemp makes 0600), and
	// only a complete file takes the name.
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fail(err)
	}
	return nil
}
