package hubclient

import (
	"context"
	"net/http"

	"github.com/santokit/santokit/packages/core/surface"
)

// CurrentSurface calls GET …/releases/current/surface: what the env's
// current release lets callers reach (stk gen types).
func (c *Client) CurrentSurface(ctx context.Context, project, env string) (surface.Surface, error) {
	var out surface.Surface
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/releases/current/surface", nil, &out)
	return out, err
}
