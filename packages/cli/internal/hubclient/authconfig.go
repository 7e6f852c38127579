package hubclient

import (
	"context"
	"net/http"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// PutAuthConfig calls PUT …/auth with the auth.yaml text as the body;
// created is true on 201 (a new staged version), false on 200 (the staged
// version reused).
func (c *Client) PutAuthConfig(ctx context.Context, project, env string, yaml []byte) (out hubapi.AuthConfig, created bool, err error) {
	r, err := c.DoRaw(ctx, http.MethodPut, envPath(project, env)+"/auth", YAMLContentType, yaml, &out)
	if err != nil {
		return out, false, err
	}
	return out, r.Status == http.StatusCreated, nil
}

// GetAuthConfig calls GET …/auth: the staged version with its source.
func (c *Client) GetAuthConfig(ctx context.Context, project, env string) (hubapi.AuthConfig, error) {
	var out hubapi.AuthConfig
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/auth", nil, &out)
	return out, err
}
