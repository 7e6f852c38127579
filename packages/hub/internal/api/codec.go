package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
)

// maxBody bounds request bodies of the Hub API.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// wrong types and oversize bodies with §3 errors that name the field.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyErr(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apierr.New(apierr.BadRequest, "request body must hold exactly one JSON object")
	}
	return nil
}

// decodeOptional is decode for bodies that may be empty (all fields optional).
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	err := decode(w, r, v)
	if e, ok := err.(*apierr.Error); ok && e.Message == emptyBody {
		return nil
	}
	return err
}

const emptyBody = "request body is empty: a JSON object is required"

func bodyErr(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return apierr.New(apierr.PayloadTooLarge, "request body is larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return apierr.New(apierr.BadRequest, emptyBody)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.New(apierr.BadRequest, "request body is not valid JSON")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apierr.New(apierr.BadRequest, "request body must be a JSON object")
		}
		return apierr.New(apierr.BadRequest, "field %s must be a %s", field, jsonKind(typeErr.Type.Kind().String())).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "wrong type"}})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apierr.New(apierr.BadRequest, "unknown field %q", field).
			WithDetail("problems", []apierr.Problem{{Path: field, Message: "unknown field"}})
	default:
		return apierr.New(apierr.BadRequest, "request body cannot be read: %s", "malformed")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "array"
	default:
		return fmt.Sprintf("JSON %s", strings.ReplaceAll(goKind, "struct", "object"))
	}
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail sends err as a §3 envelope with the request's id.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	httperr.Write(w, RequestID(r.Context()), err)
}
