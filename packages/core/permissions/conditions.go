//go:build !wasip1

package permissions

// Compiling conditions (apply time, on the Hub and CLI) is left out of the
// wasip1 build: the Workers planner gets the compiled trees in the bundle
// (decision 0030).

import (
	"fmt"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/predicate"
	"github.com/santokit/santokit/packages/core/schema"
)

// ExprProblem is a problem in the text of one condition or check; Line and
// Column are 1-based within that text (0 when unknown).
type ExprProblem struct {
	Line, Column int
	Message      string
}

// CompileFunc compiles the CEL text of a condition or check against the
// table whose rows it guards (SPEC §5.2). packages/core/condition provides
// it; this package only calls it, so that it links no CEL.
type CompileFunc func(src string, t *schema.Table) (*predicate.Node, []ExprProblem)

// CompileConditions compiles every condition and check of the document
// against the table of its rule and stores the trees in the rules (Cond,
// CheckPred). Problems carry the position in the permissions file. Rules of
// tables that Validate refuses (unknown connection or table) are left to
// it. Problems come in line order.
func (d *Document) CompileConditions(snaps map[string]*schema.Snapshot, compile CompileFunc) []apierr.Problem {
	var out []apierr.Problem
	for t, st := range d.snapshotTables(snaps) {
		for _, op := range Ops() {
			rules := t.Ops[op]
			for ri := range rules {
				r := &rules[ri]
				if r.Condition != "" {
					n, probs := compile(r.Condition, st)
					r.Cond = n
					out = append(out, r.condAt.problems(probs, fmt.Sprintf("%s.%s[%d].condition", tablePath(t.Key), op, ri), r.Line)...)
				}
				if r.Check != "" {
					n, probs := compile(r.Check, st)
					r.CheckPred = n
					out = append(out, r.checkAt.problems(probs, fmt.Sprintf("%s.%s[%d].check", tablePath(t.Key), op, ri), r.Line)...)
				}
			}
		}
	}
	sortProblems(out)
	return out
}

// problems places compile problems in the file: a one-line plain or quoted
// value keeps its column; lines after the first (and block scalars, whose
// text starts on the next line) keep only the line.
func (a exprAt) problems(ps []ExprProblem, path string, fallback int) []apierr.Problem {
	out := make([]apierr.Problem, 0, len(ps))
	for _, p := range ps {
		pr := apierr.Problem{Path: path, Line: a.line, Message: p.Message}
		if a.line < 1 {
			pr.Line = fallback
		}
		if a.path != "" {
			pr.Path = a.path
		}
		switch {
		case a.line < 1:
		case a.block:
			pr.Line = a.line + max(p.Line, 1)
		case p.Line <= 1 && p.Column > 0 && a.col > 0:
			pr.Column = a.col + p.Column - 1
			if a.quoted {
				pr.Column++
			}
		default:
			pr.Line = a.line + max(p.Line, 1) - 1
		}
		out = append(out, pr)
	}
	return out
}
