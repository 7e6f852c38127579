// Package examples holds the worked example projects of the repository, in
// the `stk init` layout. Four of them are the templates of `stk init
// --template` (todo, blog, saas, minimal): they are embedded into stk, so
// that one directory is at once the example a reader runs from a clone,
// the template a user starts from, and — for todo — what `stk dev` serves
// outside a project.
package examples

import (
	"embed"
	"io/fs"
)

// files holds the templates' project files, named one by one rather than
// as whole directories (all:todo), so that the .santokit/ state of a `stk
// dev` run inside an example — its Hub store, master key and data
// database — is never built into stk nor copied by `stk init`. all: keeps
// logics/_private/ directories and config/ as they are.
//
//go:embed */README.md */schema.sql */schema.postgres.sql */.gitignore all:*/config all:*/logics
var files embed.FS

// Template is one starting point of `stk init --template NAME`.
type Template struct {
	// Name is what --template takes.
	Name string `json:"name"`
	// Summary says in one line what the template's rules show.
	Summary string `json:"summary"`
}

// templates is the list `stk init --list` shows, default first.
var templates = []Template{
	{"todo", "each end user's private rows (owner: author), readers and writers by API key, logic: a join, an aggregate, a write as the caller"},
	{"blog", "public reads of published posts, authors write their own, role moderator sees, edits and deletes any, logic: a public feed"},
	{"saas", "multi-tenant rows by the token's org claim, role admin manages an org's projects, logic: an admin-only aggregate"},
	{"minimal", "_default rules only (reader reads, writer writes), so it validates against any database: a start for stk dev --db"},
}

// DefaultTemplate is the template of a bare `stk init`.
const DefaultTemplate = "todo"

// Templates lists the templates, the default first.
func Templates() []Template { return append([]Template(nil), templates...) }

// Files returns the project files of the named template and whether it
// exists.
func Files(name string) (fs.FS, bool) {
	for _, t := range templates {
		if t.Name == name {
			sub, err := fs.Sub(files, name)
			if err != nil {
				panic(err) // a listed template is an embedded directory; fs.Sub cannot fail on it
			}
			return sub, true
		}
	}
	return nil, false
}

// Todo is the todo example project: config/permissions.yaml,
// config/auth.yaml, logics/, .gitignore, README.md and schema.sql.
func Todo() fs.FS {
	t, _ := Files("todo")
	return t
}

// Minimal is the minimal template: the rules and auth config stk dev
// applies to a database of the user's own outside a project (--db).
func Minimal() fs.FS {
	t, _ := Files("minimal")
	return t
}
