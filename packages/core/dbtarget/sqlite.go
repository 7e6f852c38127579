package dbtarget

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// journalSuffixes name the files SQLite keeps beside a database.
var journalSuffixes = []string{"-wal", "-shm", "-journal"}

// SQLitePath returns the file a sqlite://<path> URL may open: absolute,
// cleaned and with every symlink followed (SPEC §2), inside STK_SQLITE_DIR,
// not a journal file, and neither by name nor by identity (a hard link) a
// file the process opens itself or one of its journals. Open the returned
// path, not the URL's: it is the one that was checked. A file that does
// not exist yet is allowed when its directory resolves inside
// STK_SQLITE_DIR (whether opening creates it is the opener's choice).
//
// Only a plain path is accepted: a query (?vfs=, ?mode=memory), a
// fragment, a file: URI or :memory: would hand SQLite options or another
// file than the one checked.
func (p *Policy) SQLitePath(raw string) (string, error) {
	if p == nil {
		p = &Policy{}
	}
	path, ok := strings.CutPrefix(raw, "sqlite://")
	if !ok || path == "" {
		return "", ErrInvalidURL
	}
	switch {
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", refuse("a sqlite url is sqlite://<file path>: in-memory databases and file: URIs are not supported")
	case strings.ContainsAny(path, "?#\x00"):
		return "", refuse("a sqlite url is sqlite://<file path>, without ?options or #fragment")
	}
	if p.sqliteDir == "" {
		return "", refuse("sqlite connections are disabled: set STK_SQLITE_DIR on the Hub and the Bridge to the directory that holds the SQLite databases")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", ErrInvalidURL
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		// Not there yet: resolve its directory; a dangling symlink as the
		// last component is refused (it would be followed later).
		dir, derr := filepath.EvalSymlinks(filepath.Dir(abs))
		if derr != nil {
			if within(p.sqliteDir, abs) {
				return "", refuse("the sqlite file's directory does not exist in STK_SQLITE_DIR")
			}
			return "", refuse("sqlite path resolves outside STK_SQLITE_DIR")
		}
		resolved = filepath.Join(dir, filepath.Base(abs))
		if _, lerr := os.Lstat(resolved); lerr == nil {
			return "", refuse("sqlite path is a symlink to a file that does not exist")
		}
	} else if err != nil {
		return "", refuse("sqlite path cannot be resolved")
	}
	if !within(p.sqliteDir, resolved) {
		return "", refuse("sqlite path resolves outside STK_SQLITE_DIR")
	}
	for _, s := range journalSuffixes {
		if strings.HasSuffix(resolved, s) {
			return "", refuse("sqlite path names a journal file (-wal, -shm, -journal), not a database")
		}
	}
	if p.isProtected(resolved) {
		return "", refuse("sqlite path names a file this server uses itself")
	}
	return resolved, nil
}

// isProtected reports whether path is a protected file or a journal of
// one, by name or by identity.
func (p *Policy) isProtected(path string) bool {
	fi, statErr := os.Stat(path)
	for _, f := range p.protected {
		for _, s := range append([]string{""}, journalSuffixes...) {
			if path == f+s {
				return true
			}
			if statErr != nil {
				continue
			}
			if pi, err := os.Stat(f + s); err == nil && os.SameFile(fi, pi) {
				return true
			}
		}
	}
	return false
}

// within reports whether path is dir or below it; both are clean and
// absolute.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
