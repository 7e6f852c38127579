package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// --field prints one field of a command's --json document, so that scripts
// can read a value without jq or a parser that depends on indentation
// (decision 0016): a string prints as is, any other value as compact JSON,
// and a list prints the field of each item, one per line. A dotted name
// reaches into objects (--field exposes.table). With --field, stdout holds
// only the values: errors go to stderr alone, with the exit codes of SPEC
// §11.

// fieldHelp is the flag's usage text.
const fieldHelp = `print only this field of the --json output (a string as is, anything else as JSON; ` +
	`a list prints the field of each item, one per line; a.b reaches into objects)`

// writeField prints the value(s) at a.field of v's JSON form.
func (a *app) writeField(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // ids and counts print exactly as the Hub sent them
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	values := []any{doc}
	for _, name := range strings.Split(a.field, ".") {
		next := []any{}
		for _, cur := range values {
			got, err := fieldOf(cur, name)
			if err != nil {
				return usageErrorf("--field %s: %v", a.field, err)
			}
			next = append(next, got...)
		}
		values = next
	}
	var b strings.Builder
	for _, val := range values {
		if s, ok := val.(string); ok {
			b.WriteString(s)
		} else {
			j, err := json.Marshal(val)
			if err != nil {
				return err
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	_, err = fmt.Fprint(a.stdout, b.String())
	return err
}

// fieldOf returns field name of an object, or of each object of a list.
func fieldOf(v any, name string) ([]any, error) {
	switch x := v.(type) {
	case map[string]any:
		got, ok := x[name]
		if !ok {
			return nil, fmt.Errorf("no field %q here; fields: %s", name, strings.Join(slices.Sorted(maps.Keys(x)), ", "))
		}
		return []any{got}, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			got, err := fieldOf(item, name)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("no field %q in a %s value", name, jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "JSON"
}
