package commands

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stk dev token mints for the issuer of a running stk dev: the Bridge takes
// its tokens as the user they name; --role, --claim and --json; errors.
func TestDevToken(t *testing.T) {
	dir := t.TempDir()
	if r := stk(t, "", nil, "", "dev", "token", dir, "--sub", "alice"); r.code != 1 ||
		!strings.Contains(r.stderr, "no dev issuer in "+dir+"/.santokit: run stk dev in that directory first") || !strings.Contains(r.stderr, "NOT_FOUND") {
		t.Errorf("before stk dev: exit %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"dev", "token", dir},
		{"dev", "token", dir, "--sub", "alice", "--claim", "org"},
		{"dev", "token", dir, "--sub", "alice", "--claim", "n:=nope"},
		{"dev", "token", dir, "--sub", "alice", "--claim", "sub=bob"},
		{"dev", "token", dir, "--sub", "alice", "--ttl", "-1h"},
	} {
		if r := stk(t, "", nil, "", args...); r.code != 2 || !strings.Contains(r.stderr, "error: ") {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}

	d := startDev(t, dir)
	var out struct {
		Token, Sub, Issuer string
		Roles              []string
		Claims             map[string]any
		ExpiresAt          time.Time
	}
	r := stk(t, "", nil, "", "dev", "token", dir, "--sub", "bob", "--role", "editor", "--claim", "org=acme", "--claim", "level:=3", "--ttl", "10m", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Sub != "bob" || len(out.Roles) != 1 || out.Roles[0] != "editor" || out.Claims["org"] != "acme" || out.Claims["level"] != 3.0 ||
		time.Until(out.ExpiresAt) > 10*time.Minute || time.Until(out.ExpiresAt) < 9*time.Minute {
		t.Errorf("--json %s", r.stdout)
	}
	parts := strings.Split(out.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", out.Token)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims["sub"] != "bob" || claims["org"] != "acme" || claims["level"] != 3.0 || claims["iss"] != out.Issuer {
		t.Errorf("claims %s (%v)", payload, err)
	}

	r = stk(t, "", nil, "", "dev", "token", dir, "--sub", "bob")
	tok := strings.TrimSuffix(r.stdout, "\n")
	if r.code != 0 || strings.ContainsAny(tok, " \n") || strings.Count(tok, ".") != 2 {
		t.Fatalf("plain output %q (exit %d %s)", r.stdout, r.code, r.stderr)
	}
	req, _ := http.NewRequest(http.MethodPost, d.out.BridgeURL+"/call", strings.NewReader(`{"path":"db/main/notes/select"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Santokit-Project", "dev")
	req.Header.Set("X-Santokit-Env", "dev")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"author":"bob"`) || strings.Contains(string(body), `"author":"alice"`) {
		t.Errorf("bob's token: %d %s", res.StatusCode, body)
	}
}
