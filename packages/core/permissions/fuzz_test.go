package permissions

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks that Parse never panics, that every problem can be
// located, and that a document without problems survives the JSON round
// trip of the release bundle and can be evaluated. Seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	snaps := testSnaps()
	f.Fuzz(func(t *testing.T, src []byte) {
		d, problems := Parse(src)
		for _, p := range problems {
			if p.Line < 1 && p.Path == "" {
				t.Fatalf("problem without line or path: %+v", p)
			}
			if p.Message == "" {
				t.Fatalf("problem without message: %+v", p)
			}
		}
		if d == nil {
			if len(problems) == 0 {
				t.Fatal("nil document without problems")
			}
			return
		}
		for _, p := range d.Validate(snaps) {
			if p.Line < 1 && p.Path == "" {
				t.Fatalf("validation problem without line or path: %+v", p)
			}
		}
		Exposes(d, snaps)
		IndexWarnings(d, snaps)
		if len(problems) > 0 {
			return
		}
		if d.Version != Version {
			t.Fatalf("valid document with version %d", d.Version)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		before, after := Exposes(d, snaps), Exposes(&back, snaps)
		if !equalExposures(before, after) {
			t.Fatalf("exposures changed over JSON: %v vs %v", before, after)
		}
		for _, tb := range d.Tables {
			for _, rules := range tb.Ops {
				for _, r := range rules {
					if len(r.Roles) == 0 || r.Condition != "" || r.Check != "" {
						t.Fatalf("valid document with rule %+v", r)
					}
				}
			}
		}
	})
}

func equalExposures(a, b []Exposure) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}
