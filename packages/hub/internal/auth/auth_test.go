package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("the hash holds the password")
	}
	if !VerifyPassword(h, "correct horse battery") || VerifyPassword(h, "correct horse batterY") {
		t.Fatal("verify")
	}
	h2, _ := HashPassword("correct horse battery")
	if h2 == h {
		t.Fatal("no salt")
	}
	// The dummy hash parses, so an unknown email costs a real argon2 run,
	// and with the parameters of a real hash.
	if _, err := verify(dummyHash, "x"); err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
	if params := func(s string) string { return strings.Join(strings.Split(s, "$")[:4], "$") }; params(dummyHash) != params(h) {
		t.Fatalf("dummy hash %s has other parameters than %s", dummyHash, h)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=x$c2FsdA$aGFzaA"} {
		if VerifyPassword(bad, "x") {
			t.Errorf("%q verified", bad)
		}
	}
	if CheckNewPassword("short") == nil || CheckNewPassword("twelve chars") != nil {
		t.Fatal("length rule")
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLoginLimiter(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if l.Blocked("email:a", "addr:1") != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("email:a", "addr:1")
	}
	if d := l.Blocked("email:a"); d != time.Minute {
		t.Fatalf("blocked for %v", d)
	}
	if l.Blocked("email:b", "addr:1") == 0 {
		t.Fatal("the address is not blocked")
	}
	if l.Blocked("email:b", "addr:2") != 0 {
		t.Fatal("an unrelated key is blocked")
	}
	now = now.Add(time.Minute)
	if l.Blocked("email:a", "addr:1") != 0 {
		t.Fatal("the window did not end")
	}
}
