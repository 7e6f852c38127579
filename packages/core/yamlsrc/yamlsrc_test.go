package yamlsrc

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	if f, pr := Parse([]byte("a: 1\nb: [x, y]\n")); pr != nil || f == nil {
		t.Fatalf("valid YAML: %v", pr)
	}
	for _, tc := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{"a: 1\nb: \"x\xffy\"\n", 2, 6, "invalid UTF-8 (byte 0xff)"},
		{"a: [1, 2\nb: 3\n", 1, 0, "invalid YAML"},
		{"a: 1\na: 2\n", 2, 1, "invalid YAML"},
	} {
		_, pr := Parse([]byte(tc.src))
		if pr == nil || pr.Line < tc.line || !strings.Contains(pr.Message, tc.msg) || (tc.col > 0 && pr.Column != tc.col) {
			t.Errorf("%q: %+v", tc.src, pr)
		}
	}
}
