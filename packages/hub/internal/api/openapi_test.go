package api

import (
	"testing"

	"github.com/santokit/santokit/packages/core/openapi/openapitest"
)

// TestOpenAPIDocument: openapi.json is current, documents exactly the
// Hub's routes, and its examples validate against its schemas.
func TestOpenAPIDocument(t *testing.T) {
	openapitest.CheckDocument(t, OpenAPI, OpenAPIDocument, "openapi.json", Routes())
}
