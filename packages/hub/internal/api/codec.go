package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

// maxBody bounds request bodies of the Hub API.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// wrong types and oversize bodies with §3 errors that name the field. The
// body must be strict JSON (jsonscan.Validate: UTF-8, no lone surrogates,
// no duplicate keys at any depth) and name v's fields exactly, as the
// Bridge's /call does: encoding/json alone would store invalid text as
// U+FFFD and let the last of two "name"s, or a "NAME", win.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return bodyErr(err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return bodyErr(io.EOF)
	}
	if err := jsonscan.Validate(body); err != nil {
		return jsonscan.BadRequest(err, "request body", "")
	}
	if err := exactNames(body, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil { // one value: Validate said so
		return bodyErr(err)
	}
	return nil
}

// exactNames walks a valid JSON text alongside the Go type it decodes into
// and refuses an object member that names no field of its struct exactly
// (encoding/json would match it case-insensitively). Values of other
// shapes than the type expects are left to the decoder's type errors.
func exactNames(b []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // decodes itself (json.RawMessage, time.Time)
	}
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return nil
	}
	switch {
	case t.Kind() == reflect.Struct && b[i] == '{':
		_, err := jsonscan.Members(b, i, func(k, val []byte) error {
			name := jsonscan.Unquote(k)
			ft, ok := fieldByExactName(t, name)
			if !ok {
				at := joinPath(path, name)
				return apierr.New(apierr.BadRequest, "unknown field %q", at).
					WithDetail("problems", []apierr.Problem{{Path: at, Message: "unknown field"}})
			}
			return exactNames(val, ft, joinPath(path, name))
		})
		return err
	case t.Kind() == reflect.Map && b[i] == '{':
		_, err := jsonscan.Members(b, i, func(k, val []byte) error {
			return exactNames(val, t.Elem(), joinPath(path, jsonscan.Unquote(k)))
		})
		return err
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && b[i] == '[':
		for n, j := 0, jsonscan.SkipWS(b, i+1); j < len(b) && b[j] != ']'; n++ {
			end := jsonscan.SkipValue(b, j)
			if err := exactNames(b[j:end], t.Elem(), path+"["+strconv.Itoa(n)+"]"); err != nil {
				return err
			}
			if j = jsonscan.SkipWS(b, end); j < len(b) && b[j] == ',' {
				j = jsonscan.SkipWS(b, j+1)
			}
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// fieldByExactName finds the struct field (embedded ones included) that
// encoding/json decodes the member name into, matching case exactly.
func fieldByExactName(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && tag == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := fieldByExactName(et, name); ok {
					return ft, true
				}
				continue
			}
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
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
