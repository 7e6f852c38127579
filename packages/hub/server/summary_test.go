package server

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// A permissions apply that fails says what is wrong in its message: a YAML
// syntax error with the parser's line, column and message, a document that
// does not validate with its first problem and how many more (#11 item 9).
func TestPermissionsFailureSummary(t *testing.T) {
	h := startHub(t, "sqlite")
	bootstrap(t, h)
	for _, c := range []struct{ yaml, want string }{
		{"version: 1\ntables:\n  _default:\n    select: [reader\n", `^permissions: line 4, column \d+: invalid YAML: .*\]`},
		{"version: 1\ntables:\n  nope:\n    select: [reader]\n  ghost:\n    select: [reader]\n", `^permissions: line 3(, column \d+)?: tables\.nope: unknown table "nope".* \(and 1 more problem\)$`},
	} {
		r := h.apply("dev", c.yaml)
		h.expect(r, 400, apierr.SchemaValidationFailed, nil)
		var body apierr.Body
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(c.want).MatchString(body.Error.Message) {
			t.Errorf("%q: message %q, want %s", c.yaml, body.Error.Message, c.want)
		}
	}
}
