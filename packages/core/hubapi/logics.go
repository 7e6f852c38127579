package hubapi

import (
	"encoding/json"
	"time"

	"github.com/santokit/santokit/packages/core/logic"
)

// ApplyLogics is the body of PUT …/logics (SPEC §15): the whole logic
// directory, file path relative to logics/ → text.
type ApplyLogics struct {
	Files map[string]string `json:"files"`
}

// LogicSet is a staged logic set version of an env (PUT/GET …/logics).
type LogicSet struct {
	ID        string    `json:"id"`
	Project   string    `json:"project"`
	Env       string    `json:"env"`
	Hash      string    `json:"hash"`
	Logics    []Logic   `json:"logics"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	// Reused: the set equals the staged version, which is returned.
	Reused bool `json:"reused,omitempty"`
}

// Logic is the summary of one logic of a set: how it is called and what it
// returns, without its SQL (the files are the operator's own; the release
// bundle carries the compiled statements).
type Logic struct {
	Name       string         `json:"name"`
	Auth       string         `json:"auth"`
	Roles      []string       `json:"roles,omitempty"`
	Connection string         `json:"connection"`
	Readonly   bool           `json:"readonly,omitempty"`
	Params     []logic.Param  `json:"params"`
	Columns    []logic.Column `json:"columns"`
}

// RunLogic is the body of POST …/logics/run (stk logic run, SPEC §6).
type RunLogic struct {
	Name   string                     `json:"name"`
	Params map[string]json.RawMessage `json:"params,omitempty"`
	// Text holds params given as text (stk logic run --param k=v), each
	// converted by its declared type: a string param takes the text as
	// is, others read it as their JSON value (5, true, ["a"]).
	Text map[string]string `json:"text,omitempty"`
}

// LogicResult answers a logic run like POST /call (SPEC §4.5): rows in
// Data (a JSON array of objects, columns in the statement's order) for a
// statement that returns rows, Meta.Affected otherwise.
type LogicResult struct {
	Data json.RawMessage `json:"data,omitempty"`
	Meta *LogicMeta      `json:"meta,omitempty"`
}

// LogicMeta is the meta of a logic run without rows.
type LogicMeta struct {
	Affected int64 `json:"affected"`
}
