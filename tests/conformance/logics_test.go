package conformance

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logicFiles reads the logic files env dev stages (SPEC §6, cases in
// logic.json): fixtures/logics/shared/** on both engines, and
// fixtures/logics/<engine>/** where the SQL text must differ (a file there
// replaces the shared file of the same path). Keys are paths under logics/.
func logicFiles(t *testing.T, engine string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, dir := range []string{"shared", engine} {
		root := filepath.Join("fixtures", "logics", dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			files[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatalf("fixtures/logics/%s: %v", dir, err)
		}
	}
	return files
}
