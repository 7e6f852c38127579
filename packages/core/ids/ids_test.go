package ids

import "testing"

func TestNew(t *testing.T) {
	a, b := New(Snapshot), New(Snapshot)
	if a == b || !Valid(Snapshot, a) || Valid(Release, a) || Valid(Snapshot, "snap_nope") {
		t.Fatalf("%s %s", a, b)
	}
	if len(a) != len(Snapshot)+26 {
		t.Fatalf("unexpected length: %s", a)
	}
}
