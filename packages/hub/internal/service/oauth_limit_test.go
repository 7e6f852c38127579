package service

import "testing"

// Rate limits key an IPv6 client by its /64, which one host commonly
// holds whole; other addresses as they are.
func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"127.0.0.1":            "127.0.0.1",
		"::ffff:192.0.2.1":     "::ffff:192.0.2.1",
		"fe80::1%eth0":         "fe80::/64",
		"not-an-address":       "not-an-address",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
