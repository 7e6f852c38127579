package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/service"
)

// keyV2 is a second master key, for rings that rotate away from the test
// Hub's v1.
var keyV2 = "v2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{10}, 32))

// reopenHub closes h's server and starts another on the same store with
// the key ring keys (the rest of the configuration as h had it). It keeps
// h's access token: the signing key that signed it is in the store, and
// must still open under the new ring.
func reopenHub(t *testing.T, h *hub, keys string) (*hub, error) {
	t.Helper()
	cfg := h.srv.cfg
	cfg.MasterKeys = keys
	h.srv.Close()
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(context.Background(), cfg, log)
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &hub{srv: srv, t: t, url: ts.URL, logs: h.logs, dbFile: h.dbFile, token: h.token}, nil
}

// POST …/connections/{name}/rotate replaces the URL of an existing
// connection: a new version under the active key, the env's revision
// bumped, never a create.
func TestRotateConnectionRoute(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		data := dataDB(t)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		base := "/v1/projects/demo/envs/dev/connections/main"
		var conn hubapi.Connection
		h.expect(h.do("PUT", base, hubapi.PutConnection{URL: data}), 201, "", &conn)
		rev := h.revision(t, "dev")

		// Rotating to a database that is down fails its test and changes
		// nothing; with noTest it rotates, and the test uses the new URL.
		down := "postgres://app:" + password + "@" + closedPort(t) + "/app"
		h.expect(h.do("POST", base+"/rotate", hubapi.PutConnection{URL: down}), 503, apierr.ServiceUnavailable, nil)
		if got := h.revision(t, "dev"); got != rev {
			t.Fatalf("a failed rotation bumped the revision %d → %d", rev, got)
		}
		var rotated hubapi.Connection
		h.expect(h.do("POST", base+"/rotate", hubapi.PutConnection{URL: down, NoTest: true}), 200, "", &rotated)
		if rotated.Version != conn.Version+1 || rotated.Engine != "postgres" || !strings.Contains(rotated.URL, "app:***@") ||
			rotated.Name != "main" || !rotated.CreatedAt.Equal(conn.CreatedAt) {
			t.Fatalf("rotated %+v (was %+v)", rotated, conn)
		}
		if got := h.revision(t, "dev"); got != rev+1 {
			t.Fatalf("revision %d → %d, want one bump", rev, got)
		}
		h.expect(h.do("POST", base+"/test", nil), 503, apierr.ServiceUnavailable, nil)
		var read hubapi.Connection
		h.expect(h.do("GET", base, nil), 200, "", &read)
		if read.Version != rotated.Version || read.URL != rotated.URL {
			t.Fatalf("read %+v after rotate %+v", read, rotated)
		}

		// And back, naming the (same) engine.
		h.expect(h.do("POST", base+"/rotate", hubapi.PutConnection{Engine: "postgres", URL: data}), 200, "", &rotated)
		if rotated.Version != conn.Version+2 {
			t.Fatalf("second rotate %+v", rotated)
		}
		var test hubapi.ConnectionTest
		h.expect(h.do("POST", base+"/test", nil), 200, "", &test)
		if !test.OK {
			t.Fatalf("test after rotating back %+v", test)
		}

		rev = h.revision(t, "dev")
		for _, tc := range []struct {
			path   string
			body   any
			status int
			code   apierr.Code
		}{
			{base + "/rotate", hubapi.PutConnection{Engine: "sqlite", URL: "sqlite://./x.db"}, 400, apierr.BadRequest},
			{base + "/rotate", hubapi.PutConnection{URL: "sqlite://./x.db"}, 400, apierr.BadRequest},
			{base + "/rotate", hubapi.PutConnection{Engine: "postgres"}, 400, apierr.BadRequest},
			{base + "/rotate", `{"url": "` + data + `", "extra": 1}`, 400, apierr.BadRequest},
			{base + "/rotate", "", 400, apierr.BadRequest},
			{"/v1/projects/demo/envs/dev/connections/other/rotate", hubapi.PutConnection{URL: data}, 404, apierr.NotFound},
			{"/v1/projects/demo/envs/nope/connections/main/rotate", hubapi.PutConnection{URL: data}, 404, apierr.NotFound},
			{"/v1/projects/nope/envs/dev/connections/main/rotate", hubapi.PutConnection{URL: data}, 404, apierr.NotFound},
		} {
			r := h.do("POST", tc.path, tc.body)
			h.expect(r, tc.status, tc.code, nil)
			if strings.Contains(string(r.body), password) {
				t.Fatalf("%s: error holds the password", tc.path)
			}
		}
		// Refused rotations changed nothing, and created nothing.
		if got := h.revision(t, "dev"); got != rev {
			t.Fatalf("a refused rotate bumped the revision %d → %d", rev, got)
		}
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/connections/other", nil), 404, apierr.NotFound, nil)
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/connections/main", nil), 200, "", &read)
		if read.Version != rotated.Version {
			t.Fatalf("version %d after refused rotates, want %d", read.Version, rotated.Version)
		}
		h.expect(h.do("GET", "/v1/projects/demo/envs/dev/connections/main/rotate", nil), 405, apierr.MethodNotAllowed, nil)

		var audit hubapi.List[hubapi.AuditEvent]
		h.expect(h.do("GET", "/v1/projects/demo/audit", nil), 200, "", &audit)
		n := 0
		for _, ev := range audit.Items {
			if ev.Action == "connection.rotate" && ev.Target == "demo/dev/main" && ev.Outcome == "success" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d connection.rotate events, want 2: %+v", n, audit.Items)
		}
		h.assertNoSecret()
	})
}

