package hubclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/santokit/santokit/packages/core/hubapi"
)

func TestReleaseRoutes(t *testing.T) {
	type seen struct{ method, path, ct, body string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p := r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			p += "?" + r.URL.RawQuery
		}
		got = append(got, seen{r.Method, p, r.Header.Get("Content-Type"), string(b)})
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"id":"perm_1","reused":true}`)
		case r.URL.Path == "/v1/projects/demo/envs/dev/releases":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"rel_1"}`)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	c, _ := New(srv.URL)
	ctx := context.Background()

	perm, created, err := c.PutPermissions(ctx, "demo", "dev", []byte("version: 1\n"))
	if err != nil || created || !perm.Reused {
		t.Fatalf("PutPermissions = %+v %v %v", perm, created, err)
	}
	rel, created, err := c.CreateRelease(ctx, "demo", "dev", hubapi.CreateRelease{Ref: "a1"})
	if err != nil || !created || rel.ID != "rel_1" {
		t.Fatalf("CreateRelease = %+v %v %v", rel, created, err)
	}
	_, _ = c.GetPermissions(ctx, "demo", "dev")
	_, _ = c.ListReleases(ctx, "demo", "dev")
	_, _ = c.CurrentRelease(ctx, "demo", "dev")
	_, _ = c.GetRelease(ctx, "demo", "dev", "rel_1")
	_, _ = c.Rollback(ctx, "demo", "prod", hubapi.Rollback{To: "rel_1"})
	_, _ = c.Promote(ctx, "demo", hubapi.Promote{From: "dev", To: "prod", Force: true})
	_, _ = c.CreateAPIKey(ctx, "demo", "dev", hubapi.CreateAPIKey{Name: "s", Roles: []string{"r"}})
	_, _ = c.ListAPIKeys(ctx, "demo", "dev")
	_, _ = c.RevokeAPIKey(ctx, "demo", "dev", "key_1")
	_, _ = c.ListAudit(ctx, "demo", "", 0, "")
	_, _ = c.ListAudit(ctx, "", "", 10, "evt_1")

	want := []seen{
		{"PUT", "/v1/projects/demo/envs/dev/permissions", "application/yaml", "version: 1\n"},
		{"POST", "/v1/projects/demo/envs/dev/releases", "application/json", `{"ref":"a1"}`},
		{"GET", "/v1/projects/demo/envs/dev/permissions", "", ""},
		{"GET", "/v1/projects/demo/envs/dev/releases", "", ""},
		{"GET", "/v1/projects/demo/envs/dev/releases/current", "", ""},
		{"GET", "/v1/projects/demo/envs/dev/releases/rel_1", "", ""},
		{"POST", "/v1/projects/demo/envs/prod/releases/rollback", "application/json", `{"to":"rel_1"}`},
		{"POST", "/v1/projects/demo/releases/promote", "application/json", `{"from":"dev","to":"prod","force":true}`},
		{"POST", "/v1/projects/demo/envs/dev/apikeys", "application/json", `{"name":"s","roles":["r"]}`},
		{"GET", "/v1/projects/demo/envs/dev/apikeys", "", ""},
		{"DELETE", "/v1/projects/demo/envs/dev/apikeys/key_1", "", ""},
		{"GET", "/v1/projects/demo/audit", "", ""},
		{"GET", "/v1/audit?before=evt_1&limit=10", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
