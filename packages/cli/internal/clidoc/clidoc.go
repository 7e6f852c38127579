// Package clidoc renders stk's cobra command tree as Markdown: one page per
// command under docs/cli, the same text that `stk <command> --help` prints
// (description, usage, examples, flags) with links between parents and
// children. It is a small generator of its own rather than cobra/doc:
// that package writes the long description as raw Markdown, where stk's
// <placeholders> would be taken for HTML, and it would bring go-md2man and
// blackfriday (for man pages nobody asked for) into go.mod; the pages are
// plain enough that 100 lines do it. Output depends only on the tree, so a
// test can compare it with the checked-in pages (make docs rewrites them).
package clidoc

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// Dir is where the pages live, relative to the repository root.
const Dir = "docs/cli"

// Render returns the pages of root's tree keyed by file name (stk.md,
// stk_release_create.md, …). Commands that --help does not list (hidden,
// deprecated, cobra's help command) are left out, with their children.
func Render(root *cobra.Command) map[string][]byte {
	pages := map[string][]byte{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		pages[FileName(c)] = page(c)
		for _, s := range children(c) {
			walk(s)
		}
	}
	walk(root)
	return pages
}

// FileName is the page of c: its command path with spaces as underscores.
func FileName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

func children(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func page(c *cobra.Command) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Generated from stk's command tree by `make docs`; do not edit. -->\n\n")
	fmt.Fprintf(&b, "# %s\n\n", c.CommandPath())
	if c.Short != "" {
		fmt.Fprintf(&b, "%s\n\n", c.Short)
	}
	if c.Long != "" {
		fence(&b, "text", c.Long)
	}
	if c.Runnable() {
		b.WriteString("## Usage\n\n")
		fence(&b, "text", c.UseLine())
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "Aliases: %s\n\n", strings.Join(c.Aliases, ", "))
	}
	if c.Example != "" {
		b.WriteString("## Examples\n\n")
		fence(&b, "sh", dedent(c.Example))
	}
	if fl := c.NonInheritedFlags(); fl.HasAvailableFlags() {
		b.WriteString("## Options\n\n")
		fence(&b, "text", fl.FlagUsages())
	}
	if fl := c.InheritedFlags(); fl.HasAvailableFlags() {
		b.WriteString("## Options inherited from parent commands\n\n")
		fence(&b, "text", fl.FlagUsages())
	}
	subs := children(c)
	if c.HasParent() || len(subs) > 0 {
		b.WriteString("## See also\n\n")
		if p := c.Parent(); p != nil {
			fmt.Fprintf(&b, "- [%s](%s) — %s\n", p.CommandPath(), FileName(p), p.Short)
		}
		for _, s := range subs {
			fmt.Fprintf(&b, "- [%s](%s) — %s\n", s.CommandPath(), FileName(s), s.Short)
		}
		b.WriteString("\n")
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// fence writes text in a fenced code block: help text is shown as --help
// prints it, and its <placeholders> are not taken for HTML.
func fence(b *bytes.Buffer, lang, text string) {
	fmt.Fprintf(b, "```%s\n%s\n```\n\n", lang, strings.TrimRight(text, "\n"))
}

// dedent removes the two-space indent cobra's examples carry by convention.
func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "  ")
	}
	return strings.Join(lines, "\n")
}
