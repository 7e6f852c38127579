package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// gitignoreLine keeps stk dev's local state out of git.
const gitignoreLine = ".santokit/"

// readmePath is the template's README: a user's own README.md is kept,
// never refused nor overwritten, so that `stk init .` works in an existing
// repository.
const readmePath = "README.md"

// InitFile is one file of the `stk init` layout and what Init did to it.
type InitFile struct {
	// Path is relative to the project directory, with slashes.
	Path string `json:"path"`
	// Action is created, overwritten, unchanged (it already held this
	// content), updated (.gitignore, to which the line was added) or kept
	// (README.md: the directory's own is left as it is).
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

// Init copies a template's files (examples.Files: schema.sql,
// config/permissions.yaml, config/auth.yaml, logics/, README.md,
// .gitignore) into dir, created if missing. An existing file with other
// content is an *ExistsError and nothing is written, unless force; two
// files are never replaced: an existing .gitignore only gets the
// .santokit/ line it lacks, and an existing README.md is kept. A
// .santokit/ directory in the template (stk dev's state) is never copied.
func Init(dir string, template fs.FS, force bool) ([]InitFile, error) {
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, usagef("%s is not a directory", dir)
	}
	type plan struct {
		InitFile
		full string
		data []byte
	}
	var plans []plan
	err := fs.WalkDir(template, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == StateDirName:
			return fs.SkipDir
		case d.IsDir():
			return nil
		}
		data, err := fs.ReadFile(template, p)
		if err != nil {
			return err
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		pl := plan{InitFile: InitFile{Path: p, Action: "created"}, full: full, data: data}
		old, err := os.ReadFile(full)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("read %s: %w", full, unwrapPath(err))
		case err == nil && bytes.Equal(old, data):
			pl.Action = "unchanged"
		case err == nil && p == readmePath:
			pl.Action = "kept"
		case p == ".gitignore" && err == nil && hasLine(old, gitignoreLine):
			pl.Action, pl.data = "unchanged", old
		case p == ".gitignore" && err == nil:
			pl.Action = "updated"
			pl.data = append(bytes.Clone(old), []byte(gitignoreAddition(old))...)
		case !force:
			return &ExistsError{Path: full}
		default:
			pl.Action = "overwritten"
		}
		plans = append(plans, pl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// .gitignore last, as before templates: the project files come first
	// in the listing, in the template's (lexical) order.
	slices.SortStableFunc(plans, func(a, b plan) int {
		return btoi(path.Base(a.Path) == ".gitignore") - btoi(path.Base(b.Path) == ".gitignore")
	})

	out := make([]InitFile, 0, len(plans))
	for _, p := range plans {
		if p.Action != "unchanged" && p.Action != "kept" {
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
