package examples

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/authconfig"
	"github.com/santokit/santokit/packages/core/logic"
	"github.com/santokit/santokit/packages/core/permissions"
)

// Every template has the `stk init` layout, and its permissions, auth
// config and logic files parse (the logic for SQLite, stk dev's engine).
// That they validate against their schema and behave as their README says
// is tested through the real stk dev in tests/e2e (templates_test.go).
func TestTemplatesLayout(t *testing.T) {
	if ts := Templates(); len(ts) != 4 || ts[0].Name != DefaultTemplate {
		t.Fatalf("templates %+v", ts)
	}
	for _, tm := range Templates() {
		t.Run(tm.Name, func(t *testing.T) {
			ex, ok := Files(tm.Name)
			if !ok {
				t.Fatal("no files")
			}
			for _, f := range []string{"config/permissions.yaml", "config/auth.yaml", "logics", ".gitignore", "schema.sql", "README.md"} {
				if _, err := fs.Stat(ex, f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			src, _ := fs.ReadFile(ex, "config/permissions.yaml")
			if doc, problems := permissions.Parse(src); doc == nil || len(problems) > 0 {
				t.Errorf("permissions.yaml: %v", problems)
			}
			src, _ = fs.ReadFile(ex, "config/auth.yaml")
			if doc, problems := authconfig.Parse(src); doc == nil || len(problems) > 0 {
				t.Errorf("auth.yaml: %v", problems)
			}
			files := map[string]string{}
			_ = fs.WalkDir(ex, "logics", func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".sql") {
					b, _ := fs.ReadFile(ex, p)
					files[strings.TrimPrefix(p, "logics/")] = string(b)
				}
				return err
			})
			if _, problems := logic.Parse(files, func(string) string { return logic.EngineSQLite }); len(problems) > 0 {
				t.Errorf("logics: %+v", problems)
			}
			if tm.Name != "minimal" && len(files) == 0 {
				t.Error("no logic")
			}
			if gi, _ := fs.ReadFile(ex, ".gitignore"); !strings.Contains(string(gi), "\n.santokit/\n") {
				t.Errorf(".gitignore %q", gi)
			}
		})
	}
	if _, ok := Files("todo-web"); ok {
		t.Error("todo-web is not a template")
	}
}
