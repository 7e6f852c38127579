package clidoc

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/commands"
)

// repoDir is Dir seen from this package's directory.
var repoDir = filepath.Join("..", "..", "..", "..", Dir)

// TestCheckedInReferenceIsCurrent fails when docs/cli differs from what the
// command tree renders today: a page changed, is missing, or belongs to a
// command that is gone (issue 18: CI fails on a stale reference).
func TestCheckedInReferenceIsCurrent(t *testing.T) {
	want := Render(commands.Tree())
	var problems []string
	for name, body := range want {
		got, err := os.ReadFile(filepath.Join(repoDir, name))
		switch {
		case os.IsNotExist(err):
			problems = append(problems, name+": missing")
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, body):
			problems = append(problems, name+": differs from the command's help")
		}
	}
	old, err := filepath.Glob(filepath.Join(repoDir, "stk*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old {
		if _, ok := want[filepath.Base(p)]; !ok {
			problems = append(problems, filepath.Base(p)+": no such command any more")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("the CLI reference in %s is stale; regenerate it with `make docs` and commit the result:\n  %s",
			Dir, strings.Join(problems, "\n  "))
	}
}

func TestRenderPage(t *testing.T) {
	root := &cobra.Command{Use: "stk", Short: "root"}
	root.PersistentFlags().Bool("json", false, "print JSON")
	grp := &cobra.Command{Use: "release", Short: "Releases", Example: "  stk release list"}
	create := &cobra.Command{
		Use: "create", Short: "Create a release", Long: "Freezes <staged> state.",
		Example: "  stk release create --ref v1\n  stk release create --ref v2",
		RunE:    func(*cobra.Command, []string) error { return nil },
	}
	create.Flags().String("ref", "", "git ref")
	hidden := &cobra.Command{Use: "secret", Hidden: true, RunE: create.RunE}
	grp.AddCommand(create, hidden)
	root.AddCommand(grp)

	pages := Render(root)
	if len(pages) != 3 {
		t.Fatalf("pages %v: want stk, stk_release, stk_release_create (hidden left out)", keys(pages))
	}
	p := string(pages["stk_release_create.md"])
	for _, want := range []string{
		"# stk release create\n",
		"```text\nFreezes <staged> state.\n```",
		"```text\nstk release create [flags]\n```",
		"```sh\nstk release create --ref v1\nstk release create --ref v2\n```",
		"--ref string", "## Options inherited from parent commands", "--json",
		"- [stk release](stk_release.md) — Releases",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q:\n%s", want, p)
		}
	}
	if g := string(pages["stk_release.md"]); !strings.Contains(g, "(stk_release_create.md)") || strings.Contains(g, "secret") {
		t.Errorf("group page links wrong:\n%s", g)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
