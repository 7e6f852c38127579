package main

// Encoders for the module's answers, written out rather than json.Marshal'ed
// so that the wasip1 module links no reflection (SPEC §16, #16). Each
// renders exactly what an encoding/json Encoder with SetEscapeHTML(false)
// renders for the same value — members in field order, omitempty honoured —
// and answerjson_test.go holds them to it.

import (
	"sort"
	"strconv"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/plan"
)

// okAnswer and errorAnswer are the two answers' shapes (the encoders below
// write them; the tests marshal them to compare).
type okAnswer struct {
	OK any `json:"ok"`
}

type errorAnswer struct {
	Error   apierr.Body       `json:"error"`
	Headers map[string]string `json:"headers,omitempty"`
}

// appendOK appends {"ok": ok}, ok being an answer's JSON text.
func appendOK(dst, ok []byte) []byte {
	dst = append(dst, `{"ok":`...)
	dst = append(dst, ok...)
	return append(dst, '}')
}

// appendError appends e's answer: its §3 envelope and its headers.
func appendError(dst []byte, e *apierr.Error) ([]byte, error) {
	dst = append(dst, `{"error":`...)
	dst, err := appendBody(dst, e.Envelope(""))
	if err != nil {
		return dst, err
	}
	if len(e.Headers) > 0 {
		dst = append(dst, `,"headers":`...)
		if dst, err = jsonscan.AppendValue(dst, e.Headers); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendBody appends apierr.Body (SPEC §3's envelope).
func appendBody(dst []byte, b apierr.Body) ([]byte, error) {
	e := &b.Error
	dst = append(dst, `{"error":{"code":`...)
	dst = jsonscan.AppendString(dst, string(e.Code))
	dst = append(dst, `,"message":`...)
	dst = jsonscan.AppendString(dst, e.Message)
	if e.RequestID != "" {
		dst = append(dst, `,"requestId":`...)
		dst = jsonscan.AppendString(dst, e.RequestID)
	}
	if len(e.Details) > 0 {
		dst = append(dst, `,"details":`...)
		var err error
		if dst, err = appendDetails(dst, e.Details); err != nil {
			return dst, err
		}
	}
	return append(dst, "}}"...), nil
}

// appendDetails appends an error's details, keys sorted as encoding/json
// sorts a map's. The planner's details are []apierr.Problem; any other
// value goes to jsonscan, which renders the plain JSON types.
func appendDetails(dst []byte, details map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonscan.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		switch v := details[k].(type) {
		case []apierr.Problem:
			dst = appendProblems(dst, v)
		default:
			dst, err = jsonscan.AppendValue(dst, v)
		}
		if err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func appendProblems(dst []byte, ps []apierr.Problem) []byte {
	if ps == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"path":`...)
		dst = jsonscan.AppendString(dst, p.Path)
		if p.Line != 0 {
			dst = append(dst, `,"line":`...)
			dst = strconv.AppendInt(dst, int64(p.Line), 10)
		}
		if p.Column != 0 {
			dst = append(dst, `,"column":`...)
			dst = strconv.AppendInt(dst, int64(p.Column), 10)
		}
		if p.File != "" {
			dst = append(dst, `,"file":`...)
			dst = jsonscan.AppendString(dst, p.File)
		}
		dst = append(dst, `,"message":`...)
		dst = jsonscan.AppendString(dst, p.Message)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// wirePlan is plan.Plan on the wire. Args are PostgreSQL text-format
// parameters (null for NULL): the shell binds them untyped, so the server
// infers each one's type from the statement, as it does for pgx.
type wirePlan struct {
	Connection   string        `json:"connection"`
	Engine       string        `json:"engine"`
	Op           plan.Op       `json:"op,omitempty"`
	SQL          string        `json:"sql"`
	Args         []*string     `json:"args"`
	CountSQL     string        `json:"countSql,omitempty"`
	CountArgs    []*string     `json:"countArgs,omitempty"`
	Columns      []plan.Column `json:"columns"`
	Write        bool          `json:"write,omitempty"`
	CapAffected  bool          `json:"capAffected,omitempty"`
	Check        bool          `json:"check,omitempty"`
	CheckMessage string        `json:"checkMessage,omitempty"`
	Logic        string        `json:"logic,omitempty"`
	Readonly     bool          `json:"readonly,omitempty"`
	MaxRows      int           `json:"maxRows,omitempty"`
}

func appendPlan(dst []byte, w *wirePlan) []byte {
	dst = append(dst, `{"connection":`...)
	dst = jsonscan.AppendString(dst, w.Connection)
	dst = append(dst, `,"engine":`...)
	dst = jsonscan.AppendString(dst, w.Engine)
	if w.Op != "" {
		dst = append(dst, `,"op":`...)
		dst = jsonscan.AppendString(dst, string(w.Op))
	}
	dst = append(dst, `,"sql":`...)
	dst = jsonscan.AppendString(dst, w.SQL)
	dst = append(dst, `,"args":`...)
	dst = appendArgs(dst, w.Args)
	if w.CountSQL != "" {
		dst = append(dst, `,"countSql":`...)
		dst = jsonscan.AppendString(dst, w.CountSQL)
	}
	if len(w.CountArgs) > 0 {
		dst = append(dst, `,"countArgs":`...)
		dst = appendArgs(dst, w.CountArgs)
	}
	dst = append(dst, `,"columns":`...)
	if w.Columns == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, c := range w.Columns {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"Name":`...)
			dst = jsonscan.AppendString(dst, c.Name)
			dst = append(dst, `,"Type":`...)
			dst = jsonscan.AppendString(dst, c.Type)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = appendFlag(dst, `,"write":true`, w.Write)
	dst = appendFlag(dst, `,"capAffected":true`, w.CapAffected)
	dst = appendFlag(dst, `,"check":true`, w.Check)
	if w.CheckMessage != "" {
		dst = append(dst, `,"checkMessage":`...)
		dst = jsonscan.AppendString(dst, w.CheckMessage)
	}
	if w.Logic != "" {
		dst = append(dst, `,"logic":`...)
		dst = jsonscan.AppendString(dst, w.Logic)
	}
	dst = appendFlag(dst, `,"readonly":true`, w.Readonly)
	if w.MaxRows != 0 {
		dst = append(dst, `,"maxRows":`...)
		dst = strconv.AppendInt(dst, int64(w.MaxRows), 10)
	}
	return append(dst, '}')
}

// appendFlag appends member when an omitempty bool is set.
func appendFlag(dst []byte, member string, set bool) []byte {
	if set {
		dst = append(dst, member...)
	}
	return dst
}

func appendArgs(dst []byte, args []*string) []byte {
	if args == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		if a == nil {
			dst = append(dst, "null"...)
		} else {
			dst = jsonscan.AppendString(dst, *a)
		}
	}
	return append(dst, ']')
}
