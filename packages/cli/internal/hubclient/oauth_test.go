package hubclient

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// The URLs handed to a browser never carry the Hub URL's user info, and
// carry the PKCE parameters escaped.
func TestOAuthPageURLs(t *testing.T) {
	c, err := New("https://user:hunter2@hub.example.com/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	start := c.OAuthStartURL("corp", "http://127.0.0.1:5555/callback", "abc-_", "s t&x")
	u, err := url.Parse(start)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.User != nil || u.Host != "hub.example.com" || u.Path != "/prefix/v1/auth/oauth/corp/start" ||
		q.Get("redirect_uri") != "http://127.0.0.1:5555/callback" || q.Get("code_challenge") != "abc-_" ||
		q.Get("code_challenge_method") != "S256" || q.Get("state") != "s t&x" {
		t.Errorf("start URL %s", start)
	}
	if got := c.OAuthDoneURL("unknown_email"); got != "https://hub.example.com/prefix/v1/auth/oauth/done?result=unknown_email" {
		t.Errorf("done URL %s", got)
	}
}

func TestDevicePoll(t *testing.T) {
	cases := []struct {
		err      error
		reason   string
		interval time.Duration
	}{
		{&Error{Status: 429, Details: map[string]any{"reason": "slow_down", "interval": float64(10)}, RetryAfter: 3 * time.Second}, "slow_down", 10 * time.Second},
		{&Error{Status: 429, Details: map[string]any{"reason": "slow_down"}, RetryAfter: 3 * time.Second}, "slow_down", 3 * time.Second},
		{&Error{Status: 400, Details: map[string]any{"reason": "authorization_pending"}}, "authorization_pending", 0},
		{&Error{Status: 500}, "", 0},
		{errors.New("boom"), "", 0},
	}
	for _, tc := range cases {
		reason, interval := DevicePoll(tc.err)
		if reason != tc.reason || interval != tc.interval {
			t.Errorf("%v: %q %s, want %q %s", tc.err, reason, interval, tc.reason, tc.interval)
		}
	}
}
