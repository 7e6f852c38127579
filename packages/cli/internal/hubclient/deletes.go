package hubclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// deleteQuery is the query every DELETE of a connection, env or project
// carries: the confirming name and whether to force (SPEC §15, decision
// 0016).
func deleteQuery(confirm string, force bool) string {
	q := url.Values{"confirm": {confirm}}
	if force {
		q.Set("force", "true")
	}
	return "?" + q.Encode()
}

// DeleteConnection calls DELETE …/connections/{name}?confirm=&force=.
func (c *Client) DeleteConnection(ctx context.Context, project, env, name, confirm string, force bool) (hubapi.Connection, error) {
	var out hubapi.Connection
	_, err := c.Do(ctx, http.MethodDelete, envPath(project, env)+"/connections/"+seg(name)+deleteQuery(confirm, force), nil, &out)
	return out, err
}

// DeleteEnv calls DELETE /v1/projects/{p}/envs/{e}?confirm=&force=.
func (c *Client) DeleteEnv(ctx context.Context, project, env, confirm string, force bool) (hubapi.Env, error) {
	var out hubapi.Env
	_, err := c.Do(ctx, http.MethodDelete, envPath(project, env)+deleteQuery(confirm, force), nil, &out)
	return out, err
}

// DeleteProject calls DELETE /v1/projects/{p}?confirm=&force=.
func (c *Client) DeleteProject(ctx context.Context, project, confirm string, force bool) (hubapi.Project, error) {
	var out hubapi.Project
	_, err := c.Do(ctx, http.MethodDelete, "/v1/projects/"+seg(project)+deleteQuery(confirm, force), nil, &out)
	return out, err
}
