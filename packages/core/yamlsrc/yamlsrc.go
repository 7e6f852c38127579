// Package yamlsrc parses the YAML that operators write — permissions.yaml,
// auth.yaml, a logic file's front matter — the one way: the text must be
// UTF-8 (the parser would read a bad byte as U+FFFD, so the stored document
// would differ from the file sent, which the JSON APIs refuse too), a panic
// in the third-party parser is a syntax problem rather than a crash of the
// Hub, and a syntax error becomes a §3 problem at its token.
package yamlsrc

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/santokit/santokit/packages/core/apierr"
)

// Parse parses src, or returns the one problem that stops it, with the
// line and column of src (1-based).
func Parse(src []byte) (*ast.File, *apierr.Problem) {
	if pr, ok := invalidUTF8(src); ok {
		return nil, &pr
	}
	f, err := parse(src)
	if err != nil {
		pr := syntaxProblem(err)
		return nil, &pr
	}
	return f, nil
}

// parse runs the parser; a panic in it is an error.
func parse(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, errors.New("the YAML parser could not read this input")
		}
	}()
	return parser.ParseBytes(src, 0)
}

// syntaxProblem turns a parser error into a problem at its token.
func syntaxProblem(err error) apierr.Problem {
	var te interface {
		GetToken() *token.Token
		GetMessage() string
	}
	pr := apierr.Problem{Line: 1, Message: "invalid YAML: " + err.Error()}
	if errors.As(err, &te) {
		pr.Message = "invalid YAML: " + te.GetMessage()
		if tk := te.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line >= 1 {
			pr.Line, pr.Column = tk.Position.Line, tk.Position.Column
		}
	}
	return pr
}

// invalidUTF8 locates the first byte of src that is not UTF-8.
func invalidUTF8(src []byte) (apierr.Problem, bool) {
	if utf8.Valid(src) {
		return apierr.Problem{}, false
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			return apierr.Problem{Line: line, Column: col,
				Message: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): the file must be UTF-8 text", src[i])}, true
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return apierr.Problem{}, false
}
