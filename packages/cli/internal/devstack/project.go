package devstack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/santokit/santokit/examples"
	"github.com/santokit/santokit/packages/core/permissions"
)

// Paths of the `stk init` layout, relative to the project directory.
const (
	PermissionsPath = "config/permissions.yaml"
	AuthPath        = "config/auth.yaml"
	LogicsDir       = "logics"
	SchemaPath      = "schema.sql"
)

// exampleFile is how the embedded example's permissions are named.
const exampleFile = "examples/todo/" + PermissionsPath + " (built in)"

// defaultRulesFile is how the permissions served over a database of the
// user's own outside a project are named: stk init's file, whose only rules
// are on _default, so that they fit any schema.
const defaultRulesFile = "built-in _default rules (reader selects, writer inserts, updates and deletes)"

// project is the directory stk dev runs in.
type project struct {
	// dir is absolute; display is the directory as given, for messages.
	dir     string
	display string
	// permissionsPath is the project's permissions file, absolute; empty
	// when the directory is no project.
	permissionsPath string
	// ownDB is --db: outside a project, the user's own database is served
	// with _default rules instead of the todo example (SPEC §14).
	ownDB bool
}

func loadProject(dir string, ownDB bool) (*project, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, usagef("directory %s: %v", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usagef("directory %s does not exist (run 'stk init %s' to create a project there)", dir, dir)
	case err != nil:
		return nil, usagef("directory %s: %v", dir, unwrapPath(err))
	case !fi.IsDir():
		return nil, usagef("%s is not a directory", dir)
	}
	p := &project{dir: abs, display: dir, ownDB: ownDB}
	perm := filepath.Join(abs, filepath.FromSlash(PermissionsPath))
	if fi, err := os.Stat(perm); err == nil && !fi.IsDir() {
		p.permissionsPath = perm
	}
	return p, nil
}

// isProject reports whether the directory has the `stk init` layout.
func (p *project) isProject() bool { return p.permissionsPath != "" }

// permissionsFile names the permissions file as the user sees it:
// relative to the working directory when the directory was given so.
func (p *project) permissionsFile() string {
	switch {
	case p.isProject():
	case p.ownDB:
		return defaultRulesFile
	default:
		return exampleFile
	}
	return filepath.Join(p.display, filepath.FromSlash(PermissionsPath))
}

// permissions reads the permissions document to apply: the project's, or
// outside a project the _default rules of the minimal template (--db) or the todo
// example's.
func (p *project) permissions() ([]byte, error) {
	switch {
	case p.isProject():
	case p.ownDB:
		return fs.ReadFile(examples.Minimal(), PermissionsPath)
	default:
		return fs.ReadFile(examples.Todo(), PermissionsPath)
	}
	b, err := os.ReadFile(p.permissionsPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.permissionsFile(), unwrapPath(err))
	}
	return b, nil
}

// schemaSQL is what a new data database is created from: the project's
// schema.sql (none: an empty database), or the todo example's.
func (p *project) schemaSQL() ([]byte, error) {
	if !p.isProject() {
		return fs.ReadFile(examples.Todo(), SchemaPath)
	}
	b, err := os.ReadFile(filepath.Join(p.dir, SchemaPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.schemaFile(), unwrapPath(err))
	}
	return b, nil
}

// schemaFile names schema.sql as the user sees it.
func (p *project) schemaFile() string {
	if !p.isProject() {
		return "examples/todo/" + SchemaPath + " (built in)"
	}
	return filepath.Join(p.display, SchemaPath)
}

// inSchemaFile names schema.sql in a *SchemaError as the user sees it.
func (p *project) inSchemaFile(err error) error {
	var se *SchemaError
	if errors.As(err, &se) {
		se.File = p.schemaFile()
	}
	return err
}

// logicsFile names logics/ as the user sees it.
func (p *project) logicsFile() string {
	if !p.isProject() {
		return "examples/todo/" + LogicsDir
	}
	return filepath.Join(p.display, LogicsDir)
}

// logics reads the logic files to apply (SPEC §6): the project's logics/
// (none when it has no such directory), or outside a project the todo
// example's; nil with --db outside a project (its tables are the user's).
func (p *project) logics() (map[string]string, error) {
	switch {
	case p.isProject():
	case p.ownDB:
		return nil, nil
	default:
		sub, err := fs.Sub(examples.Todo(), LogicsDir)
		if err != nil {
			return nil, err
		}
		return ReadLogics(sub)
	}
	dir := filepath.Join(p.dir, LogicsDir)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return map[string]string{}, nil
	}
	files, err := ReadLogics(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.logicsFile(), unwrapPath(err))
	}
	return files, nil
}

// authFile names the auth config as the user sees it.
func (p *project) authFile() string {
	switch {
	case p.isProject():
		return filepath.Join(p.display, filepath.FromSlash(AuthPath))
	case p.ownDB:
		return "built-in " + AuthPath + " (trusts the dev issuer)"
	default:
		return "examples/todo/" + AuthPath + " (built in)"
	}
}

// auth reads the auth config to apply (SPEC §7.3): the project's
// config/auth.yaml (nil when there is none), or outside a project the
// minimal template's (--db) or the todo example's, both trusting the dev issuer.
func (p *project) auth() ([]byte, error) {
	switch {
	case p.isProject():
	case p.ownDB:
		return fs.ReadFile(examples.Minimal(), AuthPath)
	default:
		return fs.ReadFile(examples.Todo(), AuthPath)
	}
	b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(AuthPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.authFile(), unwrapPath(err))
	}
	return b, nil
}

// defaultRoles are the API key's roles when the permissions name none.
func defaultRoles() []string { return []string{"reader", "writer"} }

// keyRoles lists the role names that the permissions grant anything to
// (the keywords public and authenticated excluded), sorted: the roles of
// the dev API key. A document that does not parse gives the defaults.
func keyRoles(src []byte) []string {
	doc, problems := permissions.Parse(src)
	if doc == nil || len(problems) > 0 {
		return defaultRoles()
	}
	var roles []string
	for _, t := range doc.Tables {
		for _, rules := range t.Ops {
			for _, r := range rules {
				for _, role := range r.Roles {
					if role == "public" || role == "authenticated" || slices.Contains(roles, role) {
						continue
					}
					roles = append(roles, role)
				}
			}
		}
	}
	if len(roles) == 0 {
		return defaultRoles()
	}
	slices.Sort(roles)
	return roles
}
