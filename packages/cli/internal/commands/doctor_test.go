package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stkAs runs the CLI in-process as a build of the given version.
func stkAs(t *testing.T, version, hubURL string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &errOut, func(k string) string {
		if k == EnvHubURL {
			return hubURL
		}
		return env[k]
	})
	a.version = version
	code := a.execute(context.Background(), args)
	return result{code, out.String(), errOut.String()}
}

// doctorHub is a fake Hub whose clock is off by skew, of the given
// version, that answers whoami with status (200: user ada).
func doctorHub(t *testing.T, version string, skew time.Duration, whoami int) *fakeHub {
	h := newFakeHub(t)
	date := map[string]string{"Date": time.Now().Add(skew).UTC().Format(http.TimeFormat)}
	h.routes["GET /readyz"] = reply{status: 200, body: `{"status":"ok"}`}
	h.routes["GET /v1/version"] = reply{status: 200, body: `{"version":"` + version + `"}`, header: date}
	if whoami == 200 {
		h.on("GET /v1/auth/whoami", 200, `{"kind":"user","id":"usr_1","name":"ada@example.com","orgs":[],"projects":[]}`)
	} else {
		h.on("GET /v1/auth/whoami", whoami, `{"error":{"code":"UNAUTHORIZED","message":"invalid token","requestId":"req_1"}}`)
	}
	return h
}

func doctorBridge(t *testing.T, ready int, version string) *fakeHub {
	b := newFakeHub(t)
	b.on("GET /readyz", ready, `{"status":"ok"}`)
	if ready != 200 {
		b.on("GET /readyz", ready, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"no fresh bundle","requestId":"req_2"}}`)
	}
	if version != "" {
		b.on("GET /v1/version", 200, `{"version":"`+version+`"}`)
	}
	return b
}

// checksOf decodes the one --json document of stk doctor.
func checksOf(t *testing.T, stdout string) (doctorOut, map[string]doctorCheck) {
	t.Helper()
	var out doctorOut
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document: %s", stdout)
	}
	by := map[string]doctorCheck{}
	for _, c := range out.Checks {
		by[c.Name] = c
	}
	return out, by
}

func TestDoctorAllGood(t *testing.T) {
	hub := doctorHub(t, "v1.4.0", 0, 200)
	bridge := doctorBridge(t, 200, "v1.4.3")
	r := stkAs(t, "v1.4.2", hub.srv.URL, map[string]string{EnvToken: "stkpat_x", EnvBridgeURL: bridge.srv.URL}, "doctor")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{`(?m)^ok +hub +the Hub at http://127\.0\.0\.1:\d+ is ready`, `(?m)^ok +clock +`, `(?m)^ok +login +logged in as ada@example.com \(STK_TOKEN\)$`,
		`(?m)^ok +version +stk v1\.4\.2, Hub v1\.4\.0: same major\.minor version$`, `(?m)^ok +bridge +`, `(?m)^ok +bridge-version +Bridge v1\.4\.3, Hub v1\.4\.0`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("stdout lacks %s:\n%s", want, r.stdout)
		}
	}
	// The readiness and version routes are asked without the credential.
	for _, req := range hub.requests() {
		if auth := req.header.Get("Authorization"); (req.path == "/readyz" || req.path == "/v1/version") && auth != "" {
			t.Errorf("%s sent %q", req.path, auth)
		}
	}

	r = stkAs(t, "v1.4.2", hub.srv.URL, map[string]string{EnvToken: "stkpat_x"}, "doctor", "--json", "--bridge", bridge.srv.URL)
	out, by := checksOf(t, r.stdout)
	if r.code != 0 || !out.OK || len(out.Checks) != 6 || out.Client != "v1.4.2" || out.Bridge != bridge.srv.URL {
		t.Errorf("--json: exit %d %+v", r.code, out)
	}
	for name, c := range by {
		if c.Status != checkOK {
			t.Errorf("%s: %+v", name, c)
		}
	}
}

