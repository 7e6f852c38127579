package apikey

import (
	"regexp"
	"strings"
	"testing"
)

var keyRe = regexp.MustCompile(`^stk_key_[0-9A-Z]{26}_[0-9A-Za-z]{43}$`)

func TestGenerateParseVerify(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id, secret, key, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !keyRe.MatchString(key) || seen[secret] {
			t.Fatalf("bad or repeated key %q", key)
		}
		seen[secret] = true
		gotID, gotSecret, ok := Parse(key)
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("Parse(%q) = %q %q %v", key, gotID, gotSecret, ok)
		}
		h := Hash(secret)
		other := secret[:42] + "x"
		if secret[42] == 'x' {
			other = secret[:42] + "y"
		}
		if strings.Contains(h, secret) || !Verify(h, secret) || Verify(h, other) {
			t.Fatal("hash/verify mismatch")
		}
	}
}

func TestParseRejects(t *testing.T) {
	_, secret, key, _ := Generate()
	for _, bad := range []string{"", "stk_", "key_x_y", strings.TrimPrefix(key, "stk_"),
		key + "x", key[:len(key)-1], "stk_key_01J_" + secret, strings.Replace(key, "_"+secret, "_"+secret[:42]+"-", 1),
		"stk_" + strings.Repeat("a", 500)} {
		if _, _, ok := Parse(bad); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if Verify("zz", secret) || Verify("", secret) {
		t.Error("malformed stored hash verified")
	}
}
