package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize)) }

func TestParse(t *testing.T) {
	good := "v2:" + key(2) + ", v1:" + key(1)
	r, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Active() != "v2" || !r.Has("v1") || r.Has("v3") {
		t.Fatalf("active %s, versions %v", r.Active(), r.Versions())
	}
	secretKey := key(7)
	for _, bad := range []string{"", "nope", "v1:" + base64.StdEncoding.EncodeToString([]byte("short")),
		"x1:" + key(1), "v1:" + key(1) + ",v1:" + key(2), "v1:" + secretKey + ",v2:!!"} {
		_, err := Parse(bad)
		if err == nil {
			t.Errorf("Parse(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), secretKey) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	old, _ := Parse("v1:" + key(1))
	ring, _ := Parse("v2:" + key(2) + ",v1:" + key(1))
	aad := ConnectionAAD("p", "e", "main")
	v, blob, err := old.Seal([]byte("postgres://u:pw@h/db"), aad)
	if err != nil || v != "v1" {
		t.Fatal(v, err)
	}
	if bytes.Contains(blob, []byte("pw@")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	// Old versions stay readable after a new key becomes active.
	pt, err := ring.Open(v, blob, aad)
	if err != nil || string(pt) != "postgres://u:pw@h/db" {
		t.Fatalf("%q %v", pt, err)
	}
	v2, blob2, _ := ring.Seal(pt, aad)
	if v2 != "v2" {
		t.Fatalf("sealed under %s", v2)
	}
	_, blob3, _ := ring.Seal(pt, aad)
	if bytes.Equal(blob2, blob3) {
		t.Fatal("nonce reused: two seals gave the same blob")
	}
	// Bound to the row: another row's aad fails.
	if _, err := ring.Open(v, blob, ConnectionAAD("p", "e", "other")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("swapped row opened: %v", err)
	}
	// Tampering fails.
	blob[len(blob)-1] ^= 1
	if _, err := ring.Open(v, blob, aad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered blob opened: %v", err)
	}
	if _, err := old.Open("v2", blob2, aad); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := ring.Open("v1", []byte{1, 2}, aad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("short blob: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db:5432/app":               "postgres://app:***@db:5432/app",
		"postgres://app:p%40ss@db/app?sslmode=disable":    "postgres://app:***@db/app?sslmode=disable",
		"postgres://app@db/app":                           "postgres://app@db/app",
		"postgres://db/app?user=u&password=s3cret":        "postgres://db/app?password=***&user=u",
		"postgres://app:s3cret@db/app?sslpassword=s3cret": "postgres://app:***@db/app?sslpassword=***",
		"sqlite://./data.db":                              "sqlite://./data.db",
		"postgres://app:s3cret@[::1]:5432/app":            "postgres://app:***@[::1]:5432/app",
		"postgres://%zz:s3cret@db/app":                    "***",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(RedactURL(in), "s3cret") {
			t.Errorf("secret left in %q", RedactURL(in))
		}
	}
}

func TestReseal(t *testing.T) {
	old, _ := Parse("v1:" + key(1))
	ring, _ := Parse("v2:" + key(2) + ",v1:" + key(1))
	aad := SigningKeyAAD("sk_1")
	_, blob, err := old.Seal([]byte("private"), aad)
	if err != nil {
		t.Fatal(err)
	}
	v, blob2, err := ring.Reseal("v1", blob, aad)
	if err != nil || v != "v2" {
		t.Fatalf("Reseal: %s %v", v, err)
	}
	if pt, err := ring.Open("v2", blob2, aad); err != nil || string(pt) != "private" {
		t.Fatalf("resealed blob opens to %q, %v", pt, err)
	}
	if _, err := old.Open("v2", blob2, aad); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("old ring opened a v2 blob: %v", err)
	}
	// Bound to its row: another signing key's aad, or a connection's, fails.
	if _, _, err := ring.Reseal("v1", blob, SigningKeyAAD("sk_2")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("reseal under another id: %v", err)
	}
	if _, _, err := ring.Reseal("v1", blob, ConnectionAAD("p", "e", "sk_1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("reseal under a connection's aad: %v", err)
	}
	if _, _, err := ring.Reseal("v0", blob, aad); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("reseal of an unknown version: %v", err)
	}
}