// Each failed check says what to fix, the command exits 1, and --json
// still prints exactly one document.
func TestDoctorFailures(t *testing.T) {
	hub := doctorHub(t, "v1.5.1", -5*time.Minute, 401)
	bridge := doctorBridge(t, 503, "v1.4.0")
	r := stkAs(t, "v1.4.2", hub.srv.URL, map[string]string{EnvToken: "stkpat_x"}, "doctor", "--json", "--bridge", bridge.srv.URL)
	if r.code != ExitError {
		t.Errorf("exit %d", r.code)
	}
	out, by := checksOf(t, r.stdout)
	if out.OK {
		t.Error("ok with failures")
	}
	for name, want := range map[string][2]string{
		"hub":     {checkOK, ""},
		"clock":   {checkFail, "NTP"},
		"login":   {checkFail, "stk token create"},
		"version": {checkFail, "upgrade stk to v1.5.*"},
		"bridge":  {checkFail, "STK_BRIDGE_TOKEN"},
	} {
		if c := by[name]; c.Status != want[0] || !strings.Contains(c.Fix, want[1]) {
			t.Errorf("%s: %+v, want %s with fix %q", name, c, want[0], want[1])
		}
	}
	if c := by["clock"]; !strings.Contains(c.Message, "ahead of the Hub's") {
		t.Errorf("clock: %s", c.Message)
	}
	if _, ok := by["bridge-version"]; ok {
		t.Error("bridge-version checked although the Bridge is not ready")
	}
	if !strings.Contains(r.stderr, "error: 4 check(s) failed: clock, login, version, bridge (code CONFLICT)") {
		t.Errorf("stderr %q", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "stkpat_x") {
		t.Error("the token was printed")
	}

	// Without STK_TOKEN and without a login: the fix is stk login.
	r = stkAs(t, "v1.5.0", hub.srv.URL, map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, "doctor")
	if r.code != ExitError || !regexp.MustCompile(`(?m)^fail +login +not logged in: run stk login --hub http://127\.0\.0\.1:\d+$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^ +fix: run stk login --hub http://127`).MatchString(r.stdout) {
		t.Errorf("no login: exit %d\n%s", r.code, r.stdout)
	}
}

// An unreachable Hub fails its check and skips those that need it; a
// development build is a warning, not a failure.
func TestDoctorUnreachableAndDev(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	r := stkAs(t, "v1.4.2", dead, map[string]string{EnvToken: "stkpat_x"}, "doctor", "--json")
	out, by := checksOf(t, r.stdout)
	if r.code != ExitError || out.OK || by["hub"].Status != checkFail || !strings.Contains(by["hub"].Fix, "--hub URL") ||
		by["login"].Status != checkSkip || by["clock"].Status != checkSkip || by["version"].Status != checkSkip {
		t.Errorf("dead Hub: exit %d %+v", r.code, out)
	}
	if !strings.Contains(r.stderr, "(code SERVICE_UNAVAILABLE)") {
		t.Errorf("stderr %q", r.stderr)
	}

	hub := doctorHub(t, "dev-0123456789ab", 0, 200)
	bridge := doctorBridge(t, 200, "") // a Bridge without GET /v1/version
	r = stkAs(t, "dev", hub.srv.URL, map[string]string{EnvToken: "stkpat_x"}, "doctor", "--bridge", bridge.srv.URL)
	if r.code != 0 || !regexp.MustCompile(`(?m)^warn +version +stk dev, Hub dev-0123456789ab: stk and Hub are development builds`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^warn +bridge-version +the Bridge does not report its version`).MatchString(r.stdout) {
		t.Errorf("dev builds: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if r := stkAs(t, "v1", hub.srv.URL, nil, "doctor", "--bridge", "ftp://x"); r.code != ExitUsage {
		t.Errorf("--bridge ftp: exit %d", r.code)
	}
}

func TestVersionCheck(t *testing.T) {
	hub := doctorHub(t, "v1.4.0", 0, 200)
	r := stkAs(t, "v1.4.7", hub.srv.URL, nil, "version", "--check")
	if r.code != 0 || !regexp.MustCompile(`(?m)^verdict +compatible$`).MatchString(r.stdout) {
		t.Errorf("compatible: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	r = stkAs(t, "v1.3.0", hub.srv.URL, nil, "version", "--check", "--json")
	var out versionCheckOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != ExitError || out.Verdict != "incompatible" ||
		out.Hub != "v1.4.0" || out.Client != "v1.3.0" || !strings.Contains(out.Advice, "upgrade stk to v1.4.*") {
		t.Errorf("incompatible: exit %d %v %s", r.code, err, r.stdout)
	}
	if !strings.Contains(r.stderr, "error: stk v1.3.0, Hub v1.4.0: the major.minor versions differ: upgrade stk to v1.4.*") {
		t.Errorf("stderr %q", r.stderr)
	}

	r = stkAs(t, "dev", hub.srv.URL, nil, "version", "--check")
	if r.code != 0 || !strings.Contains(r.stdout, "unknown") || !strings.Contains(r.stderr, "warning: stk dev, Hub v1.4.0: stk is a development build") {
		t.Errorf("dev: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Without --check an unreachable Hub is no error; with it, it is.
	dead := doctorHub(t, "v1.4.0", 0, 200)
	dead.srv.Close()
	if r := stkAs(t, "v1.4.0", dead.srv.URL, nil, "version"); r.code != 0 {
		t.Errorf("plain version, Hub down: exit %d", r.code)
	}
	if r := stkAs(t, "v1.4.0", dead.srv.URL, nil, "version", "--check"); r.code != ExitError || !strings.Contains(r.stderr, "cannot reach the Hub") {
		t.Errorf("--check, Hub down: exit %d %s", r.code, r.stderr)
	}
}
