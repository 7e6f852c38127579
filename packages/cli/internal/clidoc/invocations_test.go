package clidoc

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/commands"
)

// stkRe finds an stk invocation in a shell line: the word stk (also
// ./bin/stk) at a command position, and what follows up to the end of that
// command.
var (
	stkRe     = regexp.MustCompile(`(?:^|[\s(|;&/])stk\s+([^|;&)<>]*)`)
	commentRe = regexp.MustCompile(`(?:^|\s)#.*$`)
)

// TestDocsInvokeRealCommands reads the shell examples of the README and the
// pages in docs/ (not the generated docs/cli) and checks each stk command
// line against the command tree: the command exists and can run, and every
// flag it passes is one of that command's flags. A renamed command or flag
// fails here instead of misleading a reader.
func TestDocsInvokeRealCommands(t *testing.T) {
	docs := filepath.Join("..", "..", "..", "..")
	files, err := filepath.Glob(filepath.Join(docs, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(docs, "README.md"))
	root := commands.Tree()
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ln := range shellLines(string(b)) {
			line := commentRe.ReplaceAllString(ln.text, "")
			for _, m := range stkRe.FindAllStringSubmatch(line, -1) {
				seen++
				args, _, _ := strings.Cut(m[1], "$(") // a nested command is not stk's
				args, _, _ = strings.Cut(args, "`")
				where := filepath.Base(f) + ":" + strconv.Itoa(ln.no) + ": stk " + strings.TrimSpace(args)
				if problem := checkInvocation(root, strings.Fields(args)); problem != "" {
					t.Errorf("%s: %s", where, problem)
				}
			}
		}
	}
	if seen < 50 {
		t.Errorf("found only %d stk invocations in the docs; the scan looks broken", seen)
	}
}

// checkInvocation resolves words (what follows "stk") in root's tree and
// names what does not exist, or returns "".
func checkInvocation(root *cobra.Command, words []string) string {
	for i, w := range words {
		words[i] = strings.Trim(w, `"'`)
	}
	c, rest, err := root.Find(words)
	if err != nil {
		return err.Error()
	}
	for _, w := range words {
		switch {
		case w == "--" || w == "-" || !strings.HasPrefix(w, "-"):
		case strings.HasPrefix(w, "--"):
			name, _, _ := strings.Cut(w[2:], "=")
			if name != "help" && c.Flags().Lookup(name) == nil && c.InheritedFlags().Lookup(name) == nil {
				return "no flag --" + name + " on " + strconv.Quote(c.CommandPath())
			}
		case len(w) == 2:
			s := w[1:]
			if s != "h" && c.Flags().ShorthandLookup(s) == nil && c.InheritedFlags().ShorthandLookup(s) == nil {
				return "no flag " + w + " on " + strconv.Quote(c.CommandPath())
			}
		}
	}
	if err := c.ValidateArgs(positionals(c, rest)); err != nil {
		return err.Error()
	}
	return ""
}

// positionals are the words of args that are neither flags nor flags'
// values.
func positionals(c *cobra.Command, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		w := args[i]
		if !strings.HasPrefix(w, "-") {
			out = append(out, w)
			continue
		}
		if strings.HasPrefix(w, "--") && !strings.Contains(w, "=") {
			f := c.Flags().Lookup(w[2:])
			if f == nil {
				f = c.InheritedFlags().Lookup(w[2:])
			}
			if f != nil && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
		}
	}
	return out
}

type shellLine struct {
	no   int
	text string
}

// shellLines returns the lines of a Markdown file's fenced blocks labelled
// as shell: ```sh, ```bash (walkthrough blocks too), ```shell.
func shellLines(text string) []shellLine {
	var out []shellLine
	in := false
	shell := false
	for i, l := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(l)
		if strings.HasPrefix(trim, "```") {
			if in {
				in = false
				continue
			}
			in = true
			lang := strings.Fields(strings.TrimPrefix(trim, "```") + " ")
			shell = len(lang) > 0 && (lang[0] == "sh" || lang[0] == "bash" || lang[0] == "shell")
			continue
		}
		if in && shell {
			out = append(out, shellLine{no: i + 1, text: l})
		}
	}
	return out
}

func TestCheckInvocation(t *testing.T) {
	root := commands.Tree()
	for line, want := range map[string]string{
		"release create --project demo --env dev --ref v1": "",
		"login --hub https://h --device":                   "",
		"release --json list":                              "",
		"dev examples/todo --web web":                      "",
		"release --help":                                   "",
		"release creat --project demo":                     `unknown command "creat" for "stk release"; did you mean "create"?`,
		"release --project demo creat":                     `unknown command "creat" for "stk release"; did you mean "create"?`,
		"release create --refs v1":                         `no flag --refs on "stk release create"`,
		"init a b":                                         `too many arguments: stk init takes at most one directory, got "a b"`,
	} {
		if got := checkInvocation(root, strings.Fields(line)); got != want {
			t.Errorf("stk %s: got %q, want %q", line, got, want)
		}
	}
}
