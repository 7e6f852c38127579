package devstack

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The files `stk init` writes, with comments for a user who has only this
// directory (no references to the repository or the spec). The permissions
// have rules on _default only, so that they validate against any database;
// schema.sql is the todo example's tables as a start.
var (
	//go:embed layout/permissions.yaml
	initPermissions []byte
	//go:embed layout/auth.yaml
	initAuth []byte
	//go:embed layout/schema.sql
	initSchema []byte
	// The logic directory starts empty but for how to fill it: a logic
	// naming the template's tables would not prepare on a database of the
	// user's (--db), as permissions rules on tables would not validate.
	//go:embed layout/logics-readme.md
	initLogicsReadme []byte
)

// gitignoreLine keeps stk dev's local state out of git.
const gitignoreLine = ".santokit/"

// InitFile is one file of the `stk init` layout and what Init did to it.
type InitFile struct {
	// Path is relative to the project directory, with slashes.
	Path string `json:"path"`
	// Action is created, overwritten, unchanged (it already held this
	// content) or updated (.gitignore, to which the line was added).
	Action string `json:"action"`
}

// ExistsError is Init refusing to overwrite a file.
type ExistsError struct {
	// Path is the file, as given (project directory joined).
	Path string
}

func (e *ExistsError) Error() string {
	return e.Path + " already exists: use --force to overwrite it"
}

// Init writes the `stk init` layout into dir (created if missing):
// config/permissions.yaml, config/auth.yaml, logics/README.md, schema.sql
// (the schema stk dev loads into a new local database) and .gitignore with
// .santokit/. An existing file with other content is an *ExistsError and
// nothing is written, unless force; an existing .gitignore is never
// replaced, only given the line it lacks.
func Init(dir string, force bool) ([]InitFile, error) {
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, usagef("%s is not a directory", dir)
	}
	files := []struct {
		path string
		data []byte
	}{
		{PermissionsPath, initPermissions},
		{AuthPath, initAuth},
		{LogicsDir + "/README.md", initLogicsReadme},
		{SchemaPath, initSchema},
	}
	type plan struct {
		InitFile
		full string
		data []byte
	}
	var plans []plan
	for _, f := range files {
		data := f.data
		full := filepath.Join(dir, filepath.FromSlash(f.path))
		p := plan{InitFile: InitFile{Path: f.path, Action: "created"}, full: full, data: data}
		old, err := os.ReadFile(full)
		switch {
		case err == nil && bytes.Equal(old, data):
			p.Action = "unchanged"
		case err == nil || !errors.Is(err, fs.ErrNotExist):
			if !force {
				return nil, &ExistsError{Path: full}
			}
			p.Action = "overwritten"
		}
		plans = append(plans, p)
	}
	gi := plan{InitFile: InitFile{Path: ".gitignore", Action: "created"}, full: filepath.Join(dir, ".gitignore")}
	old, err := os.ReadFile(gi.full)
	switch {
	case err == nil && hasLine(old, gitignoreLine):
		gi.Action, gi.data = "unchanged", old
	case err == nil:
		gi.Action = "updated"
		gi.data = append(bytes.Clone(old), []byte(gitignoreAddition(old))...)
	case errors.Is(err, fs.ErrNotExist):
		gi.data = []byte("# Local state of `stk dev` (Hub store, keys, data database, log)\n" + gitignoreLine + "\n")
	default:
		return nil, fmt.Errorf("read %s: %w", gi.full, unwrapPath(err))
	}
	plans = append(plans, gi)

	out := make([]InitFile, 0, len(plans))
	for _, p := range plans {
		if p.Action != "unchanged" {
			if err := os.MkdirAll(filepath.Dir(p.full), 0o755); err != nil {
				return out, fmt.Errorf("create %s: %w", filepath.Dir(p.full), unwrapPath(err))
			}
			if err := os.WriteFile(p.full, p.data, 0o644); err != nil {
				return out, fmt.Errorf("write %s: %w", p.full, unwrapPath(err))
			}
		}
		out = append(out, p.InitFile)
	}
	return out, nil
}

// hasLine reports whether a .gitignore already ignores .santokit.
func hasLine(b []byte, line string) bool {
	for _, l := range strings.Split(string(b), "\n") {
		switch strings.TrimSpace(l) {
		case line, strings.TrimSuffix(line, "/"), "/" + line, "/" + strings.TrimSuffix(line, "/"):
			return true
		}
	}
	return false
}

func gitignoreAddition(old []byte) string {
	s := gitignoreLine + "\n"
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		s = "\n" + s
	}
	return s
}
