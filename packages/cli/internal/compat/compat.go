// Package compat decides whether two Santokit builds may work together — stk
// and a Hub, a Hub and a Bridge — from the versions they report (stk
// version, GET /v1/version). The rule is docs/decisions/0033: release
// versions (v1.4.2) agree when their major and minor numbers are equal; a
// development build (dev, dev-<commit>, a Go pseudo-version) cannot be
// placed, so it gives a warning rather than a verdict.
package compat

import (
	"fmt"
	"regexp"
	"strconv"
)

// Verdict is the outcome of Check.
type Verdict string

const (
	// Compatible: same major.minor.
	Compatible Verdict = "compatible"
	// Incompatible: another major or minor; Advice says which side to change.
	Incompatible Verdict = "incompatible"
	// Unknown: at least one side is a development build (or reports a
	// version that is not a release's), so nothing can be promised.
	Unknown Verdict = "unknown"
)

// Result says whether two builds agree, and why.
type Result struct {
	Verdict Verdict
	// Reason is one sentence naming both versions.
	Reason string
	// Advice says what to do when the verdict is not Compatible.
	Advice string
}

// release matches a release version: v1.2.3, 1.2.3, v1.2.3-rc.1, v1.2.3+meta.
var release = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// pseudo matches the suffix of a Go pseudo-version (a build of a commit,
// not of a release): v0.0.0-20261203140000-0123456789ab.
var pseudo = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// Version is a parsed release version.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Parse reads a release version; ok is false for a development build or
// anything else that is not a release's version.
func Parse(s string) (v Version, ok bool) {
	m := release.FindStringSubmatch(s)
	if m == nil || pseudo.MatchString(s) {
		return Version{}, false
	}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, true
}

// Check compares the version of the side the user controls here (mine:
// stk, named myName) with the one it talks to (theirs: the Hub, named
// theirName). Same major.minor is compatible whatever the patch level.
func Check(myName, mine, theirName, theirs string) Result {
	a, okA := Parse(mine)
	b, okB := Parse(theirs)
	names := fmt.Sprintf("%s %s, %s %s", myName, mine, theirName, theirs)
	switch {
	case !okA || !okB:
		dev := myName + " is a development build"
		if okA {
			dev = theirName + " is a development build"
		} else if !okB {
			dev = myName + " and " + theirName + " are development builds"
		}
		return Result{Verdict: Unknown,
			Reason: names + ": " + dev + ", so compatibility cannot be checked",
			Advice: "use release builds of the same major.minor version (vX.Y.*) to have it checked"}
	case a.Major == b.Major && a.Minor == b.Minor:
		return Result{Verdict: Compatible, Reason: names + ": same major.minor version"}
	}
	want := fmt.Sprintf("v%d.%d.*", b.Major, b.Minor)
	older := a.Major < b.Major || (a.Major == b.Major && a.Minor < b.Minor)
	r := Result{Verdict: Incompatible, Reason: names + ": the major.minor versions differ"}
	if older {
		r.Advice = fmt.Sprintf("upgrade %s to %s (the version of %s)", myName, want, theirName)
	} else {
		r.Advice = fmt.Sprintf("use %s %s for this %s, or upgrade %s to v%d.%d.*", myName, want, theirName, theirName, a.Major, a.Minor)
	}
	return r
}
