package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/santokit/santokit/packages/cli/internal/devstack"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/logic"
)

// defaultLogicDir is where a project keeps its logic files.
const defaultLogicDir = "logics"

func (a *app) logicCmd() *cobra.Command {
	return group("logic", "Apply, list, validate and run custom SQL logic (logics/**/*.sql)",
		`  stk logic validate --dir logics
  stk logic apply --project demo --env dev --dir logics
  stk logic list --project demo --env dev
  stk logic run --project demo --env dev _admin/purge --param days=30`,
		a.logicApplyCmd(), a.logicListCmd(), a.logicValidateCmd(), a.logicRunCmd())
}

func (a *app) logicApplyCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "apply",
		Short: "Validate and stage a logic directory on the Hub",
		Long: `Send every *.sql file under --dir (format: docs/logic.md) to the Hub, which
validates the whole directory or nothing: front matter, binds, one statement
per file, and each statement prepared on its connection in the environment
(recording its param and result column types). Each problem is printed as file:line: message and
nothing is staged (exit 1, code SCHEMA_VALIDATION_FAILED).

A logic's name is its path under --dir without .sql ("posts/mine"); a path
segment starting with '_' (or auth: private) makes it private: never callable
through /call, only with 'stk logic run'. Staging does not change what Bridges
serve: the next 'stk release create' freezes the staged set into the release.`,
		Example: `  stk logic apply --project demo --env dev --dir logics
  stk logic apply --project demo --env dev --dir logics --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			files, err := readLogicDir(dir)
			if err != nil {
				return err
			}
			set, err := c.PutLogics(cmd.Context(), project, env, files)
			if err != nil {
				return inLogicDir(err, dir)
			}
			set.Logics = nonNil(set.Logics)
			if a.json {
				return a.writeJSON(set)
			}
			state := "new"
			if set.Reused {
				state = "unchanged, staged version reused"
			}
			fmt.Fprintf(a.stdout, "staged logic set %s in %s/%s (%s, %s)\n", set.ID, project, env, state, plural(len(set.Logics), "logic"))
			for _, l := range set.Logics {
				fmt.Fprintf(a.stdout, "  logics/%s (%s)\n", l.Name, authText(l.Auth, l.Roles))
			}
			return nil
		}),
	}
	c.Flags().StringVar(&dir, "dir", defaultLogicDir, "the logic directory (every *.sql file under it)")
	_ = c.MarkFlagDirname("dir")
	return c
}

func (a *app) logicListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the staged logic of an environment",
		Long: `List the environment's staged logic set: each logic's name, who may call it,
its connection, params and result columns. With --json, print the logics as a
JSON array. What Bridges serve is the set frozen in the current release.`,
		Example: `  stk logic list --project demo --env dev
  stk logic list --project demo --env dev --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			set, err := c.GetLogics(cmd.Context(), project, env)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(nonNil(set.Logics))
			}
			t := newTable(a.stdout, "NAME", "AUTH", "CONNECTION", "PARAMS", "RETURNS")
			for _, l := range set.Logics {
				params := make([]string, 0, len(l.Params))
				for _, p := range l.Params {
					s := p.Name + " " + p.Type
					if p.Required {
						s += "!"
					}
					params = append(params, s)
				}
				returns := "affected"
				if len(l.Columns) > 0 {
					cols := make([]string, 0, len(l.Columns))
					for _, c := range l.Columns {
						cols = append(cols, c.Name)
					}
					returns = strings.Join(cols, ",")
				}
				ro := ""
				if l.Readonly {
					ro = " (readonly)"
				}
				t.row("logics/"+l.Name, authText(l.Auth, l.Roles)+ro, l.Connection, orDash(strings.Join(params, ", ")), returns)
			}
			t.flush()
			return nil
		}),
	}
}

// validateLogicOut is the --json shape of a successful `logic validate`.
type validateLogicOut struct {
	OK     bool     `json:"ok"`
	Logics []string `json:"logics"`
}

