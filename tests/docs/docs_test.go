// Package docs tests the user documentation under docs/ and the README as
// files: every relative link reaches a file (and a heading, when it names an
// anchor) inside the repository, every STK_ variable the programs read is in
// the configuration reference, and every error code is in the error page.
// These keep the pages honest when code moves; docs/cli has its own
// staleness test (packages/cli/internal/clidoc).
package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/santokit/santokit/packages/core/apierr"
)

// root is the repository root seen from this package.
const root = "../.."

// pages lists README.md and every Markdown file under docs/.
func pages(t *testing.T) []string {
	t.Helper()
	out := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d pages: is the docs/ directory there?", len(out))
	}
	return out
}

// linkRe finds inline links and images: [text](target) and ![alt](target),
// with an optional "title".
var linkRe = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// prose returns the lines of a Markdown file outside fenced code blocks,
// with inline code spans blanked (links inside code are not links).
func prose(text string) []string {
	var out []string
	fenced := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimLeft(line, " ")
		if fenced != "" {
			if strings.HasPrefix(trim, fenced) {
				fenced = ""
			}
			out = append(out, "")
			continue
		}
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			fenced = trim[:3]
			out = append(out, "")
			continue
		}
		out = append(out, codeSpanRe.ReplaceAllString(line, "``"))
	}
	return out
}

var codeSpanRe = regexp.MustCompile("`[^`]*`")

// anchors returns the GitHub anchors of a Markdown file's headings:
// lower case, punctuation dropped, spaces as hyphens, "-1", "-2", … for
// repeats.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fenced := ""
	for _, line := range strings.Split(text, "\n") {
		trim := strings.TrimLeft(line, " ")
		if fenced != "" {
			if strings.HasPrefix(trim, fenced) {
				fenced = ""
			}
			continue
		}
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			fenced = trim[:3]
			continue
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		a := Slug(h)
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

var inlineLinkRe = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// Slug is GitHub's anchor for a heading's text: link texts kept, then
// everything but letters, marks, numbers, connector punctuation (_),
// hyphens and spaces dropped ("—", "→", "`", "(" go), spaces as hyphens.
func Slug(heading string) string {
	h := inlineLinkRe.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_':
			b.WriteRune(r)
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsNumber(r), unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"`POST /call` reference":            "post-call-reference",
		"Browsers (CORS)":                   "browsers-cors",
		"Hub (`stk-hub`)":                   "hub-stk-hub",
		"Log in with an identity provider":  "log-in-with-an-identity-provider",
		"0019 — Conditions as trees":        "0019--conditions-as-trees",
		"See [the docs](x.md) and stk_init": "see-the-docs-and-stk_init",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRelativeLinksResolve follows every relative link of the README and
// docs/: the file must exist inside the repository (a clone has nothing
// else), and an anchor must name a heading of the Markdown file it points
// to.
func TestRelativeLinksResolve(t *testing.T) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cache := map[string]map[string]bool{}
	headings := func(p string) map[string]bool {
		if a, ok := cache[p]; ok {
			return a
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cache[p] = anchors(string(b))
		return cache[p]
	}
	checked := 0
	for _, page := range pages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		for i, line := range prose(string(b)) {
			for _, m := range linkRe.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				where := rel + ":" + strconv.Itoa(i+1) + ": link " + target
				path, anchor, _ := strings.Cut(target, "#")
				dest := page
				if path != "" {
					dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(path))
				}
				abs, err := filepath.Abs(dest)
				if err != nil {
					t.Fatal(err)
				}
				if abs != absRoot && !strings.HasPrefix(abs, absRoot+string(filepath.Separator)) {
					t.Errorf("%s: leaves the repository (a clone has no such file)", where)
					continue
				}
				st, err := os.Stat(dest)
				if err != nil {
					t.Errorf("%s: no such file or directory", where)
					continue
				}
				if anchor == "" {
					continue
				}
				if st.IsDir() || !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s: an anchor on something that is not a Markdown file", where)
					continue
				}
				if !headings(dest)[anchor] {
					t.Errorf("%s: no heading with anchor #%s in %s", where, anchor, filepath.Base(dest))
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d links; the link pattern looks broken", checked)
	}
}

// envRe finds a Go string literal that starts with an STK_ or OTEL_ name.
var envRe = regexp.MustCompile(`"((?:STK|OTEL)_[A-Z0-9_]+)`)

// TestConfigurationNamesEveryVariable reads the programs' Go sources (tests
// excluded) for STK_ and OTEL_ names and wants each in
// docs/configuration.md, so a new variable cannot ship undocumented.
func TestConfigurationNamesEveryVariable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, dir := range []string{"packages", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range envRe.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], "_") { // a prefix such as STK_OAUTH_
					found[m[1]] = p
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := found["STK_MASTER_KEYS"]; !ok {
		t.Fatalf("found %d names and not STK_MASTER_KEYS: the scan looks broken", len(found))
	}
	var missing []string
	for name, file := range found {
		if !strings.Contains(string(doc), "`"+name+"`") {
			rel, _ := filepath.Rel(root, file)
			missing = append(missing, name+" (read in "+rel+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/configuration.md does not name these variables (as `NAME`):\n  %s", strings.Join(missing, "\n  "))
	}
}

// TestErrorPageListsEveryCode wants a table row for each error code the
// servers can answer.
func TestErrorPageListsEveryCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range apierr.Codes() {
		row := "| `" + string(c) + "` | " + strconv.Itoa(c.Status()) + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/errors.md has no row %q", row)
		}
	}
}
