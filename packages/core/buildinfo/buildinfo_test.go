package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
	}}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
		str                   string
	}{
		{"stamped wins", "v1.2.3", "fedcba9876543210", "2026-12-03T14:00:00Z", vcs,
			Info{"v1.2.3", "fedcba9876543210", "2026-12-03T14:00:00Z"}, "v1.2.3 (commit fedcba987654, 2026-12-03T14:00:00Z)"},
		{"source build in git", "", "", "", vcs,
			Info{"dev-0123456789ab", "0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z"}, "dev-0123456789ab (commit 0123456789ab, 2026-12-01T10:00:00Z)"},
		{"go install of a tag", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}},
			Info{Version: "v0.3.0"}, "v0.3.0"},
		{"nothing known", "", "", "", nil, Info{Version: "dev"}, "dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.version, tc.commit, tc.date, tc.bi)
			if got != tc.want {
				t.Fatalf("resolve = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Fatalf("String = %q, want %q", s, tc.str)
			}
		})
	}
}
