package compat

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		mine, theirs string
		want         Verdict
		advice       string
	}{
		{"v1.4.2", "v1.4.0", Compatible, ""},
		{"1.4.9", "v1.4.0-rc.1", Compatible, ""},
		{"v1.4.2+meta", "v1.4.2", Compatible, ""},
		{"v1.3.9", "v1.4.0", Incompatible, "upgrade stk to v1.4.*"},
		{"v0.9.0", "v1.0.0", Incompatible, "upgrade stk to v1.0.*"},
		{"v1.5.0", "v1.4.3", Incompatible, "use stk v1.4.* for this Hub, or upgrade Hub to v1.5.*"},
		{"v2.0.0", "v1.9.0", Incompatible, "use stk v1.9.*"},
		{"dev", "v1.4.0", Unknown, "release builds"},
		{"v1.4.0", "dev-0123456789ab", Unknown, ""},
		{"v0.0.0-20261203140000-0123456789ab", "v0.0.0", Unknown, ""},
		{"dev", "dev", Unknown, ""},
		{"", "v1.0.0", Unknown, ""},
		{"v1.4", "v1.4.0", Unknown, ""},
	} {
		r := Check("stk", tc.mine, "Hub", tc.theirs)
		if r.Verdict != tc.want || !strings.Contains(r.Advice, tc.advice) || !strings.Contains(r.Reason, tc.theirs) {
			t.Errorf("Check(%q, %q) = %+v, want %s with advice %q", tc.mine, tc.theirs, r, tc.want, tc.advice)
		}
	}
	if r := Check("stk", "dev", "Hub", "v1.0.0"); !strings.Contains(r.Reason, "stk is a development build") {
		t.Errorf("dev reason: %s", r.Reason)
	}
	if r := Check("stk", "dev", "Hub", "dev-0123"); !strings.Contains(r.Reason, "stk and Hub are development builds") {
		t.Errorf("both dev: %s", r.Reason)
	}
}
