package devstack

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// A template never brings stk dev's state along: a .santokit/ directory in
// it (a Hub store, a master key, at any depth) is not copied.
func TestInitSkipsState(t *testing.T) {
	tmpl := fstest.MapFS{
		"schema.sql":              {Data: []byte("CREATE TABLE t (id INTEGER PRIMARY KEY);\n")},
		".santokit/master.key":    {Data: []byte("v1:secret")},
		"logics/.santokit/hub.db": {Data: []byte("store")},
		"logics/a.sql":            {Data: []byte("---\nauth: public\n---\nSELECT 1\n")},
		"config/permissions.yaml": {Data: []byte("version: 1\ntables: {}\n")},
		"config/nested/.keep":     {Data: nil},
		".gitignore":              {Data: []byte(".santokit/\n")},
	}
	dir := t.TempDir()
	files, err := Init(dir, tmpl, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(filepath.Dir(f.Path)) == StateDirName {
			t.Errorf("listed %s", f.Path)
		}
	}
	for _, p := range []string{".santokit", "logics/.santokit"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s copied", p)
		}
	}
	if len(files) != 5 || files[len(files)-1].Path != ".gitignore" {
		t.Errorf("files %+v", files)
	}
	if _, err := os.Stat(filepath.Join(dir, "config", "nested", ".keep")); err != nil {
		t.Error(err)
	}
}
