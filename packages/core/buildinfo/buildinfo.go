// Package buildinfo says which build of Santokit is running: the version,
// commit and build date that `make release` stamps into stk, stk-hub and
// stk-bridge with the linker (-X, see tools/release), falling back to what
// the Go toolchain records for a source build (the module version, or the VCS
// revision and commit time). `stk version`, `stk-hub version`, the Hub's and
// the Bridge's GET /v1/version and the servers' start-up logs all read it, so
// a released binary and its archive name always agree.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Set at link time by tools/release with
// -ldflags "-X github.com/santokit/santokit/packages/core/buildinfo.version=v1.2.3 …".
// They are written only by the linker and never at run time.
var (
	version string
	commit  string
	date    string
)

// Info identifies a build. It is also the body of GET /v1/version on the Hub
// and the Bridge.
type Info struct {
	// Version is a release tag (v1.2.3), the module version of a
	// `go install …@v1.2.3`, dev-<12 hex> for a source build in a git
	// checkout, or "dev".
	Version string `json:"version"`
	// Commit is the full git commit the build came from, when known.
	Commit string `json:"commit,omitempty"`
	// Date is the commit's time in RFC 3339 (UTC): a release build takes it
	// from the commit (or SOURCE_DATE_EPOCH), never from the clock, so
	// rebuilding a tag gives the same bytes.
	Date string `json:"date,omitempty"`
}

// Read returns this program's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// resolve prefers the linker-stamped values and fills what is missing from
// the toolchain's build information (nil when the binary has none).
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	in := Info{Version: version, Commit: commit, Date: date}
	if bi != nil {
		var rev, when string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			}
		}
		if in.Version == "" {
			if v := bi.Main.Version; v != "" && v != "(devel)" {
				in.Version = v
			} else if len(rev) >= 12 {
				in.Version = "dev-" + rev[:12]
			}
		}
		if in.Commit == "" {
			in.Commit = rev
		}
		if in.Date == "" {
			in.Date = when
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	return in
}

// String is the one-line form printed by the `version` commands:
// "v1.2.3 (commit 0123456789ab, 2026-12-03T14:00:00Z)".
func (in Info) String() string {
	s := in.Version
	var extra []string
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		extra = append(extra, "commit "+c)
	}
	if in.Date != "" {
		extra = append(extra, in.Date)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}
