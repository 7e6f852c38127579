package examples

import (
	"io/fs"
	"testing"

	"github.com/santokit/santokit/packages/core/logic"
)

// The todo example's logic files parse and compile for SQLite, its engine
// (#13 item 6): a join, an aggregate, a write bound to :auth.sub and a
// private one.
func TestTodoLogics(t *testing.T) {
	files := map[string]string{}
	err := fs.WalkDir(Todo(), "logics", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || len(p) < 4 || p[len(p)-4:] != ".sql" {
			return err
		}
		b, err := fs.ReadFile(Todo(), p)
		files[p[len("logics/"):]] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	logics, problems := logic.Parse(files, func(string) string { return logic.EngineSQLite })
	if len(problems) > 0 {
		t.Fatalf("problems: %+v", problems)
	}
	byName := map[string]logic.Logic{}
	for _, l := range logics {
		byName[l.Name] = l
	}
	if l := byName["notes/add"]; len(l.Binds) != 2 || l.Binds[0].Kind != logic.BindSub {
		t.Errorf("notes/add binds %+v", l.Binds)
	}
	if l := byName["_admin/clear-done"]; !l.Private() {
		t.Errorf("_admin/clear-done is not private: %+v", l)
	}
	if len(logics) != 4 {
		t.Errorf("logics %d", len(logics))
	}
}
