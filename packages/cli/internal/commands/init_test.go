package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
)

var initFiles = []string{"config/permissions.yaml", "config/auth.yaml", "logics/README.md", "schema.sql", ".gitignore"}

func TestInitWritesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "myapp")
	r := stk(t, "", nil, "", "init", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range initFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.Contains(r.stdout, filepath.Join(dir, f)) {
			t.Errorf("stdout does not name %s: %s", f, r.stdout)
		}
	}
	perm := readFile(t, filepath.Join(dir, "config/permissions.yaml"))
	if doc, problems := permissions.Parse([]byte(perm)); doc == nil || len(problems) > 0 || !strings.Contains(perm, "\n# ") {
		t.Errorf("permissions.yaml: problems %v", problems)
	}
	auth := readFile(t, filepath.Join(dir, "config/auth.yaml"))
	if !strings.Contains(auth, "version: 1\n") || !strings.Contains(auth, "issuers:\n  - name: stk-dev\n    issuer: http://127.0.0.1:4001\n") || !strings.HasPrefix(auth, "#") {
		t.Errorf("auth.yaml:\n%s", auth)
	}
	if gi := readFile(t, filepath.Join(dir, ".gitignore")); !strings.Contains(gi, "\n.santokit/\n") {
		t.Errorf(".gitignore:\n%s", gi)
	}

	// Again: identical files are left alone, nothing is refused.
	if r := stk(t, "", nil, "", "init", dir, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"unchanged"`) {
		t.Errorf("second init: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	mine := "version: 1\ntables: {}\n# mine\n"
	path := filepath.Join(dir, "config", "permissions.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("node_modules/"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := stk(t, "", nil, "", "init", dir)
	if r.code != ExitError || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	if readFile(t, path) != mine {
		t.Error("permissions.yaml was overwritten")
	}
	for _, f := range []string{"config/auth.yaml", "schema.sql"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s written although init refused", f)
		}
	}
	r = stk(t, "", nil, "", "init", dir, "--json")
	if r.code != ExitError || !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stdout, `"CONFLICT"`) {
		t.Errorf("--json refusal: exit %d stdout %q", r.code, r.stdout)
	}

	// --force overwrites; .gitignore only gains the line.
	r = stk(t, "", nil, "", "init", dir, "--force", "--json")
	if r.code != 0 {
		t.Fatalf("--force: exit %d %s", r.code, r.stderr)
	}
	var out struct {
		Files []struct{ Path, Action string } `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Files) != len(initFiles) {
		t.Fatalf("--json: %v %s", err, r.stdout)
	}
	actions := map[string]string{}
	for _, f := range out.Files {
		actions[f.Path] = f.Action
	}
	if actions["config/permissions.yaml"] != "overwritten" || actions["schema.sql"] != "created" || actions[".gitignore"] != "updated" {
		t.Errorf("actions %v", actions)
	}
	if readFile(t, path) == mine {
		t.Error("--force did not overwrite")
	}
	if gi := readFile(t, filepath.Join(dir, ".gitignore")); gi != "node_modules/\n.santokit/\n" {
		t.Errorf(".gitignore %q", gi)
	}
}

func TestInitUsage(t *testing.T) {
	if r := stk(t, "", nil, "", "init", "a", "b"); r.code != ExitUsage {
		t.Errorf("two dirs: exit %d", r.code)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := stk(t, "", nil, "", "init", f); r.code != ExitUsage {
		t.Errorf("a file: exit %d %s", r.code, r.stderr)
	}
}
