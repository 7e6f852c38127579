// Package logic is the model of custom SQL logic (SPEC §6): one
// logics/**/*.sql file with YAML front matter (auth, connection, params,
// readonly) and one statement. The Hub parses and validates the files at
// `stk logic apply`, prepares each statement on the env's connection to
// record its parameter and result types, and freezes the set into the
// release; the Bridge's planner (packages/core/plan) binds a call's params
// to the compiled statement. It does no I/O, so the planner's WebAssembly
// build may import it.
package logic

// Auth modes of the front matter's auth key (SPEC §6).
const (
	AuthPublic        = "public"
	AuthAuthenticated = "authenticated"
	AuthPrivate       = "private"
	// AuthRoles: `auth: {roles: [admin]}`; Logic.Roles lists them.
	AuthRoles = "roles"
)

// Param types (SPEC §6); ArrayPrefix+scalar+">" is an array of a scalar.
const (
	TypeString      = "string"
	TypeInteger     = "integer"
	TypeNumber      = "number"
	TypeBoolean     = "boolean"
	TypeUUID        = "uuid"
	TypeTimestamptz = "timestamptz"
	TypeDate        = "date"
	TypeJSON        = "json"
	ArrayPrefix     = "array<"
)

// Bind kinds: what fills one positional parameter of the compiled statement.
const (
	BindParam = "param" // a declared param, by Name
	BindSub   = "sub"   // :auth.sub (NULL for API-key callers)
	BindRoles = "roles" // :auth.roles, as an array of text
	BindClaim = "claim" // :auth.claims.<Name> (NULL when absent)
)

// Logic is one parsed, validated and compiled logic file. It is serialized
// into the release bundle, so every field has a stable lowerCamelCase name.
type Logic struct {
	// Name is the path under logics/ without .sql ("posts/mine").
	Name string `json:"name"`
	// Auth is one of the Auth* modes; Roles holds the roles of AuthRoles.
	// A name with a segment starting with "_" is AuthPrivate whatever the
	// file says.
	Auth  string   `json:"auth"`
	Roles []string `json:"roles,omitempty"`
	// Connection is the connection the statement runs on ("main" unless set).
	Connection string `json:"connection"`
	// Readonly logic runs in a read-only transaction (and SDKs may retry it).
	Readonly bool    `json:"readonly,omitempty"`
	Params   []Param `json:"params"`
	// Source is the statement as written (after the front matter);
	// SourceLine is the file line it starts on, for messages.
	Source     string `json:"source"`
	SourceLine int    `json:"sourceLine,omitempty"`
	// SQL is Source with every bind rewritten to the engine's positional
	// parameter ($1… on PostgreSQL, ?NNN on SQLite), one per distinct bind;
	// Binds[i] fills parameter i+1.
	SQL   string `json:"sql"`
	Binds []Bind `json:"binds"`
	// Columns are the result columns as the database described them at
	// apply (empty for a statement that returns no rows); ParamTypes the
	// database's types of the positional parameters, in order.
	Columns    []Column `json:"columns"`
	ParamTypes []string `json:"paramTypes,omitempty"`
}

// Param is a declared param of the front matter.
type Param struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
	// Default is the JSON text of the default value, or empty for none.
	Default string `json:"default,omitempty"`
	Line    int    `json:"line,omitempty"`
}

// Bind is one positional parameter of the compiled statement.
type Bind struct {
	Kind string `json:"kind"`
	// Name is the param name (BindParam) or the claim name (BindClaim).
	Name string `json:"name,omitempty"`
}

// Column is a result column with its normalized type (SPEC §1), so the
// Bridge encodes values as for Auto CRUD (SPEC §4.5).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Private reports whether the logic can never be called through /call.
func (l *Logic) Private() bool { return l.Auth == AuthPrivate }

// IsUUID reports whether s is a UUID in its hyphenated text form,
// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$:
// the check of a uuid param's default here and of a uuid value in the
// planner.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
