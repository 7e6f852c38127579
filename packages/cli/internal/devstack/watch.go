package devstack

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// maxWatchedFiles bounds how many files under logics/ a poll reads, so that
// a directory filled by mistake does not make stk dev read it all twice a
// second.
const maxWatchedFiles = 1000

// snapshotFiles is what the project directory holds that stk dev serves:
// relative paths (with slashes) → content. Files that cannot be read are
// absent.
type snapshotFiles map[string][]byte

// scan reads the project's served files: schema.sql, config/*.yaml (and
// .yml) and every file under logics/ (SPEC §14).
func (p *project) scan() snapshotFiles {
	out := snapshotFiles{}
	read := func(rel string) {
		if b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(rel))); err == nil {
			out[rel] = b
		}
	}
	read(SchemaPath)
	if entries, err := os.ReadDir(filepath.Join(p.dir, "config")); err == nil {
		for _, e := range entries {
			if ext := path.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				read("config/" + e.Name())
			}
		}
	}
	n := 0
	root := filepath.Join(p.dir, LogicsDir)
	_ = filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if n++; n > maxWatchedFiles {
			return fs.SkipAll
		}
		if rel, err := filepath.Rel(p.dir, full); err == nil {
			read(filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// changed lists the paths whose content differs between a and b, sorted.
func changed(a, b snapshotFiles) []string {
	var out []string
	for k, v := range b {
		if old, ok := a[k]; !ok || !bytes.Equal(old, v) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// watch polls the project's files and reacts to each change (SPEC §14):
// schema.sql rebuilds the data database, then the permissions are
// snapshotted, applied and released again, as after a change of
// config/permissions.yaml; a change of config/auth.yaml or of logics/ is
// applied and released; other files are reported. A burst of saves
// (an editor writing a file in steps, a git checkout) is taken as one
// change: a change is acted on once two polls in a row see the same
// content. Problems never stop the stack: the last good release (and, for
// schema.sql, the last good database) stays served. It returns when ctx
// ends. last is what setup served: the files as they were when it read
// them.
func (s *stack) watch(ctx context.Context, last snapshotFiles, keyRoles0 []string) {
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	seen := last
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.proj.scan()
		if len(changed(seen, cur)) > 0 {
			seen = cur // still changing: wait for a quiet poll
			continue
		}
		diff := changed(last, cur)
		if len(diff) == 0 {
			continue
		}
		s.react(ctx, diff, cur, keyRoles0)
		if ctx.Err() != nil {
			return
		}
		last = cur
	}
}

// react handles one settled change of the files diff in cur.
func (s *stack) react(ctx context.Context, diff []string, cur snapshotFiles, keyRoles0 []string) {
	var schemaChanged, permsChanged, authChanged, logicsChanged bool
	for _, f := range diff {
		switch {
		case f == SchemaPath:
			schemaChanged = true
		case f == PermissionsPath:
			permsChanged = true
		case f == AuthPath:
			authChanged = true
		case strings.HasPrefix(f, "config/"):
			s.o.Notice(f + " changed: stk dev reads only " + PermissionsPath + " and " + AuthPath + "; ignored")
		case strings.HasPrefix(f, LogicsDir+"/"):
			logicsChanged = true
		}
	}
	rebuilt := ""
	if schemaChanged {
		if s.o.DatabaseURL != "" {
			s.o.Notice(SchemaPath + " changed: it is not used with --db (stk dev serves your database as it is)")
		} else if ddl, ok := cur[SchemaPath]; !ok {
			s.o.Notice(SchemaPath + " is gone: " + StateDirName + "/" + dataDBName + " is kept as it is")
		} else if err := rebuild(ctx, s.st.path(dataDBName), ddl); err != nil {
			s.o.Applied(Apply{File: s.proj.schemaFile(), Err: s.proj.inSchemaFile(err)})
		} else {
			rebuilt = s.st.path(dataDBName)
			s.log.Info("rebuilt", "database", rebuilt, "from", SchemaPath)
		}
	}
	// Every apply stages both files as they are now, so that a change
	// whose apply failed is not lost once another file is fixed (staging an
	// unchanged file reuses its version).
	auth := cur[AuthPath]
	if authChanged && auth == nil {
		s.o.Notice(AuthPath + " is gone: the auth config applied last stays in force")
		authChanged = false
	}
	if !permsChanged && !authChanged && !logicsChanged && rebuilt == "" {
		return
	}
	src, ok := cur[PermissionsPath]
	if !ok {
		_, err := os.ReadFile(s.proj.permissionsPath)
		if err == nil {
			return // it appeared since the poll: the next one applies it
		}
		s.o.Applied(Apply{File: s.proj.permissionsFile(), Rebuilt: rebuilt, Err: unwrapPath(err)})
		return
	}
	file := s.proj.permissionsFile()
	switch {
	case permsChanged || rebuilt != "":
	case authChanged:
		file = s.proj.authFile()
	case logicsChanged:
		file = s.proj.logicsFile()
	}
	res := s.apply(ctx, file, src, auth, logicsOf(cur))
	if ctx.Err() != nil {
		return
	}
	res.Rebuilt = rebuilt
	s.o.Applied(res.Apply)
	if res.Err == nil {
		if extra := missingRoles(keyRoles(src), keyRoles0); len(extra) > 0 {
			s.o.Notice("the dev API key has roles " + strings.Join(keyRoles0, ", ") +
				"; restart stk dev for a key that also has " + strings.Join(extra, ", "))
		}
	}
}

// missingRoles lists the roles of want that have lacks.
func missingRoles(want, have []string) []string {
	var out []string
	for _, r := range want {
		if !slices.Contains(have, r) {
			out = append(out, r)
		}
	}
	return out
}
