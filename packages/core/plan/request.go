package plan

import (
	"bytes"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

// DecodeRequest checks the syntax of a /call body (§4.2 step 1) and returns
// its target and raw params (a sub-slice of data). It is pure, so the hot
// path can be measured without HTTP (the Bridge's BenchmarkPipeline), and so the Workers runtime runs the
// very same check inside its wasm planner (SPEC §16).
//
// The body must be strict JSON (jsonscan.Validate: UTF-8, no lone
// surrogates, no duplicate keys at any depth), and its member names are
// exactly "path" and "params": unlike encoding/json, no case-insensitive
// match, so that every reader of a body sees the same request.
func DecodeRequest(data []byte) (Target, []byte, error) {
	var t Target
	body := bytes.TrimSpace(data)
	if len(body) == 0 {
		return t, nil, apierr.New(apierr.BadRequest, `request body is empty: send {"path": "db/{connection}/{table}/{op}", "params": {…}}`)
	}
	if err := jsonscan.Validate(body); err != nil {
		return t, nil, jsonscan.BadRequest(err, "request body", "")
	}
	if body[0] != '{' {
		return t, nil, apierr.New(apierr.BadRequest, "request body must be a JSON object")
	}
	var (
		path, params []byte
		havePath     bool
	)
	_, err := jsonscan.Members(body, 0, func(key, val []byte) error {
		switch {
		case string(key) == "path" || bytes.IndexByte(key, '\\') >= 0 && jsonscan.Unquote(key) == "path":
			path, havePath = val, true
		case string(key) == "params" || bytes.IndexByte(key, '\\') >= 0 && jsonscan.Unquote(key) == "params":
			params = val
		default:
			field := clip(jsonscan.Unquote(key))
			return apierr.New(apierr.BadRequest, "unknown field %q: the body holds path and params", field).
				WithDetail("problems", []apierr.Problem{{Path: field, Message: "unknown field"}})
		}
		return nil
	})
	if err != nil {
		return t, nil, err
	}
	if !havePath || string(path) == "null" {
		return t, nil, apierr.New(apierr.BadRequest, "path is required: db/{connection}/{table}/{op} or logics/{name}").
			WithDetail("problems", []apierr.Problem{{Path: "path", Message: "required"}})
	}
	if path[0] != '"' {
		return t, nil, apierr.New(apierr.BadRequest, "path must be a string").
			WithDetail("problems", []apierr.Problem{{Path: "path", Message: "wrong type"}})
	}
	t, err = ParsePath(jsonscan.Unquote(path[1 : len(path)-1]))
	if err != nil {
		return t, nil, err
	}
	switch {
	case len(params) == 0 || string(params) == "null":
		params = nil
	case params[0] != '{':
		return t, nil, apierr.New(apierr.BadRequest, "params must be a JSON object").
			WithDetail("problems", []apierr.Problem{{Path: "params", Message: "must be an object"}})
	}
	return t, params, nil
}
