// Package plan is the pure /call planner (SPEC §4, ARCHITECTURE §1): bundle +
// request → SQL text, bound args and the result's shape, or a §3 error. It
// does no I/O and reads no clock or randomness (times come in as
// arguments), so the Go Bridge and the WebAssembly build for edge runtimes
// share one source of truth for /call. Keep its imports small: no pgx, no
// cel-go, no net.
//
// Compile turns a bundle into an Env once per bundle load; per request the
// Bridge calls ParsePath, Env.Authenticate (API keys) and Env.Plan. The
// value and SQL decisions are written down in types.go and sql.go. The
// WebAssembly build is `GOOS=wasip1 GOARCH=wasm go build
// ./packages/core/plan/...`; deps_test.go guards the imports that keep it
// possible.
package plan

// Op is an Auto CRUD operation.
type Op string

// Auto CRUD operations (SPEC §4.1).
const (
	Select Op = "select"
	Insert Op = "insert"
	Update Op = "update"
	Delete Op = "delete"
)

// Target is a parsed /call path (SPEC §4.1).
type Target struct {
	// Logic is set for logics/{name}; Connection/Table/Op for db/….
	Logic      string
	Connection string
	Table      string
	Op         Op
}

// Caller is who calls, as the credential step established it (§4.2).
type Caller struct {
	// Anonymous: no credential at all. (The zero Caller is not anonymous:
	// it is a credential without roles.)
	Anonymous bool
	// KeyID of the API key, when an API key was presented.
	KeyID string
	// Roles of the API key (or of a verified end user, later).
	Roles []string
	// EndUser: a verified end user; only end users match `authenticated`.
	EndUser bool
	// Subject is a verified end user's `sub` (request.auth.sub): the value
	// the owner shorthand (SPEC §5.3) compares the owner column with.
	Subject string
	// Claims are a verified end user's other claims as JSON-decoded values
	// (string, json.Number — or float64 —, bool, nil, []any, map[string]any):
	// request.auth.claims.<name> (SPEC §5.2). Nil for API keys.
	Claims map[string]any
	// Superuser is the Bridge's STK_DISABLE_AUTH dev mode (SPEC §4.2): no
	// authorization, every op and column allowed. Never set otherwise.
	Superuser bool
}

// Limits are the Bridge's safety limits (SPEC §4.6) that shape plans.
type Limits struct {
	DefaultLimit int // rows per select without limit (100)
	MaxLimit     int // STK_MAX_LIMIT (1000)
	MaxBatch     int // STK_MAX_BATCH (1000)
}

// DefaultLimits are the defaults of SPEC §4.3/§4.6.
func DefaultLimits() Limits { return Limits{DefaultLimit: 100, MaxLimit: 1000, MaxBatch: 1000} }

// Column is one column of a plan's result, with its normalized type
// (SPEC §1) so the executor can encode values per SPEC §4.5.
type Column struct {
	Name string
	Type string
}

// Plan is everything the executor needs to run one /call.
type Plan struct {
	Connection string
	Engine     string // "postgres" | "sqlite"
	Table      string
	Op         Op
	// SQL and Args are the one statement to run. SQL depends only on the
	// request's shape, so prepared statements are reused.
	SQL  string
	Args []any
	// CountSQL/CountArgs give meta.total for select with count: true
	// (empty otherwise). CountArgs shares Args' backing array (capped, so
	// appending to it is safe).
	CountSQL  string
	CountArgs []any
	// Columns is the shape of returned rows, in the order of the SQL's
	// select list (empty for returning: false). It is shared between plans
	// of the same Env: read it, never modify it.
	Columns []Column
	// Write is true for insert/update/delete (run in a transaction).
	Write bool
	// CapAffected is true for update/delete: the executor rolls back and
	// answers 400 when more rows than its cap are touched (SPEC §4.6).
	CapAffected bool
	// Check is true when the statement's last result column is the rule's
	// check for the written row (1: holds), after the Columns: it is not
	// part of the response. The executor rolls back and answers 403
	// CheckMessage when a row's value is not 1 (SPEC §5.2).
	Check        bool
	CheckMessage string

	// Logic is the name of the logic a logics/… plan runs (SPEC §6);
	// empty for Auto CRUD. Its Op is empty, Columns are the result
	// columns the Hub described (empty: the statement returns no rows,
	// and the response is data [] with meta.affected, SPEC §4.5).
	Logic string
	// Readonly logic runs in a read-only transaction: a statement that
	// writes fails (403, decision 0024). Write is set for the others.
	Readonly bool
	// MaxRows caps the rows a logic may return (STK_MAX_LIMIT): more is
	// 400 and the transaction is rolled back, never truncation (SPEC
	// §4.6). 0: no cap (Auto CRUD selects are capped by their limit).
	MaxRows int

	// argBuf backs Args for the common short statements, so that a plan
	// and its args are one allocation.
	argBuf [6]any
}
