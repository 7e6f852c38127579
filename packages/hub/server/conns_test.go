package server

import (
	"strings"
	"testing"
	"time"
)

// STK_READ_TIMEOUT and STK_MAX_CONNECTIONS (SPEC §12) are read, checked,
// and shown in the effective-config log line.
func TestConnectionLimitsConfig(t *testing.T) {
	env := map[string]string{"STK_READ_TIMEOUT": "3s", "STK_MAX_CONNECTIONS": "42"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.ReadTimeout != 3*time.Second || c.MaxConnections != 42 {
		t.Fatalf("parsed %+v %v", c.Limits, err)
	}
	for k, v := range map[string]string{"STK_READ_TIMEOUT": "-1s", "STK_MAX_CONNECTIONS": "many"} {
		if _, err := ConfigFromEnv(func(key string) string { return map[string]string{k: v}[key] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	h := startHub(t, "sqlite")
	if !strings.Contains(h.logs.String(), `"readTimeout":"10s","maxConnections":10000`) {
		t.Fatalf("the effective config does not show the connection bounds: %s", h.logs.String())
	}
}
