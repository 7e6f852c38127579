package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// code returns the apierr code of err ("" for nil); a non-apierr error
// fails the test.
func code(t testing.TB, err error) apierr.Code {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
	}
	return ae.Code
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Target
		msg  string // substring of the 400 message
	}{
		{path: "db/main/users/select", want: Target{Connection: "main", Table: "users", Op: Select}},
		{path: "db/main/users/insert", want: Target{Connection: "main", Table: "users", Op: Insert}},
		{path: "db/main/users/update", want: Target{Connection: "main", Table: "users", Op: Update}},
		{path: "db/main/users/delete", want: Target{Connection: "main", Table: "users", Op: Delete}},
		{path: "db/analytics-2/Weird Table.x/select", want: Target{Connection: "analytics-2", Table: "Weird Table.x", Op: Select}},
		{path: `db/main/we"ird/select`, want: Target{Connection: "main", Table: `we"ird`, Op: Select}},
		{path: "logics/report", want: Target{Logic: "report"}},
		{path: "logics/reports/monthly/v2", want: Target{Logic: "reports/monthly/v2"}},

		{path: "", msg: "path is required"},
		{path: "db", msg: "must be db/{connection}/{table}/{op} or logics/{name}"},
		{path: "/db/main/users/select", msg: "must be db/"},
		{path: "db/main/users", msg: "must be db/{connection}/{table}/{op}"},
		{path: "db/main/users/select/x", msg: "too many segments"},
		{path: "db/main/users/select/", msg: "too many segments"},
		{path: "db//users/select", msg: "empty connection"},
		{path: "db/Main/users/select", msg: `connection "Main" in path is not a valid name`},
		{path: "db/1main/users/select", msg: "not a valid name"},
		{path: "db/main_x/users/select", msg: "not a valid name"},
		{path: "db/main//select", msg: "empty table"},
		{path: "db/main/users/truncate", msg: `unknown operation "truncate"`},
		{path: "db/main/users/SELECT", msg: "unknown operation"},
		{path: "db/main/users/", msg: "unknown operation"},
		{path: "logics/", msg: "empty logic name"},
		{path: "logics//x", msg: "empty segment"},
		{path: "logics/x/", msg: "empty segment"},
		{path: "logics/a//b", msg: "empty segment"},
		{path: "rest/main/users", msg: "must be db/"},
		{path: "db/main/users/select?x=1", msg: "unknown operation"},
		{path: "db/" + strings.Repeat("a", 2000), msg: "longer than 1024"},
	} {
		got, err := ParsePath(tc.path)
		if tc.msg == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.want)
			}
			continue
		}
		if code(t, err) != apierr.BadRequest || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParsePath(%q) error = %v; want 400 containing %q", tc.path, err, tc.msg)
			continue
		}
		var ae *apierr.Error
		errors.As(err, &ae)
		if probs, _ := ae.Details["problems"].([]apierr.Problem); len(probs) != 1 || probs[0].Path != "path" {
			t.Errorf("ParsePath(%q) problems = %v; want one at path", tc.path, ae.Details)
		}
	}
}
