package commands

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/core/authconfig"
)

// defaultAuthFile is where an env's end-user auth config lives in a project.
const defaultAuthFile = "config/auth.yaml"

func (a *app) authConfigCmd() *cobra.Command {
	return group("auth", "Apply and show the end-user auth config (trusted OIDC issuers) of an environment",
		`  stk auth apply --project demo --env dev --file config/auth.yaml
  stk auth show --project demo --env dev`,
		a.authApplyCmd(), a.authShowCmd())
}

func (a *app) authApplyCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply",
		Short: "Validate and stage an auth config (config/auth.yaml)",
		Long: `Send an auth config (format: docs/end-users.md) to the Hub, which validates
it and stages it as a new version for the environment: the OIDC issuers whose
end-user tokens Bridges accept there. Staging does not change what Bridges serve: the next
'stk release create' freezes it into the release. Issuers belong to an
environment: 'stk release promote' freezes the target environment's own
staged auth config, so apply one to each environment (a dev tenant of the
identity provider is not the prod one).

issuer and jwksUrl must be https:// URLs; loopback hosts (127.0.0.1, [::1],
localhost) may use http:// for development and tests. When the text equals
the staged version, that version is reused. A file that does not validate is
refused (exit 1, code SCHEMA_VALIDATION_FAILED) and each problem is printed as
file:line:column: path: message.

--file - reads the document from standard input.`,
		Example: `  stk auth apply --project demo --env dev --file config/auth.yaml
  stk auth apply --project demo --env prod --file config/auth.prod.yaml --json
  cat auth.yaml | stk auth apply --project demo --env dev --file -`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, err := a.requireProject()
			if err != nil {
				return err
			}
			env, err := a.requireEnv()
			if err != nil {
				return err
			}
			src, err := readDocument("--file", file, a.stdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			cfg, _, err := c.PutAuthConfig(cmd.Context(), project, env, src)
			if err != nil {
				return inFile(err, file)
			}
			cfg.Issuers = nonNil(cfg.Issuers)
			if a.json {
				return a.writeJSON(cfg)
			}
			state := "new"
			if cfg.Reused {
				state = "unchanged, staged version reused"
			}
			fmt.Fprintf(a.stdout, "staged auth config %s in %s/%s (%s, %s)\n",
				cfg.ID, project, env, state, plural(len(cfg.Issuers), "issuer"))
			for _, is := range cfg.Issuers {
				fmt.Fprintln(a.stdout, "  "+describeIssuer(is))
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&file, "file", "f", defaultAuthFile, "auth config file, or - for standard input")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	return c
}

func (a *app) authShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the staged auth config of an environment",
		Long: `Print the YAML text of the environment's staged auth config, exactly as it was
applied (so it can be saved back to a file). With --json, print the version:
id, hash, issuers (as parsed), createdAt, createdBy and source.

What Bridges serve is the auth config frozen in the current release ('stk
release current' shows its authId).`,
		Example: `  stk auth show --project demo --env dev
  stk auth show --project demo --env prod > config/auth.prod.yaml
  stk auth show --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			cfg, err := c.GetAuthConfig(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				cfg.Issuers = nonNil(cfg.Issuers)
				return a.writeJSON(cfg)
			}
			_, _ = io.WriteString(a.stdout, cfg.Source)
			if cfg.Source != "" && !strings.HasSuffix(cfg.Source, "\n") {
				fmt.Fprintln(a.stdout)
			}
			return nil
		}),
	}
}

// describeIssuer is one line about an issuer: name, iss and the options set.
func describeIssuer(is authconfig.Issuer) string {
	s := is.Name + ": " + is.Issuer
	if is.Audience != "" {
		s += " (audience " + is.Audience + ")"
	}
	if is.JWKSURL != "" {
		s += " (jwksUrl " + is.JWKSURL + ")"
	}
	if is.RolesClaim != "" {
		s += " (roles from " + is.RolesClaim + ")"
	}
	return s
}
