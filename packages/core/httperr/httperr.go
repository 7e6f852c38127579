// Package httperr writes the §3 error envelope of package apierr to an HTTP
// response, for the Hub's and the Bridge's edges alike. It is kept apart from
// apierr so that the WebAssembly planner does not link net/http.
package httperr

import (
	"encoding/json"
	"net/http"

	"github.com/santokit/santokit/packages/core/apierr"
)

// Write sends err as a §3 envelope. The request id header is expected to be
// set already by the server's middleware; requestID is echoed in the body.
func Write(w http.ResponseWriter, requestID string, err error) {
	e := apierr.As(err)
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(e.Envelope(requestID))
}
