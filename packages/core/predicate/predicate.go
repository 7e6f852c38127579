// Package predicate is the compiled form of a permission condition or check
// (SPEC §5.2): a small tree of comparisons between the row's columns
// (resource.<column>), the caller (request.auth.sub, .roles, .claims.<name>)
// and literals, joined by and/or/not. The Hub compiles the CEL text of
// permissions.yaml into it at apply time (packages/core/condition, which
// links cel-go) and freezes it into the release; the Bridge's planner
// (packages/core/plan) evaluates the request.* parts per call and renders the
// resource.* parts as SQL. This package holds only the model, so that the
// planner stays free of cel-go and I/O (ARCHITECTURE §1).
package predicate

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/textf"
)

// Op is what a Node is: a connective, a comparison, or an operand.
type Op string

// Connectives: And and Or take two or more Args, Not one.
const (
	And Op = "and"
	Or  Op = "or"
	Not Op = "not"
)

// Comparisons take two Args, both operands. In takes an element and a list
// operand (a List literal, Roles, or a Claim holding a list).
const (
	Eq Op = "=="
	Ne Op = "!="
	Lt Op = "<"
	Le Op = "<="
	Gt Op = ">"
	Ge Op = ">="
	In Op = "in"
)

// Operands.
const (
	// Column is resource.<Name>: a column of the rule's table.
	Column Op = "column"
	// Sub is request.auth.sub (a string; absent for API keys).
	Sub Op = "sub"
	// Roles is request.auth.roles (a list of strings).
	Roles Op = "roles"
	// Claim is request.auth.claims.<Name> (any JSON value; absent when the
	// token has no such claim, and for API keys).
	Claim Op = "claim"
	// Lit is a literal: Value holds its JSON text (a string, a number, true,
	// false or null) and Int tells an integer literal from a double.
	Lit Op = "lit"
	// List is a list literal; Args are its Lit elements.
	List Op = "list"
)

// Node is one node of a predicate tree. Its JSON form is part of the
// release bundle, so field names are stable.
type Node struct {
	Op   Op     `json:"op"`
	Args []Node `json:"args,omitempty"`
	// Name is the column (Column) or the claim (Claim).
	Name string `json:"name,omitempty"`
	// Value is a Lit's JSON text.
	Value json.RawMessage `json:"value,omitempty"`
	// Int marks a Lit written as an integer (CEL's int, not double).
	Int bool `json:"int,omitempty"`
}

// IsComparison reports whether op compares two operands.
func (op Op) IsComparison() bool {
	switch op {
	case Eq, Ne, Lt, Le, Gt, Ge, In:
		return true
	}
	return false
}

// IsOperand reports whether op is a leaf value.
func (op Op) IsOperand() bool {
	switch op {
	case Column, Sub, Roles, Claim, Lit, List:
		return true
	}
	return false
}

// Columns lists the columns a tree reads, each once, in first-use order.
func (n *Node) Columns() []string {
	var out []string
	n.walk(func(m *Node) {
		if m.Op == Column {
			for _, c := range out {
				if c == m.Name {
					return
				}
			}
			out = append(out, m.Name)
		}
	})
	return out
}

func (n *Node) walk(f func(*Node)) {
	f(n)
	for i := range n.Args {
		n.Args[i].walk(f)
	}
}

// Validate checks a tree's shape (arity, operand kinds), so that a consumer
// can rely on it; it does not look at a schema.
func (n *Node) Validate() error {
	switch {
	case n.Op == And || n.Op == Or:
		if len(n.Args) < 2 {
			return textf.Errorf("%s needs two or more operands", string(n.Op))
		}
		for i := range n.Args {
			if err := n.Args[i].validateBool(); err != nil {
				return err
			}
		}
		return nil
	case n.Op == Not:
		if len(n.Args) != 1 {
			return textf.Errorf("not takes one operand")
		}
		return n.Args[0].validateBool()
	case n.Op.IsComparison():
		if len(n.Args) != 2 || !n.Args[0].Op.IsOperand() || !n.Args[1].Op.IsOperand() {
			return textf.Errorf("%s compares two operands", string(n.Op))
		}
		for i := range n.Args {
			if err := n.Args[i].validateOperand(); err != nil {
				return err
			}
		}
		if n.Op == In && n.Args[1].Op != List && n.Args[1].Op != Roles && n.Args[1].Op != Claim {
			return textf.Errorf("in needs a list on its right")
		}
		return nil
	}
	return textf.Errorf("%q is not a condition", string(n.Op))
}

func (n *Node) validateBool() error { return n.Validate() }

func (n *Node) validateOperand() error {
	switch n.Op {
	case Column, Claim:
		if n.Name == "" {
			return textf.Errorf("%s needs a name", string(n.Op))
		}
	case Lit:
		v, err := decodeLiteral(n.Value)
		if err != nil {
			return textf.Errorf("literal: %w", err)
		}
		switch v.(type) {
		case nil, bool, string, json.Number:
		default:
			return textf.Errorf("a literal is a string, a number, a bool or null")
		}
	case List:
		for i := range n.Args {
			if n.Args[i].Op != Lit {
				return textf.Errorf("a list literal holds literals only")
			}
			if err := n.Args[i].validateOperand(); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeLiteral decodes a literal's JSON text as json.Unmarshal into an
// `any` did (the planner is built without reflection, SPEC §16): a number
// must fit a float64, with encoding/json's message when it does not.
func decodeLiteral(raw []byte) (any, error) {
	v, err := jsonscan.Decode(raw)
	if err != nil {
		return nil, err
	}
	if n, ok := v.(json.Number); ok {
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return nil, errors.New("json: cannot unmarshal number " + string(n) + " into Go value of type float64")
		}
	}
	return v, nil
}
