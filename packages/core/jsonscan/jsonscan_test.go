package jsonscan

import (
	"errors"
	"testing"
)

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

func TestMembers(t *testing.T) {
	b := []byte(`x{ "a" : 1 , "b\"c":{"d":[1,"}"]},"e":"f" } y`)
	var got []string
	end, err := Members(b, 1, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	})
	want := []string{`a=1`, `b\"c={"d":[1,"}"]}`, `e="f"`}
	if err != nil || len(got) != len(want) || string(b[end:]) != " y" {
		t.Fatalf("Members: %q, rest %q, %v", got, b[end:], err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %q, want %q", i, got[i], want[i])
		}
	}
	if end, err := Members([]byte(`{ }!`), 0, func(k, v []byte) error { t.Fatal("called on {}"); return nil }); err != nil || end != 3 {
		t.Errorf("empty object: end %d, %v", end, err)
	}
	stop := errors.New("stop")
	n := 0
	if _, err := Members([]byte(`{"a":1,"b":2}`), 0, func(k, v []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("error from fn: %v after %d calls, want stop after 1", err, n)
	}
}
