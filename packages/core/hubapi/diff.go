package hubapi

import "github.com/santokit/santokit/packages/core/accessdiff"

// ReleaseDiff answers GET /v1/projects/{p}/releases/diff?from=&to= (SPEC
// §9): per table, op and role, the access gained or lost from release From
// to release To. Changes is [] when nothing changes.
//
// A permissions apply result carries the same shape (Permissions.Diff),
// From being the env's current release and To the staged version.
type ReleaseDiff struct {
	From    string              `json:"from"`
	To      string              `json:"to"`
	Changes []accessdiff.Change `json:"changes"`
}
