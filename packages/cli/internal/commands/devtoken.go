package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/devstack"
)

// devTokenCmd is `stk dev token` (SPEC §11, §14): an end-user token signed
// by the dev issuer whose keys stk dev keeps in DIR/.santokit/.
func (a *app) devTokenCmd() *cobra.Command {
	var (
		sub    string
		roles  []string
		claims []string
		ttl    time.Duration
	)
	c := &cobra.Command{
		Use:   "token [DIR] --sub S [--role R]... [--claim k=v]...",
		Short: "Print an end-user token signed by stk dev's OIDC issuer",
		Long: `Print a JWT for end user S, signed by the development OIDC issuer that
'stk dev' runs for DIR (default: the current directory), with the keys it
keeps in DIR/.santokit/. It works while stk dev runs and after: the keys
and the issuer's URL are kept there, so tokens stay valid across restarts
(unless --issuer-addr changes the issuer's address).

The token's sub is S (request.auth.sub in permissions; the owner column's
value for owner: tables), its roles claim the --role values (an end user
also always has the role authenticated), and each --claim k=v adds the
string claim k (k:=JSON adds a JSON value: a number, true, a list…), which
permissions read as request.auth.claims.k. Use it as
  Authorization: Bearer <token>
with X-Santokit-Project: dev and X-Santokit-Env: dev.

With --json: {token, sub, roles, claims, issuer, expiresAt}.`,
		Example: `  stk dev token --sub alice
  TOKEN=$(stk dev token --sub bob --role editor --claim org=acme --ttl 24h)
  curl -s http://127.0.0.1:3000/call -H "Authorization: Bearer $TOKEN" \
    -H 'X-Santokit-Project: dev' -H 'X-Santokit-Env: dev' \
    -d '{"path":"db/main/notes/select"}'`,
		Args:              optionalDirArg,
		ValidArgsFunction: dirCompletion,
		RunE: action(func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if !cmd.Flags().Changed("sub") {
				return usageErrorf("--sub is required: the end user's id, e.g. --sub alice")
			}
			cl, err := parseClaims(claims)
			if err != nil {
				return err
			}
			tok, err := devstack.MintToken(dir, sub, roles, cl, ttl)
			if err != nil {
				return devError(err)
			}
			if a.json {
				return a.writeJSON(tok)
			}
			fmt.Fprintln(a.stdout, tok.Token)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&sub, "sub", "", "the end user's id: the token's sub (required)")
	f.StringArrayVar(&roles, "role", nil, "a role of the end user (repeatable)")
	f.StringArrayVar(&claims, "claim", nil, "a claim k=v (a string) or k:=JSON (repeatable)")
	f.DurationVar(&ttl, "ttl", devstack.DefaultTokenTTL, "how long the token stays valid")
	_ = c.RegisterFlagCompletionFunc("sub", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("role", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("claim", cobra.NoFileCompletions)
	return c
}

// parseClaims reads --claim values: k=v is the string v, k:=JSON a JSON
// value (so that numbers and lists can be compared as such).
func parseClaims(in []string) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == ":" {
			return nil, usageErrorf("--claim %q: want name=value or name:=JSON, e.g. --claim org=acme", kv)
		}
		var val any = v
		if name, isJSON := strings.CutSuffix(k, ":"); isJSON {
			k = name
			if err := json.Unmarshal([]byte(v), &val); err != nil {
				return nil, usageErrorf("--claim %s: the value after := is not JSON: %v", k, err)
			}
		}
		if _, dup := out[k]; dup {
			return nil, usageErrorf("--claim %s: given twice", k)
		}
		out[k] = val
	}
	return out, nil
}
