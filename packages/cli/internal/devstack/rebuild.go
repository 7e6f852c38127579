package devstack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	sqlite "modernc.org/sqlite"
)

// backupSuffix names the copy of the data database that a rebuild keeps.
const backupSuffix = ".bak"

// rebuild replaces the content of the data database at path with a new
// database built from ddl (SPEC §14: --watch and schema.sql), keeping the
// previous content as path.bak. The new database is built aside first, so
// a ddl that fails (a *SchemaError) leaves path untouched. It is then
// copied into path with SQLite's backup API rather than renamed over it:
// the Bridge and the Hub hold path open, and a rename would leave them on
// the old file (and a WAL file of the old database beside the new one);
// the backup API writes through SQLite's locks, so every open connection
// sees the new schema and rows at once.
func rebuild(ctx context.Context, path string, ddl []byte) error {
	tmp, err := build(ctx, path, ddl)
	if err != nil {
		return err
	}
	defer removeDB(tmp)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Deleted meanwhile: there is nothing to keep or to copy into.
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("create %s: %w", path, unwrapPath(err))
		}
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer conn.Close()
	bak := path + backupSuffix
	removeDB(bak)
	if err := copyDB(conn, bak, false); err != nil {
		return fmt.Errorf("keep %s as %s: %w", filepath.Base(path), filepath.Base(bak), err)
	}
	if err := copyDB(conn, tmp, true); err != nil {
		return fmt.Errorf("replace %s: %w", filepath.Base(path), err)
	}
	return nil
}

// copyDB copies conn's database into the file other (restore false), or
// the file other's database into conn's (restore true), in one step.
func copyDB(conn *sql.Conn, other string, restore bool) error {
	type backuper interface {
		NewBackup(dst string) (*sqlite.Backup, error)
		NewRestore(src string) (*sqlite.Backup, error)
	}
	return conn.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return errors.New("the SQLite driver has no backup API")
		}
		var bk *sqlite.Backup
		var err error
		if restore {
			bk, err = b.NewRestore(other)
		} else {
			bk, err = b.NewBackup(other)
		}
		if err != nil {
			return err
		}
		_, err = bk.Step(-1)
		if ferr := bk.Finish(); err == nil {
			err = ferr
		}
		return err
	})
}
