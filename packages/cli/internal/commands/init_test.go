package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
)

var initFiles = []string{"README.md", "config/permissions.yaml", "config/auth.yaml", "logics/notes/add.sql", "logics/_admin/clear-done.sql", "schema.sql", ".gitignore"}

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
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json: %v %s", err, r.stdout)
	}
	actions := map[string]string{}
	for _, f := range out.Files {
		actions[f.Path] = f.Action
	}
	for _, f := range initFiles {
		if actions[f] == "" {
			t.Errorf("--json does not list %s: %s", f, r.stdout)
		}
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

// --template picks another template; --list names them all; an unknown
// template is a usage error naming the choices; a README.md of one's own is
// kept, never refused.
func TestInitTemplates(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := stk(t, "", nil, "", "init", dir, "--template", "blog")
	if r.code != 0 || !regexp.MustCompile(`(?m)^kept +`+regexp.QuoteMeta(filepath.Join(dir, "README.md"))+`$`).MatchString(r.stdout) || !strings.Contains(r.stdout, "Template blog.") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "README.md")) != "# mine\n" {
		t.Error("README.md replaced")
	}
	if perm := readFile(t, filepath.Join(dir, "config", "permissions.yaml")); !strings.Contains(perm, "moderator") {
		t.Errorf("not the blog's permissions:\n%s", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, "logics", "feed.sql")); err != nil {
		t.Error(err)
	}
	// The same directory, another template: its files differ → refused.
	if r := stk(t, "", nil, "", "init", dir, "-t", "saas"); r.code != ExitError || !strings.Contains(r.stderr, "permissions.yaml already exists") {
		t.Errorf("saas over blog: exit %d %s", r.code, r.stderr)
	}

	r = stk(t, "", nil, "", "init", "--list")
	for _, want := range []string{"todo (default)", "blog", "saas", "minimal", "moderator", "org claim"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("--list lacks %q: %d %s", want, r.code, r.stdout)
		}
	}
	r = stk(t, "", nil, "", "init", "--list", "--json")
	var list []struct {
		Name, Summary string
		Default       bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 4 || list[0].Name != "todo" || !list[0].Default || list[1].Default {
		t.Errorf("--list --json: %v %s", err, r.stdout)
	}
	if r := stk(t, "", nil, "", "init", "--list", dir); r.code != ExitUsage {
		t.Errorf("--list DIR: exit %d", r.code)
	}

	other := filepath.Join(t.TempDir(), "x")
	r = stk(t, "", nil, "", "init", other, "--template", "shop")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown template "shop"`) || !strings.Contains(r.stderr, "todo, blog, saas, minimal") {
		t.Errorf("unknown template: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("an unknown template created the directory")
	}
}
