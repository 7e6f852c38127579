package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/apierr"
)

// cliError is a failure ready to report: the exit code, the error line's
// parts and the §3 envelope printed on stdout with --json.
type cliError struct {
	exit      int
	code      apierr.Code
	message   string
	requestID string
	details   map[string]any
	// envelope is the Hub's own body, when there was one.
	envelope *apierr.Body
	// usageHint prints "Run 'stk … --help' for usage." after the line.
	usageHint bool
	// file names the local document that problems[] refer to.
	file string
	// hub401 marks a 401 answered by the Hub to a request, to which
	// explainUnauthorized adds what to do; sessionEnded marks a stored
	// login that could not be refreshed.
	hub401, sessionEnded bool
	// printed marks a command that printed its own --json document (stk
	// doctor's checks) before failing: only the error line is added.
	printed bool
}

func (e *cliError) Error() string { return e.message }

// usageErrorf is a bad flag or argument (exit 2, code BAD_REQUEST).
func usageErrorf(format string, args ...any) error {
	return &cliError{exit: ExitUsage, code: apierr.BadRequest, message: fmt.Sprintf(format, args...), usageHint: true}
}

// nameError turns a names.Resource error into a usage error that keeps its
// details (problems[]), as the Hub would have answered them.
func nameError(err error) error {
	e := apierr.As(err)
	return &cliError{exit: ExitUsage, code: e.Code, message: e.Message, details: e.Details, usageHint: true}
}

// runtimeErrorf is a local failure that is not the user's input (exit 1).
func runtimeErrorf(code apierr.Code, format string, args ...any) error {
	return &cliError{exit: ExitError, code: code, message: fmt.Sprintf(format, args...)}
}

// classify maps an error out of cobra to a cliError. Command bodies are
// wrapped by action, so their errors arrive classified already; anything
// else comes from cobra's own flag and argument handling: a usage error.
func classify(err error) *cliError {
	return classifyOr(err, func(err error) *cliError {
		return &cliError{exit: ExitUsage, code: apierr.BadRequest, message: err.Error(), usageHint: true}
	})
}

// action wraps a command body so that each error it returns is classified,
// an unknown one as a runtime failure (exit 1).
func action(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		if err == nil {
			return nil
		}
		return classifyOr(err, func(err error) *cliError {
			return &cliError{exit: ExitError, code: apierr.Internal, message: err.Error()}
		})
	}
}

func classifyOr(err error, other func(error) *cliError) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	var se *hubclient.SessionEndedError
	if errors.As(err, &se) {
		env := se.Err.Envelope
		return &cliError{exit: ExitUnauthorized, code: apierr.Unauthorized, message: se.Error(),
			requestID: se.Err.RequestID, envelope: &env, sessionEnded: true}
	}
	var he *hubclient.Error
	if errors.As(err, &he) {
		env := he.Envelope
		msg := he.Message
		if he.RetryAfter > 0 {
			msg += "; retry after " + he.RetryAfter.String()
		}
		return &cliError{exit: exitFor(he.Status), code: he.Code, message: msg,
			requestID: he.RequestID, details: he.Details, envelope: &env,
			hub401: he.Status == http.StatusUnauthorized}
	}
	var ue *hubclient.UnreachableError
	if errors.As(err, &ue) {
		return &cliError{exit: ExitError, code: apierr.ServiceUnavailable, message: ue.Error()}
	}
	var re *hubclient.ResponseError
	if errors.As(err, &re) {
		return &cliError{exit: exitFor(re.Status), code: codeFor(re.Status), message: re.Error(), requestID: re.RequestID,
			hub401: re.Status == http.StatusUnauthorized}
	}
	return other(err)
}

func exitFor(status int) int {
	if status == http.StatusUnauthorized {
		return ExitUnauthorized
	}
	return ExitError
}

// codeFor names the §3 code of a status, for answers that lacked an envelope.
func codeFor(status int) apierr.Code {
	for _, c := range apierr.Codes() {
		if c.Status() == status {
			return c
		}
	}
	return apierr.Internal
}

// inFile classifies err (as action would) and records that its problems
// refer to the local file path, so that they print as path:line:column.
func inFile(err error, path string) error {
	if err == nil {
		return nil
	}
	ce := classifyOr(err, func(err error) *cliError {
		return &cliError{exit: ExitError, code: apierr.Internal, message: err.Error()}
	})
	ce.file = path
	return ce
}

// report prints e: the validation problems or drift items of its details,
// the error line on stderr, the envelope on stdout with --json, and returns
// the exit code.
func (a *app) report(cmd *cobra.Command, e *cliError) int {
	switch e.code {
	case apierr.SchemaValidationFailed:
		for _, p := range detailList[apierr.Problem](e.details, "problems") {
			fmt.Fprintln(a.stderr, formatProblem(e.file, p))
		}
	case apierr.SchemaDrift:
		for _, m := range detailList[apierr.Missing](e.details, "missing") {
			fmt.Fprintln(a.stderr, formatMissing(m))
		}
	}
	line := "error: " + e.message + " (code " + string(e.code)
	if e.requestID != "" {
		line += ", request " + e.requestID
	}
	fmt.Fprintln(a.stderr, line+")")
	if e.usageHint && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	if a.json && a.field == "" && !e.printed {
		body := apierr.Body{Error: apierr.BodyError{Code: e.code, Message: e.message, RequestID: e.requestID, Details: e.details}}
		if e.envelope != nil {
			body = *e.envelope
		}
		_ = a.writeJSON(body)
	}
	return e.exit
}

// writeJSON prints v as the one JSON document of the invocation, or only
// its --field.
func (a *app) writeJSON(v any) error {
	if a.field != "" {
		return a.writeField(v)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// detailList decodes details[key] (JSON from the Hub, or values built
// locally) as a list of T; anything malformed gives nil.
func detailList[T any](details map[string]any, key string) []T {
	v, ok := details[key]
	if !ok {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out []T
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// formatProblem renders a validation problem the way compilers do, so that
// editors can jump to it: file:line:column: path: message. Without a line
// the location is the file alone; without a file (a document staged on the
// Hub) the line and column follow the message.
func formatProblem(file string, p apierr.Problem) string {
	if file == "" {
		file = p.File
	}
	file = problemFile(file)
	msg := p.Message
	if p.Path != "" {
		msg = p.Path + ": " + msg
	}
	if file == "" {
		loc := ""
		switch {
		case p.Line > 0 && p.Column > 0:
			loc = fmt.Sprintf(" (line %d, column %d)", p.Line, p.Column)
		case p.Line > 0:
			loc = fmt.Sprintf(" (line %d)", p.Line)
		}
		return "problem: " + msg + loc
	}
	loc := file
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			loc += ":" + strconv.Itoa(p.Column)
		}
	}
	return loc + ": " + msg
}

// formatMissing renders one drift item: drift: main.users.email: missing.
func formatMissing(m apierr.Missing) string {
	what := m.Connection
	if m.Table != "" {
		what += "." + m.Table
	}
	if m.Column != "" {
		what += "." + m.Column
	}
	if m.Logic != "" {
		what += " logics/" + m.Logic
	}
	return "drift: " + what + ": " + orDash(m.Reason)
}

// problemFile is how a local file is named in problems and warnings.
func problemFile(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return path
}
