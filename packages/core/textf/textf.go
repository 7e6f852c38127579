// Package textf formats the planner's messages — error messages and
// validation problems — without package fmt. The planner is also compiled
// to WebAssembly for the Workers runtime, whose size budget (SPEC §16,
// docs/decisions/0037) fmt and the reflection it needs do not fit; the
// messages are part of the /call contract (SPEC §3), so the Bridge uses the
// same formatter and both runtimes say the same words by construction.
//
// The verbs are fmt's, for the argument types messages use:
//
//	%s %v  string, error, a Stringer, bool, any integer
//	%q     a string, error or Stringer, quoted as strconv.Quote (fmt's %q)
//	%d     any integer
//	%w     an error (Errorf only: the result wraps it), printed as %s
//	%%     a percent sign
//
// No flags, widths or precisions. Anything else is rendered the way fmt
// renders a bad verb or argument ("%!d(string=x)", "%!s(MISSING)"), so a
// mistake shows in the message; TestCallSites checks every format string
// and argument type in the module so that none does.
package textf

import (
	"errors"
	"strconv"
)

// Sprintf formats like fmt.Sprintf for the verbs and types the package
// documents.
func Sprintf(format string, args ...any) string {
	b, _ := appendf(nil, format, args)
	return string(b)
}

// Errorf formats like fmt.Errorf: with a %w verb the error wraps that
// argument (errors.Is/As see it).
func Errorf(format string, args ...any) error {
	b, wrapped := appendf(nil, format, args)
	if wrapped == nil {
		return errors.New(string(b))
	}
	return &wrapError{msg: string(b), err: wrapped}
}

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

// appendf appends the formatted text to b and returns the error a %w verb
// named, if any.
func appendf(b []byte, format string, args []any) ([]byte, error) {
	var wrapped error
	n := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i++; i == len(format) {
			b = append(b, "%!(NOVERB)"...)
			break
		}
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if n == len(args) {
			b = append(b, '%', '!', verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[n]
		n++
		if verb == 'w' {
			if err, ok := arg.(error); ok && wrapped == nil {
				wrapped = err
			}
			verb = 's'
		}
		b = appendArg(b, verb, arg)
	}
	if n < len(args) {
		b = append(b, "%!(EXTRA "...)
		for k, a := range args[n:] {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = appendArg(b, 'v', a)
		}
		b = append(b, ')')
	}
	return b, wrapped
}

// appendArg renders one argument for one verb.
func appendArg(b []byte, verb byte, arg any) []byte {
	if i, ok := integer(arg); ok {
		switch verb {
		case 'd', 'v':
			return append(b, i...)
		}
		return bad(b, verb, "int", i)
	}
	if t, ok := arg.(bool); ok {
		switch verb {
		case 'v', 't':
			return strconv.AppendBool(b, t)
		}
		return bad(b, verb, "bool", strconv.FormatBool(t))
	}
	s, ok := text(arg)
	if !ok {
		if arg == nil && verb == 'v' {
			return append(b, "<nil>"...)
		}
		if arg == nil {
			return append(append(append(b, '%', '!'), verb), "(<nil>)"...)
		}
		return append(append(append(b, '%', '!'), verb), "(unsupported)"...)
	}
	switch verb {
	case 's', 'v':
		return append(b, s...)
	case 'q':
		return strconv.AppendQuote(b, s)
	}
	return bad(b, verb, "string", s)
}

func bad(b []byte, verb byte, typ, val string) []byte {
	b = append(append(append(b, '%', '!'), verb), '(')
	return append(append(append(append(b, typ...), '='), val...), ')')
}

// text is the string form of a string, an error or a Stringer. A method
// that panics — a nil pointer's, typically — gives "<nil>", as fmt prints
// for a nil receiver, rather than failing the call that formats a message.
func text(arg any) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "<nil>", true
		}
	}()
	switch v := arg.(type) {
	case string:
		return v, true
	case error:
		return v.Error(), true
	case interface{ String() string }:
		return v.String(), true
	case []byte:
		return string(v), true
	}
	return "", false
}

// integer is the decimal form of any integer type.
func integer(arg any) (string, bool) {
	switch v := arg.(type) {
	case int:
		return strconv.Itoa(v), true
	case int8:
		return strconv.FormatInt(int64(v), 10), true
	case int16:
		return strconv.FormatInt(int64(v), 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	case uint8:
		return strconv.FormatUint(uint64(v), 10), true
	case uint16:
		return strconv.FormatUint(uint64(v), 10), true
	case uint32:
		return strconv.FormatUint(uint64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	}
	return "", false
}
