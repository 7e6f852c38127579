package httpserve

import "testing"

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:4000": true, "127.9.9.9:1": true, "localhost": true, "LocalHost:4002": true,
		"[::1]": true, "[::1]:3000": true, "::1": true,
		"": false, "evil.example": false, "evil.example:4000": false, "127.0.0.1.evil.example": false,
		"localhost.evil.example:80": false, "0.0.0.0:4000": false, "10.0.0.1": false, "[::]:4000": false, "localhost.": false,
	} {
		if got := LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:0": true, "localhost:4000": true, "[::1]:80": true, "0.0.0.0:4000": false, ":4000": false, "": false} {
		if got := LoopbackAddr(addr); got != want {
			t.Errorf("LoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}
