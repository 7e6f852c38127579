package jsonscan

// TEMPORARY (#16): the contract of jsonscan/value.go implemented with
// encoding/json, so that the wire branch builds and tests before the jsonscan
// branch is merged. The lead deletes this file at merge.

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Decode decodes one JSON value as encoding/json does into an any with UseNumber.
func Decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}

// AppendValue appends v's JSON text as an Encoder with SetEscapeHTML(false) renders it.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch v.(type) {
	case nil, bool, string, json.Number, json.RawMessage, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, []any, []string, map[string]any, map[string]string:
	default:
		return dst, errors.New("unsupported value")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}

// AppendString appends s as a JSON string, escaped as encoding/json does with SetEscapeHTML(false).
func AppendString(dst []byte, s string) []byte {
	out, _ := AppendValue(dst, s)
	return out
}
