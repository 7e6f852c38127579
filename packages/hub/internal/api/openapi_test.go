package api

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/santokit/santokit/packages/core/openapi/openapitest"
)

// TestOpenAPIDocumentCurrent fails when openapi.json (what GET
// /openapi.json serves) is not what the operations build;
// STK_UPDATE_OPENAPI=1 (make openapi) rewrites it.
func TestOpenAPIDocumentCurrent(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STK_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile("openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(doc, OpenAPIDocument) {
		t.Fatal("packages/hub/internal/api/openapi.json is stale: run `make openapi` and commit it")
	}
}

// TestOpenAPIRoutes fails when a route the Hub registers is missing from
// its document, or the document names one the Hub does not serve (method,
// path and {param} names).
func TestOpenAPIRoutes(t *testing.T) {
	d, err := openapitest.Load(OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	served := Routes()
	documented := d.Routes()
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but missing from openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json documents %q, which the Hub does not serve", r)
		}
	}
}

// TestOpenAPIExamples validates every request and response example of the
// document against its schema (JSON Schema 2020-12).
func TestOpenAPIExamples(t *testing.T) {
	d, err := openapitest.Load(OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range d.Examples() {
		n++
		if e.Err != nil {
			t.Errorf("%s: %v", e.Where, e.Err)
		}
	}
	if n < len(Routes())/2 {
		t.Errorf("only %d examples checked for %d routes", n, len(Routes()))
	}
}
