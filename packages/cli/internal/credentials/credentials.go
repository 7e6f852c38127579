// Package credentials is the CLI's store of operator logins (SPEC §11): one
// JSON file, $XDG_CONFIG_HOME/santokit/credentials.json (or
// $HOME/.config/santokit/credentials.json), holding one entry per --profile
// with the Hub URL, the email and the access and refresh tokens. The file is
// private (0600 in a 0700 directory) and replaced atomically (temp file and
// rename), and every read-modify-write holds an exclusive lock on a lock file
// next to it, so that concurrent stk processes neither lose each other's
// updates nor present a rotated refresh token twice (SPEC §7.1).
package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the name of the credentials file in its directory.
const FileName = "credentials.json"

// formatVersion is the version of the file format written.
const formatVersion = 1

// lockTimeout bounds how long Update waits for another process's lock: a
// holder refreshing a token may take up to hubclient.RefreshTimeout (20 s)
// plus the file's write, so a waiter outlasts it.
const lockTimeout = 45 * time.Second

// Entry is the login of one profile.
type Entry struct {
	// Hub is the URL of the Hub the tokens belong to; they are only ever
	// sent to it.
	Hub          string `json:"hub"`
	Email        string `json:"email,omitempty"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken,omitempty"`
	// AccessExpiresAt is when the access token expires (zero: unknown).
	AccessExpiresAt time.Time `json:"accessExpiresAt,omitzero"`
}

// File is the content of the credentials file.
type File struct {
	Version  int              `json:"version"`
	Profiles map[string]Entry `json:"profiles"`
}

// Store is the credentials file at one path. It holds no state: every call
// reads the file, so several Stores (or processes) may share a path.
type Store struct {
	path string
}

// DefaultPath is where credentials live for the environment getenv reads:
// $XDG_CONFIG_HOME/santokit/credentials.json, else
// $HOME/.config/santokit/credentials.json. It fails when neither is set.
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "santokit", FileName), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "santokit", FileName), nil
	}
	return "", errors.New("cannot locate the credentials file: neither XDG_CONFIG_HOME nor HOME is set")
}

// New returns the store of the file at path.
func New(path string) *Store { return &Store{path: path} }

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// CorruptError means the file exists but cannot be used. It never quotes
// the file's content, which holds tokens.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("credentials file %s is corrupted (%s): remove it and run stk login again", e.Path, e.Reason)
}

// Load reads the whole file; a missing file is an empty one.
func (s *Store) Load() (File, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return File{Version: formatVersion, Profiles: map[string]Entry{}}, nil
	}
	if err != nil {
		return File{}, fmt.Errorf("read credentials file: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		var se *json.SyntaxError
		reason := "not valid JSON"
		if errors.As(err, &se) {
			reason = fmt.Sprintf("not valid JSON at byte %d", se.Offset)
		} else if errors.As(err, new(*json.UnmarshalTypeError)) {
			reason = "unexpected structure"
		}
		return File{}, &CorruptError{Path: s.path, Reason: reason}
	}
	switch {
	case f.Version == 0:
		return File{}, &CorruptError{Path: s.path, Reason: "no version"}
	case f.Version > formatVersion:
		return File{}, fmt.Errorf("credentials file %s has format version %d, written by a newer stk: upgrade stk", s.path, f.Version)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Entry{}
	}
	return f, nil
}

// Get returns the entry of profile; ok is false when there is none.
func (s *Store) Get(profile string) (e Entry, ok bool, err error) {
	f, err := s.Load()
	if err != nil {
		return Entry{}, false, err
	}
	e, ok = f.Profiles[profile]
	return e, ok, nil
}

// Put stores the entry of profile, keeping the other profiles.
func (s *Store) Put(ctx context.Context, profile string, e Entry) error {
	return s.Update(ctx, func(f *File) (bool, error) {
		f.Profiles[profile] = e
		return true, nil
	})
}

// Delete removes the entry of profile; removed is false when there was none.
func (s *Store) Delete(ctx context.Context, profile string) (removed bool, err error) {
	err = s.Update(ctx, func(f *File) (bool, error) {
		_, removed = f.Profiles[profile]
		delete(f.Profiles, profile)
		return removed, nil
	})
	return removed, err
}

// Update runs fn on the current content with the file's lock held, and
// writes the file when fn reports a change. A corrupted file is not
// overwritten: fn is not called and the CorruptError is returned.
func (s *Store) Update(ctx context.Context, fn func(f *File) (changed bool, err error)) error {
	unlock, err := s.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := s.Load()
	if err != nil {
		return err
	}
	changed, err := fn(&f)
	if err != nil || !changed {
		return err
	}
	f.Version = formatVersion
	return s.write(f)
}

// Lock takes the exclusive lock of the file (a lock file next to it),
// waiting for another holder until ctx ends or lockTimeout passes. The
// directory is created first when missing.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	if err := s.mkdir(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	unlock, err = lockFile(ctx, s.path+".lock")
	if err != nil {
		return nil, fmt.Errorf("lock credentials file: %w", err)
	}
	return unlock, nil
}

// mkdir creates the file's directory private to the user. A directory of
// ours (santokit) that exists with wider permissions is narrowed.
func (s *Store) mkdir() error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create credentials directory: %w", err)
	}
	if filepath.Base(dir) == "santokit" {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(dir, 0o700)
		}
	}
	return nil
}

// write replaces the file atomically: a private temp file in the same
// directory, synced, then renamed over the old one.
func (s *Store) write(f File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("write credentials file: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write credentials file: %w", err)
	}
	// CreateTemp makes 0600 files already; say so explicitly for umasks and
	// platforms where it might not.
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("write credentials file: %w", err)
	}
	if err := os.Rename(name, s.path); err != nil {
		os.Remove(name)
		return fmt.Errorf("write credentials file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// NormalizeHub is the form in which Hub URLs are stored and compared.
func NormalizeHub(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }
