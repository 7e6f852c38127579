package hubclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/santokit/santokit/packages/core/hubapi"
)

// YAMLContentType is the content type of a permissions document (SPEC §15).
const YAMLContentType = "application/yaml"

// PutPermissions calls PUT …/permissions with the YAML text as the body;
// created is true on 201 (a new staged version), false on 200 (the latest
// version reused).
func (c *Client) PutPermissions(ctx context.Context, project, env string, yaml []byte) (out hubapi.Permissions, created bool, err error) {
	r, err := c.DoRaw(ctx, http.MethodPut, envPath(project, env)+"/permissions", YAMLContentType, yaml, &out)
	if err != nil {
		return out, false, err
	}
	return out, r.Status == http.StatusCreated, nil
}

// GetPermissions calls GET …/permissions: the latest staged version with
// its source.
func (c *Client) GetPermissions(ctx context.Context, project, env string) (hubapi.Permissions, error) {
	var out hubapi.Permissions
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/permissions", nil, &out)
	return out, err
}

// CreateRelease calls POST …/releases; created is true on 201, false on 200
// (the current release reused).
func (c *Client) CreateRelease(ctx context.Context, project, env string, in hubapi.CreateRelease) (out hubapi.Release, created bool, err error) {
	r, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/releases", in, &out)
	if err != nil {
		return out, false, err
	}
	return out, r.Status == http.StatusCreated, nil
}

// ListReleases calls GET …/releases (newest first).
func (c *Client) ListReleases(ctx context.Context, project, env string) (hubapi.List[hubapi.Release], error) {
	var out hubapi.List[hubapi.Release]
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/releases", nil, &out)
	return out, err
}

// CurrentRelease calls GET …/releases/current.
func (c *Client) CurrentRelease(ctx context.Context, project, env string) (hubapi.Release, error) {
	var out hubapi.Release
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/releases/current", nil, &out)
	return out, err
}

// GetRelease calls GET …/releases/{id} (with exposes).
func (c *Client) GetRelease(ctx context.Context, project, env, id string) (hubapi.Release, error) {
	var out hubapi.Release
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/releases/"+seg(id), nil, &out)
	return out, err
}

// Rollback calls POST …/releases/rollback.
func (c *Client) Rollback(ctx context.Context, project, env string, in hubapi.Rollback) (hubapi.Release, error) {
	var out hubapi.Release
	_, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/releases/rollback", in, &out)
	return out, err
}

// Promote calls POST /v1/projects/{p}/releases/promote.
func (c *Client) Promote(ctx context.Context, project string, in hubapi.Promote) (hubapi.Release, error) {
	var out hubapi.Release
	_, err := c.Do(ctx, http.MethodPost, "/v1/projects/"+seg(project)+"/releases/promote", in, &out)
	return out, err
}

// CreateAPIKey calls POST …/apikeys: the only answer that carries the key.
func (c *Client) CreateAPIKey(ctx context.Context, project, env string, in hubapi.CreateAPIKey) (hubapi.CreatedAPIKey, error) {
	var out hubapi.CreatedAPIKey
	_, err := c.Do(ctx, http.MethodPost, envPath(project, env)+"/apikeys", in, &out)
	return out, err
}

// ListAPIKeys calls GET …/apikeys.
func (c *Client) ListAPIKeys(ctx context.Context, project, env string) (hubapi.List[hubapi.APIKey], error) {
	var out hubapi.List[hubapi.APIKey]
	_, err := c.Do(ctx, http.MethodGet, envPath(project, env)+"/apikeys", nil, &out)
	return out, err
}

// RevokeAPIKey calls DELETE …/apikeys/{keyId}: the revoked key.
func (c *Client) RevokeAPIKey(ctx context.Context, project, env, keyID string) (hubapi.APIKey, error) {
	var out hubapi.APIKey
	_, err := c.Do(ctx, http.MethodDelete, envPath(project, env)+"/apikeys/"+seg(keyID), nil, &out)
	return out, err
}

// ListAudit calls GET /v1/projects/{p}/audit when project is set, else
// GET /v1/audit (org-level events; of org when it is set). limit 0 and
// before "" are left out.
func (c *Client) ListAudit(ctx context.Context, project, org string, limit int, before string) (hubapi.List[hubapi.AuditEvent], error) {
	var out hubapi.List[hubapi.AuditEvent]
	p := "/v1/audit"
	if project != "" {
		p = "/v1/projects/" + seg(project) + "/audit"
	}
	q := url.Values{}
	if project == "" && org != "" {
		q.Set("org", org)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	_, err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}
