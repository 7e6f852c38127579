// Package apierr holds the error contract shared by every Santokit HTTP API
// (SPEC §3): the error codes, their HTTP statuses, the JSON envelope, and the
// Error type that domain code returns so that the HTTP edge can map it without
// guessing. Domain packages build errors with the constructors here; the
// HTTP edges write them with package httperr. No net/http here: the
// planner, which is compiled to WebAssembly, depends on this package.
package apierr

import (
	"errors"

	"github.com/santokit/santokit/packages/core/textf"
)

// Code is one of the error codes of SPEC §3.
type Code string

// The codes of SPEC §3, in the order of its table.
const (
	BadRequest             Code = "BAD_REQUEST"
	SchemaValidationFailed Code = "SCHEMA_VALIDATION_FAILED"
	Unauthorized           Code = "UNAUTHORIZED"
	Forbidden              Code = "FORBIDDEN"
	NotFound               Code = "NOT_FOUND"
	MethodNotAllowed       Code = "METHOD_NOT_ALLOWED"
	Conflict               Code = "CONFLICT"
	SchemaDrift            Code = "SCHEMA_DRIFT"
	PayloadTooLarge        Code = "PAYLOAD_TOO_LARGE"
	TooManyRequests        Code = "TOO_MANY_REQUESTS"
	Internal               Code = "INTERNAL_ERROR"
	ServiceUnavailable     Code = "SERVICE_UNAVAILABLE"
	Timeout                Code = "TIMEOUT"
)

var statuses = map[Code]int{
	BadRequest:             400,
	SchemaValidationFailed: 400,
	Unauthorized:           401,
	Forbidden:              403,
	NotFound:               404,
	MethodNotAllowed:       405,
	Conflict:               409,
	SchemaDrift:            409,
	PayloadTooLarge:        413,
	TooManyRequests:        429,
	Internal:               500,
	ServiceUnavailable:     503,
	Timeout:                504,
}

// Status is the HTTP status of a code; unknown codes are internal errors.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return 500
}

// Codes lists every code of SPEC §3.
func Codes() []Code {
	return []Code{BadRequest, SchemaValidationFailed, Unauthorized, Forbidden, NotFound,
		MethodNotAllowed, Conflict, SchemaDrift, PayloadTooLarge, TooManyRequests, Internal,
		ServiceUnavailable, Timeout}
}

// Problem is one entry of details.problems[] (SPEC §3).
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	File    string `json:"file,omitempty"`
	Message string `json:"message"`
}

// Missing is one entry of details.missing[] (SPEC §3, drift): a table or
// column, or a logic whose statement no longer prepares (SPEC §9).
type Missing struct {
	Connection string `json:"connection"`
	Table      string `json:"table,omitempty"`
	Logic      string `json:"logic,omitempty"`
	Column     string `json:"column,omitempty"`
	Reason     string `json:"reason"`
}

// Error is a client-presentable error. Message must never hold a secret,
// a connection URL, SQL text or a bound value (SPEC §3).
type Error struct {
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// Headers are extra response headers (Allow, Retry-After).
	Headers map[string]string `json:"-"`
	// cause is kept for logs only; it is never serialized.
	cause error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap exposes the internal cause to errors.Is/As (logging only).
func (e *Error) Unwrap() error { return e.cause }

// Status is the HTTP status for the error.
func (e *Error) Status() int { return e.Code.Status() }

// New builds an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: textf.Sprintf(format, args...)}
}

// Wrap builds an error that keeps cause for the logs but shows only message.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: textf.Sprintf(format, args...), cause: cause}
}

// WithDetail returns e with details[key] = value.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// WithHeader returns e with a response header to set.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	e.Headers[key] = value
	return e
}

// Validation builds a SCHEMA_VALIDATION_FAILED error listing problems.
func Validation(message string, problems []Problem) *Error {
	return New(SchemaValidationFailed, "%s", message).WithDetail("problems", problems)
}

// As extracts an *Error from err. Anything else becomes INTERNAL_ERROR with a
// fixed message, so that internal text never reaches a client.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", cause: err}
}

// Body is the JSON body of an error response.
type Body struct {
	Error BodyError `json:"error"`
}

// BodyError is the object inside Body.
type BodyError struct {
	Code      Code           `json:"code"`
	Message   string         `json:"message"`
	RequestID string         `json:"requestId,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// Envelope renders e as the §3 body for the given request id.
func (e *Error) Envelope(requestID string) Body {
	return Body{Error: BodyError{Code: e.Code, Message: e.Message, RequestID: requestID, Details: e.Details}}
}
