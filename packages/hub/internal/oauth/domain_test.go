package oauth

import "testing"

// ALLOWED_DOMAINS match the email's whole domain, in any ASCII case, and
// nothing that only looks like it.
func TestDomainAllowed(t *testing.T) {
	c := Config{AllowedDomains: []string{"example.com", "korp.example"}}
	for email, want := range map[string]bool{
		"a@example.com":          true,
		"A@EXAMPLE.COM":          true,
		" a@Example.Com ":        true,
		"a@evil.example.com":     false, // a subdomain is another domain
		"a@example.com.evil":     false,
		"a@example.com@evil.com": false,
		"a@evil.com@example.com": true, // the last @ splits: the domain is example.com
		"a@example.com.":         false,
		"a@xn--exmple-cua.com":   false,
		"a@ex\u0430mple.com":     false, // Cyrillic а
		"a@\u212Aorp.example":    false, // Kelvin sign: not k
		"a@KORP.example":         true,
		"example.com":            false,
		"":                       false,
		"a@":                     false,
	} {
		if got := c.DomainAllowed(email); got != want {
			t.Errorf("DomainAllowed(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestFoldEmail(t *testing.T) {
	for in, want := range map[string]string{
		" Ada@Example.COM ":    "ada@example.com",
		"\u212Aim@example.com": "\u212Aim@example.com", // not kim@example.com
		"JOSÉ@example.com":     "josÉ@example.com",
	} {
		if got := FoldEmail(in); got != want {
			t.Errorf("FoldEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
