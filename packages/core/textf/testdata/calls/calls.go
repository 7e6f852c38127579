// Package calls holds formatting mistakes made through the ways of calling
// that TestCallSitesSeesThrough checks the call-site check sees.
package calls

import (
	"errors"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/textf"
)

// closure formats through a function literal bound to a variable.
func closure() error {
	fail := func(at int, format string, args ...any) error {
		return textf.Errorf(format, args...)
	}
	_ = fail(1, "fine %s", "x")
	return fail(2, "%d problems", "two")
}

// msgf is a formatting function whose format parameter has another name.
func msgf(msg string, args ...any) *apierr.Error {
	return apierr.New(apierr.BadRequest, msg, args...)
}

func renamed() error {
	return msgf("%d rows", "many")
}

func asValue() error {
	f := apierr.New
	return f(apierr.BadRequest, "%d rows", "many")
}

func spread(args []any) string {
	return textf.Sprintf("%s and %s", args...)
}

func shortName() error {
	var g = func(f string, a ...any) error { return errors.New(textf.Sprintf(f, a...)) }
	return g("just %s", "one", "two")
}

// passed formats through a parameter that takes a formatting function.
func passed() error {
	fail := func(format string, args ...any) error { return textf.Errorf(format, args...) }
	return use(fail)
}

func use(fail func(string, ...any) error) error {
	return fail("%d of them", "some")
}

func byteSlice(b []byte) string {
	return textf.Sprintf("%s %q %v", b, b, b)
}
