package authconfig

import (
	"strings"
	"testing"
)

// auth.yaml is read like permissions.yaml (packages/core/yamlsrc): a byte
// that is not UTF-8 is refused at its line, not stored as U+FFFD.
func TestParseRefusesInvalidUTF8(t *testing.T) {
	src := "version: 1\nissuers:\n  - name: dev\n    issuer: http://127.0.0.1:4001\n    audience: \"a\xffb\"\n"
	_, problems := Parse([]byte(src))
	if len(problems) != 1 || problems[0].Line != 5 || !strings.Contains(problems[0].Message, "UTF-8") {
		t.Fatalf("problems %+v", problems)
	}
}
