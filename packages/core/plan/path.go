package plan

import (
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/names"
)

// maxPathLen bounds a /call path. Real paths are a few dozen bytes; the bound
// keeps echoed paths and logic names short.
const maxPathLen = 1024

// ParsePath parses the path of a /call request (SPEC §4.1):
//
//   - db/{connection}/{table}/{op}: connection follows the resource-name rule
//     (SPEC §2), table is any non-empty segment without '/', op is one of
//     select, insert, update, delete;
//   - logics/{name}: name is one or more non-empty segments separated by '/'.
//
// Anything else is 400 BAD_REQUEST with a message naming the problem. The
// path is not trimmed or unescaped: it is matched exactly as sent.
func ParsePath(path string) (Target, error) {
	if len(path) > maxPathLen {
		return Target{}, pathErr("path is longer than %d bytes", maxPathLen)
	}
	if rest, ok := strings.CutPrefix(path, "db/"); ok {
		conn, rest, ok1 := strings.Cut(rest, "/")
		table, op, ok2 := strings.Cut(rest, "/")
		switch {
		case !ok1 || !ok2:
			return Target{}, pathErr("path %q must be db/{connection}/{table}/{op}", clip(path))
		case strings.IndexByte(op, '/') >= 0:
			return Target{}, pathErr("path %q has too many segments: want db/{connection}/{table}/{op}", clip(path))
		case conn == "":
			return Target{}, pathErr("path %q has an empty connection", clip(path))
		case !names.IsResource(conn):
			return Target{}, pathErr("connection %q in path is not a valid name (^[a-z][a-z0-9-]{0,62}$)", clip(conn))
		case table == "":
			return Target{}, pathErr("path %q has an empty table", clip(path))
		}
		o, ok := parseOp(op)
		if !ok {
			return Target{}, pathErr("unknown operation %q in path: want select, insert, update or delete", clip(op))
		}
		return Target{Connection: conn, Table: table, Op: o}, nil
	}
	if name, ok := strings.CutPrefix(path, "logics/"); ok {
		if name == "" {
			return Target{}, pathErr("path %q has an empty logic name", clip(path))
		}
		if name[0] == '/' || name[len(name)-1] == '/' || strings.Contains(name, "//") {
			return Target{}, pathErr("logic name %q has an empty segment", clip(name))
		}
		return Target{Logic: name}, nil
	}
	if path == "" {
		return Target{}, pathErr("path is required: db/{connection}/{table}/{op} or logics/{name}")
	}
	return Target{}, pathErr("path %q must be db/{connection}/{table}/{op} or logics/{name}", clip(path))
}

func parseOp(s string) (Op, bool) {
	switch Op(s) {
	case Select, Insert, Update, Delete:
		return Op(s), true
	}
	return "", false
}

func pathErr(format string, args ...any) error {
	msg := apierr.New(apierr.BadRequest, format, args...)
	return msg.WithDetail("problems", []apierr.Problem{{Path: "path", Message: msg.Message}})
}
