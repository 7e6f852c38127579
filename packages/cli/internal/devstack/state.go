package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // driver "sqlite", for seeding the data database

	"github.com/santokit/santokit/packages/core/dbtarget"
)

// The files of <dir>/.santokit.
const (
	StateDirName    = ".santokit"
	hubStoreName    = "hub.db"
	masterKeyName   = "master.key"
	bridgeTokenName = "bridge.token"
	dataDBName      = "data.db"
	logFileName     = "dev.log"
)

// state is <dir>/.santokit with its secrets loaded (or generated).
type state struct {
	dir         string
	masterKeys  string
	bridgeToken string
}

func (s *state) path(name string) string { return filepath.Join(s.dir, name) }

// openState creates <dir>/.santokit (0700) and loads the master key ring and
// the bridge token, generating each on first use (files of mode 0600).
func openState(projectDir string) (*state, error) {
	s := &state{dir: filepath.Join(projectDir, StateDirName)}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.dir, unwrapPath(err))
	}
	var err error
	if s.masterKeys, err = secretFile(s.path(masterKeyName), generateKeyRing); err != nil {
		return nil, err
	}
	if s.bridgeToken, err = secretFile(s.path(bridgeTokenName), generateToken); err != nil {
		return nil, err
	}
	return s, nil
}

// generateKeyRing returns a one-key ring in the STK_MASTER_KEYS format, as
// the Hub's secrets.GenerateSpec does: "v1:" + base64 of 32 random bytes.
func generateKeyRing() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return "v1:" + base64.StdEncoding.EncodeToString(key), nil
}

// generateToken returns a bridge token: 32 random bytes in hex.
func generateToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "stkbt_" + hex.EncodeToString(b), nil
}

// secretFile reads the secret kept in path, or generates one with gen and
// writes it there (mode 0600, never overwriting a file that appeared
// meanwhile). A file readable by others is tightened to 0600.
func secretFile(path string, gen func() (string, error)) (string, error) {
	for attempt := 0; ; attempt++ {
		b, err := os.ReadFile(path)
		if err == nil {
			v := strings.TrimSpace(string(b))
			if v == "" {
				return "", fmt.Errorf("%s is empty: remove it to generate a new one", path)
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
				_ = os.Chmod(path, 0o600)
			}
			return v, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", path, unwrapPath(err))
		}
		v, err := gen()
		if err != nil {
			return "", fmt.Errorf("generate %s: %w", filepath.Base(path), err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && attempt == 0 {
			continue // another stk dev wrote it first: use theirs
		}
		if err != nil {
			return "", fmt.Errorf("create %s: %w", path, unwrapPath(err))
		}
		_, werr := f.WriteString(v + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return "", fmt.Errorf("write %s: %w", path, unwrapPath(werr))
		}
		return v, nil
	}
}

// dataDatabase returns the URL of the data database: --db as given (a
// sqlite path made absolute), or .santokit/data.db, which is created on
// first use from the project's schema.sql (the todo example's outside a
// project). seeded reports that it was created now.
func (s *state) dataDatabase(ctx context.Context, dbFlag string, p *project) (dbURL string, seeded bool, err error) {
	if dbFlag != "" {
		u, err := absSQLiteURL(dbFlag)
		if err != nil {
			return "", false, usagef("--db: %v", err)
		}
		return u, false, nil
	}
	path := s.path(dataDBName)
	if _, err := os.Stat(path); err == nil {
		return "sqlite://" + path, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	ddl, err := p.schemaSQL()
	if err != nil {
		return "", false, err
	}
	if err := seed(ctx, path, ddl); err != nil {
		return "", false, p.inSchemaFile(err)
	}
	return "sqlite://" + path, true, nil
}

// seed creates the SQLite database path from ddl. It builds it under a
// temporary name and renames it into place, so that a failing schema.sql
// leaves no half-made database behind.
func seed(ctx context.Context, path string, ddl []byte) error {
	tmp, err := build(ctx, path, ddl)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("create %s: %w", path, unwrapPath(err))
	}
	return nil
}

// build runs ddl in a new SQLite database next to path and returns its
// name. A ddl that fails is a *SchemaError and leaves nothing behind.
func build(ctx context.Context, path string, ddl []byte) (string, error) {
	tmp := path + ".seeding"
	removeDB(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, unwrapPath(err))
	}
	_ = f.Close()
	err = func() error {
		if strings.TrimSpace(string(ddl)) == "" {
			return nil // an empty file is an empty SQLite database
		}
		db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(tmp)+"?_pragma=foreign_keys(1)")
		if err != nil {
			return err
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(ddl)); err != nil {
			_ = tx.Rollback()
			return &SchemaError{File: SchemaPath, Line: errorLine(ctx, ddl, err), Err: err}
		}
		return tx.Commit()
	}()
	if err != nil {
		removeDB(tmp)
		var se *SchemaError
		if errors.As(err, &se) {
			return "", err
		}
		return "", fmt.Errorf("create %s from %s: %w", path, SchemaPath, err)
	}
	return tmp, nil
}

