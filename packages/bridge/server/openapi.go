package server

import (
	_ "embed"
	"github.com/santokit/santokit/packages/core/buildinfo"
	"net/http"

	"github.com/santokit/santokit/packages/core/openapi"
)

// OpenAPIDocument is the Bridge's OpenAPI 3.1 document (SPEC §4, §15):
// POST /call and the ops routes. Built by OpenAPI, kept in the repository
// as openapi.json and served at GET /openapi.json; a test keeps the file
// current (`make openapi` rewrites it). The Workers runtime serves the
// same /call (SPEC §16).
//
//go:embed openapi.json
var OpenAPIDocument []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) { openapi.Serve(w, r, OpenAPIDocument) }

// The /call bodies are described by hand: params depend on the path (Auto
// CRUD op or a logic's own params), and rows on the release's tables.
var (
	callRequest = openapi.Schema{
		"type": "object", "required": []string{"path"}, "additionalProperties": false,
		"properties": map[string]any{
			"path": openapi.Schema{"type": "string", "pattern": `^(db/[^/]+/[^/]+/(select|insert|update|delete)|logics/.+)$`,
				"description": "db/{connection}/{table}/{op} (Auto CRUD) or logics/{name} (SPEC §4.1)."},
			"params": openapi.Schema{"type": "object", "description": "Auto CRUD params (SPEC §4.3), or a logic's declared params (SPEC §6).",
				"properties": map[string]any{
					"select":    openapi.Schema{"oneOf": []any{openapi.Schema{"const": "*"}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}}},
					"where":     openapi.Schema{"type": "object", "description": "The filter grammar of SPEC §4.4."},
					"orderBy":   openapi.Schema{"oneOf": []any{orderBy, openapi.Schema{"type": "array", "items": orderBy}}},
					"limit":     openapi.Schema{"type": "integer", "minimum": 0},
					"offset":    openapi.Schema{"type": "integer", "minimum": 0},
					"count":     openapi.Schema{"type": "boolean"},
					"data":      openapi.Schema{"oneOf": []any{openapi.Schema{"type": "object"}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object"}, "minItems": 1}}},
					"returning": openapi.Schema{"oneOf": []any{openapi.Schema{"const": "*"}, openapi.Schema{"const": false}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}}},
				}},
		},
	}
	orderBy      = openapi.Schema{"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": openapi.Schema{"enum": []string{"asc", "desc"}}}
	callResponse = openapi.Schema{
		"type": "object", "required": []string{"data", "meta"}, "additionalProperties": false,
		"properties": map[string]any{
			"data": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object"},
				"description": "The rows, typed by the snapshot's normalized column types (SPEC §4.5)."},
			"meta": openapi.Schema{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"total":    openapi.Schema{"type": "integer", "minimum": 0, "description": "select with count: true"},
				"affected": openapi.Schema{"type": "integer", "minimum": 0, "description": "rows written (insert, update, delete, a logic without rows)"},
			}},
		},
	}
)

// OpenAPI builds the Bridge's document.
func OpenAPI() ([]byte, error) {
	health := openapi.Response{Status: http.StatusOK, Body: &openapi.Body{Value: Health{Status: "ok", Mode: ModeEnforced, Hub: "reachable"}}}
	return openapi.Build(openapi.Info{
		Title:   "Santokit Bridge API",
		Version: "1",
		Description: "The data plane of Santokit (SPEC §4): POST /call runs Auto CRUD and logic against the project's database " +
			"under the current release's permissions. Every error is the §3 envelope (components.schemas.ErrorEnvelope) " +
			"and every response carries X-Request-Id.",
	}, map[string]openapi.SecurityScheme{
		"apiKey":  {"type": "apiKey", "in": "header", "name": "X-Santokit-Api-Key", "description": "stk_<keyId>_<secret> (SPEC §7.2)."},
		"endUser": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An end-user JWT of a trusted issuer (SPEC §7.3); needs X-Santokit-Project and X-Santokit-Env."},
	}, []openapi.Operation{
		{Pattern: "POST /call", ID: "call", Tag: "call", Security: []string{"apiKey", "endUser", ""},
			Summary:     "Run an Auto CRUD op or a logic (SPEC §4).",
			Description: "Checks run in the order of SPEC §4.2; a caller without a credential reaches only public tables and logic.",
			Params: []openapi.Param{{Name: "X-Santokit-Project", In: "header", Description: "the project (required with a JWT or no credential)"},
				{Name: "X-Santokit-Env", In: "header", Description: "the env (required with a JWT or no credential)"}},
			Request: &openapi.Body{Schema: callRequest, Examples: map[string]any{
				"select": map[string]any{"path": "db/main/users/select",
					"params": map[string]any{"where": map[string]any{"status": "active"}, "orderBy": map[string]string{"name": "asc"}, "limit": 10, "count": true}},
				"insert": map[string]any{"path": "db/main/users/insert", "params": map[string]any{"data": []any{map[string]any{"name": "Ada"}}, "returning": []string{"id", "name"}}},
				"update": map[string]any{"path": "db/main/users/update", "params": map[string]any{"data": map[string]any{"status": "away"}, "where": map[string]any{"id": 1}}},
				"logic":  map[string]any{"path": "logics/posts/mine", "params": map[string]any{"status": "draft"}},
			}},
			Responses: []openapi.Response{{Status: http.StatusOK, Body: &openapi.Body{Schema: callResponse, Examples: map[string]any{
				"select": map[string]any{"data": []any{map[string]any{"id": 1, "name": "Ada", "status": "active"}}, "meta": map[string]any{"total": 57}},
				"insert": map[string]any{"data": []any{map[string]any{"id": 58, "name": "Ada"}}, "meta": map[string]any{"affected": 1}},
				"logic":  map[string]any{"data": []any{map[string]any{"id": 3, "title": "Draft"}}, "meta": map[string]any{}},
			}}}}},
		{Pattern: "GET /healthz", ID: "healthz", Tag: "ops", Summary: "The process is up (SPEC §12).",
			Responses: []openapi.Response{{Status: http.StatusOK, Body: &openapi.Body{Value: Health{Status: "ok", Mode: ModeEnforced}}}}},
		{Pattern: "GET /readyz", ID: "readyz", Tag: "ops", Summary: "The Hub answers, or every cached bundle is fresh (503 otherwise).",
			Responses: []openapi.Response{health}},
		{Pattern: "GET /metrics", ID: "metrics", Tag: "ops", Summary: "Prometheus metrics.",
			Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{Media: openapi.Text, Schema: openapi.Schema{"type": "string"}}}}},
		{Pattern: "GET /v1/version", ID: "version", Tag: "ops", Summary: "The Bridge's version, commit and build date.",
			Responses: []openapi.Response{{Status: http.StatusOK, Body: &openapi.Body{Value: buildinfo.Info{Version: "v1.2.3",
				Commit: "3f2c1ab5d0e4c6b7a8f9e0d1c2b3a4f5e6d7c8b9", Date: "2026-12-01T10:00:00Z"}}}}},
		{Pattern: "GET /openapi.json", ID: "openapi", Tag: "ops", Summary: "This document.",
			Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{Schema: openapi.Schema{"type": "object"}}, Headers: []string{"ETag", "Cache-Control"}}}},
	})
}
