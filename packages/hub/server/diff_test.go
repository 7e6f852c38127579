package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// changeLines renders changes as "table op role change" lines.
func changeLines(d *hubapi.ReleaseDiff) string {
	if d == nil {
		return "<no diff>"
	}
	var out []string
	for _, c := range d.Changes {
		s := c.Table + " " + c.Op + " " + c.Role + " " + string(c.Change)
		if c.Columns != nil {
			s += " +" + strings.Join(c.Columns.Added, ",") + " -" + strings.Join(c.Columns.Removed, ",")
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

// TestReleaseDiff: GET /v1/projects/{p}/releases/diff between releases of
// one env and of two envs, and the diff a permissions apply answers with
// against the current release (SPEC §9, §15).
func TestReleaseDiff(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *hub) {
		devDB, _ := bootstrap(t, h)

		// No release yet: the apply result has no diff.
		var perms hubapi.Permissions
		h.expect(h.apply("dev", permsV1), 201, "", &perms)
		if perms.Diff != nil {
			t.Fatalf("diff without a current release: %+v", perms.Diff)
		}
		r1 := h.release("dev", "a1", 201)

		// The staged version against the current release, new and reused.
		narrowed := strings.Replace(permsV2, "columns: [id, email]", "columns: [id]", 1)
		for i, status := range []int{201, 200} {
			h.expect(h.apply("dev", narrowed), status, "", &perms)
			if perms.Diff == nil || perms.Diff.From != r1.ID || perms.Diff.To != perms.ID {
				t.Fatalf("apply %d: diff %+v, want from %s to %s", i, perms.Diff, r1.ID, perms.ID)
			}
			if got, want := changeLines(perms.Diff), "users select reader narrowed + -email\nusers delete admin gained"; got != want {
				t.Fatalf("apply %d: changes\n%s\nwant\n%s", i, got, want)
			}
		}
		r2 := h.release("dev", "a2", 201)

		diff := func(from, to string) (hubapi.ReleaseDiff, reply) {
			t.Helper()
			var d hubapi.ReleaseDiff
			r := h.do("GET", "/v1/projects/demo/releases/diff?from="+from+"&to="+to, nil)
			h.expect(r, 200, "", &d)
			return d, r
		}
		d, _ := diff(r1.ID, r2.ID)
		if d.From != r1.ID || d.To != r2.ID || changeLines(&d) != "users select reader narrowed + -email\nusers delete admin gained" {
			t.Fatalf("r1 → r2: %+v", d)
		}
		d, _ = diff(r2.ID, r1.ID)
		if got := changeLines(&d); got != "users select reader widened +email -\nusers delete admin lost" {
			t.Fatalf("r2 → r1:\n%s", got)
		}
		// No change is an empty list, not null.
		if _, r := diff(r2.ID, r2.ID); !strings.Contains(string(r.body), `"changes":[]`) {
			t.Fatalf("r2 → r2: %s", r.body)
		}
		// Releases of two envs of the project: prod's promoted copy of r2
		// allows what r2 allows.
		var p1 hubapi.Release
		h.expect(h.do("POST", "/v1/projects/demo/releases/promote", hubapi.Promote{From: "dev", To: "prod"}), 201, "", &p1)
		if d, _ := diff(p1.ID, r2.ID); len(d.Changes) != 0 {
			t.Fatalf("prod's copy differs: %+v", d)
		}
		if d, _ := diff(r1.ID, p1.ID); len(d.Changes) != 2 {
			t.Fatalf("r1 → prod: %+v", d)
		}

		// Another project's release is not found, as an unknown one.
		h.expect(h.do("POST", "/v1/projects", hubapi.CreateProject{Name: "other"}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/other/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
		h.expect(h.do("PUT", "/v1/projects/other/envs/dev/connections/main", hubapi.PutConnection{URL: devDB}), 201, "", nil)
		h.expect(h.do("POST", "/v1/projects/other/envs/dev/connections/main/snapshots", nil), 201, "", nil)
		h.expect(h.doH("PUT", "/v1/projects/other/envs/dev/permissions", permsV1, map[string]string{"Content-Type": "application/yaml"}), 201, "", nil)
		var foreign hubapi.Release
		h.expect(h.do("POST", "/v1/projects/other/envs/dev/releases", hubapi.CreateRelease{Ref: "x"}), 201, "", &foreign)

		for _, tc := range []struct {
			query  string
			status int
			code   apierr.Code
			names  string // what the message must name
		}{
			{"?to=" + r2.ID, 400, apierr.BadRequest, "from"},
			{"?from=" + r1.ID, 400, apierr.BadRequest, "to"},
			{"?from=" + r1.ID + "&to=a2", 400, apierr.BadRequest, "to"},
			{"?from=rel_01ARZ3NDEKTSV4RRFFQ69G5FAV&to=" + r2.ID, 404, apierr.NotFound, "rel_01ARZ3NDEKTSV4RRFFQ69G5FAV"},
			{"?from=" + r1.ID + "&to=" + foreign.ID, 404, apierr.NotFound, foreign.ID},
		} {
			r := h.do("GET", "/v1/projects/demo/releases/diff"+tc.query, nil)
			h.expect(r, tc.status, tc.code, nil)
			if e := r.envelope(t); !strings.Contains(e.Message, tc.names) {
				t.Errorf("%s: message %q does not name %q", tc.query, e.Message, tc.names)
			}
		}
		h.expect(h.do("GET", "/v1/projects/ghost/releases/diff?from="+r1.ID+"&to="+r2.ID, nil), 404, apierr.NotFound, nil)
		// The other project sees its own release, not demo's.
		var own hubapi.ReleaseDiff
		h.expect(h.do("GET", "/v1/projects/other/releases/diff?from="+foreign.ID+"&to="+foreign.ID, nil), 200, "", &own)
		h.expect(h.do("GET", "/v1/projects/other/releases/diff?from="+foreign.ID+"&to="+r1.ID, nil), 404, apierr.NotFound, nil)
		raw, _ := json.Marshal(own)
		if string(raw) != `{"from":"`+foreign.ID+`","to":"`+foreign.ID+`","changes":[]}` {
			t.Errorf("shape: %s", raw)
		}
	})
}
