package main

// The requests' JSON is decoded in two steps: jsonscan.Decode turns the text
// into a tree (map[string]any, []any, string, json.Number, bool, nil), and
// the hand-written decoders of bundlejson.go and main.go copy that tree into
// Go values with encoding/json's rules for the types they hold. Unmarshal
// would do both at once, but it needs reflection, which the wasip1 module
// cannot afford (SPEC §16's 1 MiB budget, issue #16): the decoders are
// plain code, and bundlejson_test.go proves them equal to Unmarshal.
//
// The rules kept from encoding/json: a member goes to the field whose name
// it equals, else to one it equals under case folding; unknown members are
// ignored; null leaves a scalar or struct as it is and sets a pointer, slice
// or map to nil; [] and {} make empty, non-nil slices and maps; an integer
// field takes only an integer literal in its range; a wrong type is an error
// (the first one is reported, decoding goes on as Unmarshal's does).

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// decoder holds the first error of a decoding.
type decoder struct{ err error }

// typeError is a member whose JSON type the Go field cannot hold.
type typeError struct{ key, want string }

func (e *typeError) Error() string {
	return "cannot decode member " + strconv.Quote(e.key) + ": want " + e.want
}

func (d *decoder) fail(key, want string) {
	if d.err == nil {
		d.err = &typeError{key: key, want: want}
	}
}

// member returns the member of m that encoding/json decodes into the field
// named name: the exact key, else one equal to it under case folding.
func member(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// obj is an object being decoded into a struct: its fields are looked up
// by their json names with member.
type obj struct {
	d *decoder
	m map[string]any
}

// obj is v as an object (see object).
func (d *decoder) obj(v any, key string) (obj, bool) {
	m, ok := d.object(v, key)
	return obj{d, m}, ok
}

func (o obj) get(name string) (any, bool) { return member(o.m, name) }

func (o obj) str(name string, dst *string) {
	if v, ok := member(o.m, name); ok {
		o.d.str(v, dst, name)
	}
}

func (o obj) boolean(name string, dst *bool) {
	if v, ok := member(o.m, name); ok {
		o.d.boolean(v, dst, name)
	}
}

func (o obj) int(name string, dst *int) {
	if v, ok := member(o.m, name); ok {
		integer(o.d, v, dst, strconv.IntSize, name)
	}
}

func (o obj) int64(name string, dst *int64) {
	if v, ok := member(o.m, name); ok {
		integer(o.d, v, dst, 64, name)
	}
}

func (o obj) uint32(name string, dst *uint32) {
	if v, ok := member(o.m, name); ok {
		o.d.uint32(v, dst, name)
	}
}

func (o obj) strings(name string, dst *[]string) {
	if v, ok := member(o.m, name); ok {
		o.d.strings(v, dst, name)
	}
}

func (o obj) time(name string, dst *time.Time) {
	if v, ok := member(o.m, name); ok {
		o.d.time(v, dst, name)
	}
}

// object is v as an object; ok is false for null (nothing to decode) and for
// a wrong type (an error).
func (d *decoder) object(v any, key string) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case nil:
	default:
		d.fail(key, "an object")
	}
	return nil, false
}

// array is v as an array; ok is false for null and for a wrong type.
func (d *decoder) array(v any, key string) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case nil:
	default:
		d.fail(key, "an array")
	}
	return nil, false
}

func (d *decoder) str(v any, dst *string, key string) {
	switch v := v.(type) {
	case string:
		*dst = v
	case nil:
	default:
		d.fail(key, "a string")
	}
}

func (d *decoder) boolean(v any, dst *bool, key string) {
	switch v := v.(type) {
	case bool:
		*dst = v
	case nil:
	default:
		d.fail(key, "a boolean")
	}
}

// integer decodes a number into a signed integer of bits bits, as
// encoding/json does: the literal must parse as one (no fraction, no
// exponent) and fit.
func integer[T int | int64](d *decoder, v any, dst *T, bits int, key string) {
	switch v := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, bits)
		if err != nil {
			d.fail(key, "an integer of "+strconv.Itoa(bits)+" bits")
			return
		}
		*dst = T(n)
	case nil:
	default:
		d.fail(key, "a number")
	}
}

func (d *decoder) uint32(v any, dst *uint32, key string) {
	switch v := v.(type) {
	case json.Number:
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			d.fail(key, "an unsigned integer of 32 bits")
			return
		}
		*dst = uint32(n)
	case nil:
	default:
		d.fail(key, "a number")
	}
}

func (d *decoder) strings(v any, dst *[]string, key string) {
	a, ok := d.array(v, key)
	if !ok {
		if v == nil {
			*dst = nil
		}
		return
	}
	out := make([]string, len(a))
	for i, e := range a {
		d.str(e, &out[i], key)
	}
	*dst = out
}

// time decodes an RFC 3339 string as time.Time's UnmarshalJSON does.
func (d *decoder) time(v any, dst *time.Time, key string) {
	switch v := v.(type) {
	case string:
		if err := dst.UnmarshalText([]byte(v)); err != nil && d.err == nil {
			d.err = err
		}
	case nil:
	default:
		d.fail(key, "an RFC 3339 time string")
	}
}

// slice decodes an array with one decoder per element; null sets *dst to nil.
func slice[T any](d *decoder, v any, dst *[]T, key string, elem func(any, *T)) {
	a, ok := d.array(v, key)
	if !ok {
		if v == nil {
			*dst = nil
		}
		return
	}
	out := make([]T, len(a))
	for i, e := range a {
		elem(e, &out[i])
	}
	*dst = out
}

// pointer decodes into a new T unless v is null (then *dst is nil).
// encoding/json reuses a pointer that is already set; the decoders only
// ever start from zero values, so a new T is the same.
func pointer[T any](v any, dst **T, elem func(any, *T)) {
	if v == nil {
		*dst = nil
		return
	}
	if *dst == nil {
		*dst = new(T)
	}
	elem(v, *dst)
}

// mapOf decodes an object with one decoder per value; null sets *dst to nil.
// Each value starts from zero, as encoding/json's map elements do.
func mapOf[K ~string, V any](d *decoder, v any, dst *map[K]V, key string, elem func(any, *V)) {
	m, ok := d.object(v, key)
	if !ok {
		if v == nil {
			*dst = nil
		}
		return
	}
	out := make(map[K]V, len(m))
	for k, e := range m {
		var x V
		elem(e, &x)
		out[K(k)] = x
	}
	*dst = out
}
