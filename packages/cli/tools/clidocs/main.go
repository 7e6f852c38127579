// Command clidocs writes stk's CLI reference, one Markdown page per command,
// into docs/cli (run from the repository root: make docs). Pages of commands
// that no longer exist are removed, so the directory is exactly the tree.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/santokit/santokit/packages/cli/internal/clidoc"
	"github.com/santokit/santokit/packages/cli/internal/commands"
)

func main() {
	out := flag.String("out", clidoc.Dir, "directory to write the pages into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "clidocs:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "stk*.md"))
	if err != nil {
		return err
	}
	pages := clidoc.Render(commands.Tree())
	for _, p := range old {
		if _, keep := pages[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, body := range pages {
		if !strings.HasPrefix(name, "stk") {
			return fmt.Errorf("unexpected page name %q", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d pages to %s\n", len(pages), dir)
	return nil
}
