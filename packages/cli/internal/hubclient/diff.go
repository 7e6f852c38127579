package hubclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// ReleaseDiff calls GET /v1/projects/{p}/releases/diff?from=&to=: the
// access changes from one release of the project to another (SPEC §9).
func (c *Client) ReleaseDiff(ctx context.Context, project, from, to string) (hubapi.ReleaseDiff, error) {
	var out hubapi.ReleaseDiff
	q := url.Values{"from": {from}, "to": {to}}
	_, err := c.Do(ctx, http.MethodGet, "/v1/projects/"+seg(project)+"/releases/diff?"+q.Encode(), nil, &out)
	return out, err
}
