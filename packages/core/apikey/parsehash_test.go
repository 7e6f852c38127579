package apikey

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// ParseHash accepts exactly what hex.DecodeString decodes to 32 bytes.
func checkParseHash(t *testing.T, s string) {
	want, err := hex.DecodeString(s)
	wantOK := err == nil && len(want) == HashSize
	got, ok := ParseHash(s)
	if ok != wantOK || (ok && !bytes.Equal(got[:], want)) {
		t.Errorf("ParseHash(%q) = %x, %v; hex.DecodeString = %x, %v", s, got, ok, want, err)
	}
}

func TestParseHash(t *testing.T) {
	for _, s := range []string{Hash("secret"), strings.ToUpper(Hash("x")), strings.Repeat("0", 64), strings.Repeat("fF", 32),
		"", "ab", strings.Repeat("0", 63), strings.Repeat("0", 65), strings.Repeat("0", 66), strings.Repeat("g", 64),
		strings.Repeat("0", 62) + "0x", strings.Repeat("0", 62) + " 1", strings.Repeat("é", 32)} {
		checkParseHash(t, s)
	}
	if !Verify(Hash("s"), "s") || Verify(Hash("s"), "t") || Verify("zz", "s") {
		t.Error("Verify")
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(Hash("secret"))
	f.Add(strings.Repeat("Z", 64))
	f.Fuzz(checkParseHash)
}
