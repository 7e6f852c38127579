package devstack

import (
	"io/fs"
	"path"
	"strings"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/logic"
)

// ReadLogics reads every *.sql file of a logic directory (SPEC §6), keyed
// by its '/'-separated path in fsys; other files are left alone. It is
// what `stk logic apply` sends and what stk dev applies.
func ReadLogics(fsys fs.FS) (map[string]string, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".sql" {
			return nil
		}
		if len(files) >= logic.MaxFiles {
			return fs.SkipAll // the Hub refuses more; it says so
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	return files, err
}

// logicsOf picks the logic files out of a scan of the project (paths
// under logics/, relative to it).
func logicsOf(cur snapshotFiles) map[string]string {
	out := map[string]string{}
	for p, b := range cur {
		if rel, ok := strings.CutPrefix(p, LogicsDir+"/"); ok && path.Ext(rel) == ".sql" {
			out[rel] = string(b)
		}
	}
	return out
}

// inLogicsDir names each problem of a failed logic apply by its path as the
// user sees it (dir/posts/mine.sql rather than posts/mine.sql).
func inLogicsDir(err error, dir string) error {
	he, ok := err.(*hubclient.Error)
	if !ok {
		return err
	}
	list, _ := he.Details["problems"].([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			if f, ok := m["file"].(string); ok && f != "" {
				m["file"] = path.Join(dir, f)
			}
		}
	}
	return err
}
