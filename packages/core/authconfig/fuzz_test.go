package authconfig

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that every problem can be
// located, and that an accepted document holds only acceptable issuers and
// survives the JSON round trip of the release bundle. Seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, problems := Parse(src)
		for _, p := range problems {
			if p.Line < 1 || p.Message == "" {
				t.Fatalf("problem without line or message: %+v", p)
			}
		}
		if (d == nil) == (len(problems) == 0) {
			t.Fatalf("doc %v with %d problems", d, len(problems))
		}
		if d == nil {
			return
		}
		if d.Version != Version || d.Issuers == nil || len(d.Issuers) > MaxIssuers {
			t.Fatalf("accepted %+v", d)
		}
		seen := map[string]bool{}
		for _, is := range d.Issuers {
			if seen[is.Name] || is.Name == "" || CheckURL(is.Issuer, false) != "" ||
				is.JWKSURL != "" && CheckURL(is.JWKSURL, true) != "" {
				t.Fatalf("accepted issuer %+v", is)
			}
			seen[is.Name] = true
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Document
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, d) {
			t.Fatalf("JSON round trip: %+v vs %+v (%v)", back, d, err)
		}
	})
}
