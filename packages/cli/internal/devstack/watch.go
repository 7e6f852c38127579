package devstack

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"time"
)

// watch polls the permissions file and, when its content changes,
// snapshots, applies and releases it again, reporting each outcome through
// Applied. Problems never stop the stack: the last good release stays
// served. It returns when ctx ends.
func (s *stack) watch(ctx context.Context, last []byte, keyRoles0 []string) {
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	var lastReadErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		src, err := os.ReadFile(s.proj.permissionsPath)
		if err != nil {
			// Report a missing or unreadable file once, not every tick.
			if msg := unwrapPath(err).Error(); msg != lastReadErr {
				lastReadErr = msg
				s.o.Applied(Apply{File: s.proj.permissionsFile(), Err: unwrapPath(err)})
			}
			continue
		}
		lastReadErr = ""
		if bytes.Equal(src, last) {
			continue
		}
		last = src
		res := s.apply(ctx, src)
		if ctx.Err() != nil {
			return
		}
		s.o.Applied(res.Apply)
		if res.Err == nil {
			if extra := missingRoles(keyRoles(src), keyRoles0); len(extra) > 0 {
				s.o.Notice("the dev API key has roles " + strings.Join(keyRoles0, ", ") +
					"; restart stk dev for a key that also has " + strings.Join(extra, ", "))
			}
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
