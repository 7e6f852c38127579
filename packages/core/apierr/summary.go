package apierr

import "strconv"

// Summary is the one-line message of a list of validation problems: what
// they concern, the first problem with its location and how many more there
// are, e.g. "permissions: line 3, column 5: invalid YAML: … (and 2 more
// problems)". The message alone then says what is wrong (SPEC §3: it names
// the thing), where a fixed "does not validate" made users dig in details.
func Summary(subject string, problems []Problem) string {
	if len(problems) == 0 {
		return subject + " do not validate"
	}
	p := problems[0]
	var loc string
	switch {
	case p.Line > 0 && p.Column > 0:
		loc = "line " + strconv.Itoa(p.Line) + ", column " + strconv.Itoa(p.Column) + ": "
	case p.Line > 0:
		loc = "line " + strconv.Itoa(p.Line) + ": "
	}
	msg := subject + ": " + loc
	if p.Path != "" {
		msg += p.Path + ": "
	}
	msg += p.Message
	switch n := len(problems) - 1; n {
	case 0:
	case 1:
		msg += " (and 1 more problem)"
	default:
		msg += " (and " + strconv.Itoa(n) + " more problems)"
	}
	return msg
}