// revision reads an env's revision (the ETag of its bundle) from the store.
func (h *hub) revision(t *testing.T, env string) int64 {
	t.Helper()
	e, err := h.srv.store.GetEnv(t.Context(), "demo", env)
	if err != nil {
		t.Fatal(err)
	}
	return e.Revision
}

// The Hub refuses to start with a key ring that lacks a version stored
// secrets are sealed with; after `keys rotate` with both keys, the old one
// can go.
func TestStartRefusesMissingKeyVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		data := dataDB(t)
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		for _, name := range []string{"main", "replica"} {
			h.expect(h.do("PUT", "/v1/projects/demo/envs/dev/connections/"+name, hubapi.PutConnection{URL: data}), 201, "", nil)
		}
		v1 := h.srv.cfg.MasterKeys

		// v2 alone: v1's secrets could not be opened.
		_, err := reopenHub(t, h, keyV2)
		if err == nil {
			t.Fatal("the Hub started without the key its secrets are sealed with")
		}
		msg := err.Error()
		t.Log(msg)
		for _, want := range []string{"STK_MASTER_KEYS lacks key version v1, which seals", "connections: 2",
			"add it back to the ring (the active key stays first), run stk-hub keys rotate, then remove it"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error %q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, strings.TrimPrefix(keyV2, "v2:")) || strings.Contains(msg, strings.TrimPrefix(v1, "v1:")) {
			t.Fatal("the refusal shows key material")
		}

		// v2 first, v1 kept: starts; rotate; then v2 alone starts too.
		h2, err := reopenHub(t, h, keyV2+","+v1)
		if err != nil {
			t.Fatal(err)
		}
		ring, err := secrets.Parse(keyV2 + "," + v1)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := service.RotateKeys(t.Context(), h2.srv.store, ring, service.RotateOptions{BatchSize: 1})
		if err != nil || rep.Rotated < 2 || rep.Tables[0].Rotated != 2 {
			t.Fatalf("rotate: %+v %v", rep, err)
		}
		h3, err := reopenHub(t, h2, keyV2)
		if err != nil {
			t.Fatalf("the Hub refused to start after rotating: %v", err)
		}
		var test hubapi.ConnectionTest
		h3.expect(h3.do("POST", "/v1/projects/demo/envs/dev/connections/replica/test", nil), 200, "", &test)
		if !test.OK {
			t.Fatalf("test %+v", test)
		}
		h3.assertNoSecret()
	})
}
