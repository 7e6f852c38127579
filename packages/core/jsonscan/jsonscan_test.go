package jsonscan

import "testing"

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want string // what follows the value
	}{
		{`"a\"b",1`, 0, `,1`},
		{`{"a":[1,{"b":"}"}]} x`, 0, ` x`},
		{`[1,[2,[3]]],`, 0, `,`},
		{`123}`, 0, `}`},
		{`true `, 0, ` `},
		{`null`, 0, ``},
	} {
		if got := tc.in[SkipValue([]byte(tc.in), tc.at):]; got != tc.want {
			t.Errorf("SkipValue(%q) leaves %q, want %q", tc.in, got, tc.want)
		}
	}
	if i := SkipWS([]byte(" \t\n\rx"), 0); i != 4 {
		t.Errorf("SkipWS = %d", i)
	}
	if i := SkipValue([]byte(`x`), 1); i != 1 {
		t.Errorf("SkipValue past the end = %d", i)
	}
}
