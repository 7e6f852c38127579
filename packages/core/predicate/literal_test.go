package predicate

import (
	"encoding/json"
	"testing"
)

// TestLiteralValidationMatchesEncodingJSON: a literal is accepted or refused,
// with the same message, as when Validate decoded it with json.Unmarshal.
func TestLiteralValidationMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{
		`1`, `-0`, `0.1e-7`, `1e308`, `1e400`, `-1e400`, `"x"`, `"\ud800"`, `true`, `null`, `[1]`, `{"a":1}`,
		``, ` `, `1 2`, `01`, `"x`, `nul`, `tru`, `{`, `[1,]`, `1e`, "\"\x01\"",
	} {
		got := (&Node{Op: Eq, Args: []Node{{Op: Column, Name: "a"}, {Op: Lit, Value: json.RawMessage(lit)}}}).Validate()
		want := refValidateLit(json.RawMessage(lit))
		if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
			t.Errorf("literal %q: %v, with json.Unmarshal: %v", lit, got, want)
		}
	}
}

// refValidateLit is the literal check as it was, on json.Unmarshal.
func refValidateLit(raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return &litError{"literal: " + err.Error()}
	}
	switch v.(type) {
	case nil, bool, string, float64:
		return nil
	}
	return &litError{"a literal is a string, a number, a bool or null"}
}

type litError struct{ s string }

func (e *litError) Error() string { return e.s }
