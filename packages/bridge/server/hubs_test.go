package server

import (
	"strings"
	"testing"
)

// STK_HUB_URL takes a comma list of Hubs (SPEC §12); each is checked like
// a single one.
func TestHubURLList(t *testing.T) {
	for _, c := range []struct {
		urls, wantErr string
	}{
		{"http://127.0.0.1:4000,http://127.0.0.1:4001", ""},
		{"https://hub-a.example.com, https://hub-b.example.com/", ""},
		{"https://hub-a.example.com,http://hub-b.example.com", "hub-b.example.com is plain HTTP"},
		{"https://hub-a.example.com,,https://hub-b.example.com", "want http(s)://host"},
		{"https://hub-a.example.com,https://u:secret@hub-b.example.com", "must not carry credentials"},
	} {
		cfg := testConfig(c.urls)
		err := cfg.Check()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.urls, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err = %v, want %q", c.urls, err, c.wantErr)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%s: the error shows the password: %v", c.urls, err)
		}
	}
}
