// Package examples holds the worked example projects of the repository, in
// the `stk init` layout, embedded so that `stk dev` can serve the todo
// example when it runs outside a project directory.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:todo
var files embed.FS

// Todo is the todo example project: config/permissions.yaml,
// config/auth.yaml, logics/, .gitignore and schema.sql.
func Todo() fs.FS {
	sub, err := fs.Sub(files, "todo")
	if err != nil {
		panic(err) // "todo" is a valid path; fs.Sub cannot fail on it
	}
	return sub
}
