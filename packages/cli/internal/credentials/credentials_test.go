package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testStore(t *testing.T) *Store {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "cfg", "santokit", FileName))
}

func TestDefaultPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/santokit/credentials.json"},
		{map[string]string{"HOME": "/h"}, "/h/.config/santokit/credentials.json"},
		// A relative XDG_CONFIG_HOME is invalid per the XDG spec: ignored.
		{map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"}, "/h/.config/santokit/credentials.json"},
	}
	for _, tc := range cases {
		got, err := DefaultPath(env(tc.env))
		if err != nil || got != tc.want {
			t.Errorf("DefaultPath(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := DefaultPath(env(nil)); err == nil {
		t.Error("no HOME and no XDG_CONFIG_HOME: want an error")
	}
}

func TestModesAndRoundTrip(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	if _, ok, err := s.Get("default"); ok || err != nil {
		t.Fatalf("missing file: ok %v err %v", ok, err)
	}
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := Entry{Hub: "https://hub", Email: "a@b.c", AccessToken: "at", RefreshToken: "rt", AccessExpiresAt: exp}
	if err := s.Put(ctx, "default", e); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("file mode %o, want 600", m)
	}
	di, err := os.Stat(filepath.Dir(s.Path()))
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("directory mode %o, want 700", m)
	}
	got, ok, err := s.Get("default")
	if err != nil || !ok || got != e {
		t.Fatalf("Get = %+v %v %v, want %+v", got, ok, err, e)
	}
	// The format: documented field names.
	var raw map[string]any
	b, _ := os.ReadFile(s.Path())
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	p := raw["profiles"].(map[string]any)["default"].(map[string]any)
	for _, k := range []string{"hub", "email", "accessToken", "refreshToken", "accessExpiresAt"} {
		if _, ok := p[k]; !ok {
			t.Errorf("entry lacks %q: %s", k, b)
		}
	}
	if raw["version"] != float64(1) {
		t.Errorf("version %v", raw["version"])
	}
}

// A wider directory of ours is narrowed; a file left at 0644 by hand is
// written back as 0600.
func TestModesTightened(t *testing.T) {
	s := testStore(t)
	dir := filepath.Dir(s.Path())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(), []byte(`{"version":1,"profiles":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "p", Entry{Hub: "h", AccessToken: "a"}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(s.Path())
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("file %o dir %o", fi.Mode().Perm(), di.Mode().Perm())
	}
}

func TestProfilesKeptApart(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	a := Entry{Hub: "https://a", AccessToken: "ta", RefreshToken: "ra"}
	b := Entry{Hub: "https://b", AccessToken: "tb", RefreshToken: "rb"}
	if err := s.Put(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b", b); err != nil {
		t.Fatal(err)
	}
	a.AccessToken = "ta2"
	if err := s.Put(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get("b"); got != b {
		t.Errorf("profile b changed: %+v", got)
	}
	if got, _, _ := s.Get("a"); got != a {
		t.Errorf("profile a = %+v", got)
	}
	removed, err := s.Delete(ctx, "a")
	if err != nil || !removed {
		t.Fatalf("Delete = %v %v", removed, err)
	}
	if _, ok, _ := s.Get("a"); ok {
		t.Error("profile a still there")
	}
	if got, ok, _ := s.Get("b"); !ok || got != b {
		t.Errorf("profile b after deleting a: %+v %v", got, ok)
	}
	if removed, err := s.Delete(ctx, "a"); err != nil || removed {
		t.Errorf("second Delete = %v %v", removed, err)
	}
}

// Concurrent writers of different profiles lose nothing (the lock), and a
// reader never sees a half-written file (the rename).
func TestConcurrentUpdatesAtomic(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "seed", Entry{Hub: "h", AccessToken: strings.Repeat("x", 64<<10)}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := New(s.Path()).Load(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	const n = 8
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := string(rune('a' + i))
			for j := range 3 {
				e := Entry{Hub: "h", AccessToken: strings.Repeat(p, 10<<10+j)}
				if err := New(s.Path()).Put(ctx, p, e); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatalf("a reader saw a broken file: %v", err)
	}
	f, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Profiles) != n+1 {
		t.Errorf("%d profiles, want %d", len(f.Profiles), n+1)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(s.Path()), ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

func TestCorruptedFile(t *testing.T) {
	for name, content := range map[string]string{
		"not json":   `{"version":1,"profiles":{"default":{"accessToken":"secret-at`,
		"wrong type": `{"version":1,"profiles":["secret-at"]}`,
		"no version": `{"profiles":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := testStore(t)
			if err := os.MkdirAll(filepath.Dir(s.Path()), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.Path(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := s.Get("default")
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Get error %v, want a CorruptError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, s.Path()) || !strings.Contains(msg, "corrupted") || !strings.Contains(msg, "stk login") {
				t.Errorf("message %q", msg)
			}
			if strings.Contains(msg, "secret-at") {
				t.Errorf("message quotes the file: %q", msg)
			}
			// A corrupted file is not overwritten by an update.
			if err := s.Put(context.Background(), "other", Entry{Hub: "h"}); !errors.As(err, &ce) {
				t.Errorf("Put on a corrupted file: %v", err)
			}
			if b, _ := os.ReadFile(s.Path()); string(b) != content {
				t.Errorf("file rewritten: %s", b)
			}
		})
	}
	s := testStore(t)
	_ = os.MkdirAll(filepath.Dir(s.Path()), 0o700)
	_ = os.WriteFile(s.Path(), []byte(`{"version":9,"profiles":{}}`), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "newer stk") {
		t.Errorf("newer version: %v", err)
	}
}

// The lock excludes other holders until released, and a waiter gives up
// when its context ends.
func TestLock(t *testing.T) {
	s := testStore(t)
	unlock, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := New(s.Path()).Lock(ctx); err == nil {
		t.Fatal("second lock taken while the first is held")
	}
	got := make(chan error, 1)
	go func() {
		u, err := New(s.Path()).Lock(context.Background())
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never got the lock")
	}
}
