package hubclient

import (
	"context"
	"net/http"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// PutLogics calls PUT …/logics with the whole logic directory.
func (c *Client) PutLogics(ctx context.Context, project, env string, files map[string]string) (hubapi.LogicSet, error) {
	var out hubapi.LogicSet
	_, err := c.Do(ctx, http.MethodPut, envPath(project, env)+"/logics", hubapi.ApplyLogics{Files: files}, &out)
	return out, err
}

// GetLogics calls GET …/logics: the staged logic set.
func (c *Client) GetLogics(ctx context.Context, project, env string) (hubapi.LogicSet, error) {
	var out hubapi.LogicSet
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/logics", nil, &out)
	return out, err
}

// RunLogic calls POST …/logics/run.
func (c *Client) RunLogic(ctx context.Context, project, env string, in hubapi.RunLogic) (hubapi.LogicResult, error) {
	var out hubapi.LogicResult
	_, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/logics/run", in, &out)
	return out, err
}