func (a *app) logicValidateCmd() *cobra.Command {
	var dir, engine string
	c := &cobra.Command{
		Use:   "validate",
		Short: "Check a logic directory offline (front matter, binds, one statement)",
		Long: `Check every *.sql file under --dir without a Hub or a database: names, front
matter (unknown keys, auth, params, types, defaults), binds (undeclared or
unused), exactly one statement, lexed as --engine's SQL (postgres or sqlite).
Whether each statement prepares on the database is checked by 'stk logic
apply'. Problems print as file:line: message (exit 1, code
SCHEMA_VALIDATION_FAILED).`,
		Example: `  stk logic validate --dir logics
  stk logic validate --dir logics --engine sqlite --json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if engine != logic.EnginePostgres && engine != logic.EngineSQLite {
				return usageErrorf("--engine must be postgres or sqlite, not %q", engine)
			}
			files, err := readLogicDir(dir)
			if err != nil {
				return err
			}
			logics, problems := logic.Parse(files, func(string) string { return engine })
			if len(problems) > 0 {
				e := apierr.Validation(apierr.Summary("logic files", problems), problems)
				return inLogicDir(&cliError{exit: ExitError, code: e.Code, message: e.Message, details: e.Details}, dir)
			}
			out := validateLogicOut{OK: true, Logics: []string{}}
			for _, l := range logics {
				out.Logics = append(out.Logics, l.Name)
			}
			if a.json {
				return a.writeJSON(out)
			}
			fmt.Fprintf(a.stdout, "ok: %s in %s\n", plural(len(logics), "logic"), dir)
			return nil
		}),
	}
	c.Flags().StringVar(&dir, "dir", defaultLogicDir, "the logic directory (every *.sql file under it)")
	c.Flags().StringVar(&engine, "engine", logic.EnginePostgres, "SQL dialect to lex the statements as: postgres or sqlite")
	_ = c.MarkFlagDirname("dir")
	return c
}

func (a *app) logicRunCmd() *cobra.Command {
	var (
		params     []string
		paramsJSON string
	)
	c := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a logic of the current release through the Hub (private ones included)",
		Long: `Run a logic of the environment's current release on its connection, as an
operator (project role deployer or higher). This is the one way to run a
private logic (a name segment starting with '_', or auth: private): the
maintenance and back-office statements that ship with a release but are never
reachable from /call. The run is audited with the logic's name, never its
values.

--param k=v gives one param as text: a string, uuid, date or timestamptz param
takes v as is; others read v as their JSON value (--param limit=5,
--param ids='[1,2]'). --params-json gives them all as one JSON object. Values
are always bound, never spliced into SQL. :auth.sub and :auth.claims.* are
NULL and :auth.roles is empty: an operator is not an end user.

Prints the rows (or the affected count); with --json, {data} or
{meta: {affected}} as /call answers.`,
		Example: `  stk logic run --project demo --env dev _admin/deactivate --param email=a@example.com
  stk logic run --project demo --env prod reports/daily --params-json '{"day": "2024-05-01"}' --json`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			project, env, c, err := a.envScope()
			if err != nil {
				return err
			}
			in := hubapi.RunLogic{Name: strings.TrimPrefix(args[0], "logics/")}
			if paramsJSON != "" {
				if err := json.Unmarshal([]byte(paramsJSON), &in.Params); err != nil {
					return usageErrorf("--params-json must be a JSON object of param name to value")
				}
			}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErrorf("--param %q: want name=value", kv)
				}
				if in.Text == nil {
					in.Text = map[string]string{}
				}
				if _, dup := in.Text[k]; dup {
					return usageErrorf("--param %s is given twice", k)
				}
				in.Text[k] = v
			}
			res, err := c.RunLogic(cmd.Context(), project, env, in)
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(res)
			}
			if res.Meta != nil {
				fmt.Fprintf(a.stdout, "%s affected\n", plural(int(res.Meta.Affected), "row"))
				return nil
			}
			return a.printRows(res.Data)
		}),
	}
	c.Flags().StringArrayVar(&params, "param", nil, "a param as name=value (repeatable)")
	c.Flags().StringVar(&paramsJSON, "params-json", "", "all params as one JSON object")
	return c
}

// printRows prints a JSON array of row objects as a table, columns in
// the first row's order.
func (a *app) printRows(data json.RawMessage) error {
	var rows []orderedRow
	if err := json.Unmarshal(data, &rows); err != nil {
		return runtimeErrorf(apierr.Internal, "the Hub answered rows this stk cannot read")
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "(no rows)")
		return nil
	}
	t := newTable(a.stdout, rows[0].keys...)
	for _, r := range rows {
		cells := make([]string, len(r.values))
		for i, v := range r.values {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			cells[i] = s
		}
		t.row(cells...)
	}
	t.flush()
	return nil
}

// orderedRow is a JSON object with its keys in document order.
type orderedRow struct {
	keys   []string
	values []json.RawMessage
}

func (r *orderedRow) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		r.keys = append(r.keys, fmt.Sprint(k))
		r.values = append(r.values, v)
	}
	return nil
}

// readLogicDir reads every *.sql file under dir, keyed by its '/'-separated
// path relative to dir; other files are left alone.
func readLogicDir(dir string) (map[string]string, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, usageErrorf("--dir %s is not a directory", dir)
	}
	files, err := devstack.ReadLogics(os.DirFS(dir))
	if err != nil {
		return nil, runtimeErrorf(apierr.BadRequest, "reading %s: %v", dir, err)
	}
	return files, nil
}

// inLogicDir classifies err and names each problem's file under dir, so
// that problems print as logics/posts/mine.sql:5: message.
func inLogicDir(err error, dir string) error {
	ce := classifyOr(err, func(err error) *cliError {
		return &cliError{exit: ExitError, code: apierr.Internal, message: err.Error()}
	})
	problems := detailList[apierr.Problem](ce.details, "problems")
	if len(problems) == 0 {
		return ce
	}
	for i := range problems {
		if problems[i].File != "" {
			problems[i].File = filepath.ToSlash(filepath.Join(dir, problems[i].File))
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	if ce.details == nil {
		ce.details = map[string]any{}
	}
	ce.details["problems"] = problems
	return ce
}

// authText is who may call a logic, for listings.
func authText(auth string, roles []string) string {
	if auth == logic.AuthRoles {
		return "roles " + strings.Join(roles, ",")
	}
	return auth
}
