package textf

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

type nilStringer struct{ name string }

func (n *nilStringer) String() string { return n.name }

type stringer struct{}

func (stringer) String() string { return "str\"inger" }

// TestSameAsFmt: for the verbs and types textf supports it writes what fmt
// writes, and what it refuses it marks the way fmt marks a mistake.
func TestSameAsFmt(t *testing.T) {
	for _, tc := range []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"100%% sure", nil},
		{"%s and %q", []any{"a\tb", "é\x00\"\\ \u2028"}},
		{"%q", []any{"\xff invalid"}},
		{"%v %v %v", []any{"s", true, -7}},
		{"%d %d %d %d %d %d %d %d %d %d", []any{1, int8(-2), int16(3), int32(-4), int64(1 << 62), uint(6), uint8(7), uint16(8), uint32(9), uint64(1<<64 - 1)}},
		{"%s: %q", []any{io.EOF, io.EOF}},
		{"%s %q %v", []any{stringer{}, stringer{}, stringer{}}},
		{"%s", []any{time.Second}},
		{"%s", []any{[]byte("bytes")}},
		{"%d", []any{"x"}},
		{"%s", []any{3}},
		{"%q", []any{true}},
		{"%s %s", []any{"one"}},
		{"%s", []any{nil}},
		{"%v", []any{nil}},
		{"%s %v", []any{(*nilStringer)(nil), (*nilStringer)(nil)}},
		{"end %", nil},
	} {
		want := fmt.Sprintf(tc.format, tc.args...)
		if got := Sprintf(tc.format, tc.args...); got != want {
			t.Errorf("Sprintf(%q, %v) = %q, fmt says %q", tc.format, tc.args, got, want)
		}
	}
}

func TestErrorf(t *testing.T) {
	err := Errorf("reading %q: %w", "f", io.EOF)
	if err.Error() != `reading "f": EOF` || !errors.Is(err, io.EOF) {
		t.Errorf("Errorf with %%w = %q, Is(EOF) %v", err, errors.Is(err, io.EOF))
	}
	if err := Errorf("no %s here", "wrap"); errors.Unwrap(err) != nil || err.Error() != "no wrap here" {
		t.Errorf("Errorf without %%w = %q, unwraps to %v", err, errors.Unwrap(err))
	}
}

// TestMistakes: what fmt would print through reflection, textf marks.
func TestMistakes(t *testing.T) {
	for _, tc := range []struct {
		format string
		args   []any
		want   string
	}{
		{"%s %v", []any{struct{}{}, 1.5}, "%!s(unsupported) %!v(unsupported)"},
		{"%s", []any{"a", 2, 1.5}, "a%!(EXTRA 2, %!v(unsupported))"},
		{"%x", []any{"a"}, "%!x(string=a)"},
	} {
		if got := Sprintf(tc.format, tc.args...); got != tc.want {
			t.Errorf("Sprintf(%q, %v) = %q, want %q", tc.format, tc.args, got, tc.want)
		}
	}
}
