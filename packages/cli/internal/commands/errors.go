package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
	var he *hubclient.Error
	if errors.As(err, &he) {
		env := he.Envelope
		return &cliError{exit: exitFor(he.Status), code: he.Code, message: he.Message,
			requestID: he.RequestID, details: he.Details, envelope: &env}
	}
	var ue *hubclient.UnreachableError
	if errors.As(err, &ue) {
		return &cliError{exit: ExitError, code: apierr.ServiceUnavailable, message: ue.Error()}
	}
	var re *hubclient.ResponseError
	if errors.As(err, &re) {
		return &cliError{exit: exitFor(re.Status), code: codeFor(re.Status), message: re.Error(), requestID: re.RequestID}
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

// report prints e: the error line on stderr, the envelope on stdout with
// --json, and returns the exit code.
func (a *app) report(cmd *cobra.Command, e *cliError) int {
	line := "error: " + e.message + " (code " + string(e.code)
	if e.requestID != "" {
		line += ", request " + e.requestID
	}
	fmt.Fprintln(a.stderr, line+")")
	if e.usageHint && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	if a.json {
		body := apierr.Body{Error: apierr.BodyError{Code: e.code, Message: e.message, RequestID: e.requestID, Details: e.details}}
		if e.envelope != nil {
			body = *e.envelope
		}
		_ = a.writeJSON(body)
	}
	return e.exit
}

// writeJSON prints v as the one JSON document of the invocation.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
