package apierr

import "testing"

func TestSummary(t *testing.T) {
	yamlErr := Problem{Line: 3, Column: 5, Message: "invalid YAML: mapping value is not allowed in this context"}
	unknown := Problem{Path: "tables.nosuch", Line: 4, Column: 3, Message: "unknown table"}
	for _, c := range []struct {
		problems []Problem
		want     string
	}{
		{[]Problem{yamlErr}, "permissions: line 3, column 5: invalid YAML: mapping value is not allowed in this context"},
		{[]Problem{unknown, yamlErr}, "permissions: line 4, column 3: tables.nosuch: unknown table (and 1 more problem)"},
		{[]Problem{{Path: "version", Line: 1, Message: "want 1"}, unknown, unknown}, "permissions: line 1: version: want 1 (and 2 more problems)"},
		{[]Problem{{Message: "empty"}}, "permissions: empty"},
		{nil, "permissions do not validate"},
	} {
		if got := Summary("permissions", c.problems); got != c.want {
			t.Errorf("Summary(%v) = %q, want %q", c.problems, got, c.want)
		}
	}
}
