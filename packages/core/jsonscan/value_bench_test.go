package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// benchDoc is an insert's data: rows of strings, numbers, a nested value.
var benchDoc = []byte(`[` + strings.Repeat(`{"name":"Ünïcode \"quoted\"","n":12345.678,"ok":true,"tags":["a","b"],"meta":{"k":null}},`, 49) +
	`{"name":"last","n":-1,"ok":false,"tags":[],"meta":{}}]`)

// BenchmarkDecode compares Decode with what it replaced (json.Decoder with
// UseNumber), so that the Bridge does not get slower (SPEC §16).
func BenchmarkDecode(b *testing.B) {
	b.Run("jsonscan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(benchDoc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(benchDoc))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendValue compares AppendValue with the Encoder it replaced.
func BenchmarkAppendValue(b *testing.B) {
	v, err := Decode(benchDoc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("jsonscan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := AppendValue(nil, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var sb strings.Builder
			enc := json.NewEncoder(&sb)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
