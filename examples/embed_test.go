package examples

import (
	"io/fs"
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
)

// The todo example has the `stk init` layout, and its permissions parse.
func TestTodoLayout(t *testing.T) {
	ex := Todo()
	for _, f := range []string{"config/permissions.yaml", "config/auth.yaml", "logics/.gitkeep", ".gitignore", "schema.sql"} {
		if _, err := fs.Stat(ex, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	src, err := fs.ReadFile(ex, "config/permissions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if doc, problems := permissions.Parse(src); doc == nil || len(problems) > 0 {
		t.Errorf("permissions.yaml: %v", problems)
	}
}
