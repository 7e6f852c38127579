package e2e

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/santokit/santokit/internal/devissuer"
)

// issuer-start NAME FILE starts a loopback OIDC issuer (internal/devissuer,
// in the test process, stopped with the script), sets $NAME_ISSUER to its
// URL and writes FILE: an auth config (SPEC §7.3) that trusts it under the
// name NAME, for stk auth apply. Each env of a script can get its own, as
// each env of a real project has its own tenant of the identity provider.
func cmdIssuerStart(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if neg || len(args) != 2 {
		ts.Fatalf("usage: issuer-start NAME FILE")
	}
	name := args[0]
	if st.issuers[name] != nil {
		ts.Fatalf("issuer-start: issuer %s is already running", name)
	}
	iss, err := devissuer.Start(devissuer.Options{})
	ts.Check(err)
	ts.Defer(func() { _ = iss.Close() })
	if st.issuers == nil {
		st.issuers = map[string]*devissuer.Issuer{}
	}
	st.issuers[name] = iss
	ts.Setenv(strings.ToUpper(name)+"_ISSUER", iss.URL())
	cfg := fmt.Sprintf("version: 1\nissuers:\n  - name: %s\n    issuer: %s\n", name, iss.URL())
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(cfg), 0o644))
}

// token ISSUER VAR SUB [ROLE…] sets $VAR to a token of the issuer started
// as ISSUER for the end user SUB with ROLEs, valid for ten minutes (never
// printed, so that the no-secret checks can look for it in logs).
func cmdToken(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if neg || len(args) < 3 {
		ts.Fatalf("usage: token ISSUER VAR SUB [ROLE...]")
	}
	iss := st.issuers[args[0]]
	if iss == nil {
		ts.Fatalf("token: no issuer %s (run issuer-start first)", args[0])
	}
	tok, err := iss.Mint(args[2], args[3:], nil, 10*time.Minute)
	ts.Check(err)
	ts.Setenv(args[1], tok)
}