// removeDB removes an SQLite file with its journal files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
}

// SchemaError is a schema.sql that SQLite refused to run; the data
// database is left as it was.
type SchemaError struct {
	// File is schema.sql as the user sees it.
	File string
	// Line is where the failing statement ends (0: unknown).
	Line int
	Err  error
}

// maxLocateBytes bounds the schema.sql that errorLine searches: it runs the
// file's prefixes, which is quadratic in its size.
const maxLocateBytes = 64 << 10

// errorLine finds the line of ddl at which SQLite's error err arises, since
// SQLite's messages carry no position: it runs ever longer prefixes of
// whole lines in a scratch in-memory database, and the first prefix that
// fails with the same message ends on the line of the failing token or
// statement (shorter ones fail as incomplete input, or not at all). 0 when
// not found or ddl is too large to search.
func errorLine(ctx context.Context, ddl []byte, err error) int {
	if len(ddl) > maxLocateBytes {
		return 0
	}
	want := err.Error()
	end := 0
	for line := 1; end < len(ddl); line++ {
		if i := bytes.IndexByte(ddl[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(ddl)
		}
		if ctx.Err() != nil {
			return 0
		}
		if e := execScratch(ctx, ddl[:end]); e != nil && e.Error() == want {
			return line
		}
	}
	return 0
}

// execScratch runs ddl in a new in-memory database.
func execScratch(ctx context.Context, ddl []byte) error {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, string(ddl))
	return err
}

func (e *SchemaError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *SchemaError) Unwrap() error { return e.Err }

// unwrapPath drops the path that *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dbTargets is the connection policy of the stack's Hub and Bridge (SPEC
// §12): STK_ALLOW_LOCAL_SOCKETS and STK_DB_ALLOWED_HOSTS as the environment
// says, SQLite files inside .santokit/ (or, for --db sqlite://…, inside
// that file's directory: the user named it), and never the stack's own
// files there: the Hub's store, the master key, the bridge token, the log,
// the dev issuer's keys (docs/decisions/0011).
func (s *state) dbTargets(getenv func(string) string, dbURL string) (dbtarget.Config, error) {
	c, err := dbtarget.ConfigFromEnv(func(k string) string {
		if k == "STK_SQLITE_DIR" {
			return ""
		}
		return getenv(k)
	})
	if err != nil {
		return c, err
	}
	c.SQLiteDir = s.dir
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok && filepath.Dir(path) != s.dir {
		c.SQLiteDir = filepath.Dir(path)
	}
	for _, name := range []string{hubStoreName, masterKeyName, bridgeTokenName, logFileName, issuerKeysName, issuerURLName} {
		c.Protected = append(c.Protected, s.path(name))
	}
	return c, nil
}
