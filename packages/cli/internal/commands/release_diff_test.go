package commands

import (
	"strings"
	"testing"
)

// diffJSON is a Hub answer with one change of each detail.
const diffJSON = `{"from":"` + relID1 + `","to":"` + relID2 + `","changes":[` +
	`{"table":"posts","op":"select","role":"public","change":"gained"},` +
	`{"table":"users","op":"select","role":"reader","change":"narrowed","columns":{"added":[],"removed":["email"]}},` +
	`{"table":"users","op":"delete","role":"authenticated","change":"condition-changed","condition":{"old":"resource.a == 1","new":"resource.id == request.auth.sub"}},` +
	`{"table":"users","op":"update","role":"writer","change":"widened","condition":{"old":"resource.published == false","new":""}}]}`

func TestReleaseDiff(t *testing.T) {
	query := "from=" + relID1 + "&to=" + relID2
	t.Run("text", func(t *testing.T) {
		h := newFakeHub(t)
		h.on("GET /v1/projects/demo/releases/diff", 200, diffJSON)
		r := stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", relID1, relID2)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if reqs := h.requests(); len(reqs) != 1 || reqs[0].query != query {
			t.Fatalf("requests %+v, want one with query %s", reqs, query)
		}
		want := "access changes from " + relID1 + " to " + relID2 + ":\n" +
			"TABLE  OP      ROLE           CHANGE             DETAIL\n" +
			"posts  select  public         gained             -\n" +
			"users  select  reader         narrowed           columns -email\n" +
			"users  delete  authenticated  condition-changed  condition: resource.a == 1 → resource.id == request.auth.sub\n" +
			"users  update  writer         widened            condition: resource.published == false → (none)\n"
		if r.stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
		}
	})
	t.Run("json is the hub's answer", func(t *testing.T) {
		h := newFakeHub(t)
		h.on("GET /v1/projects/demo/releases/diff", 200, diffJSON)
		r := stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", relID1, relID2, "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		assertJSONEqual(t, r.stdout, diffJSON)
	})
	t.Run("no changes", func(t *testing.T) {
		h := newFakeHub(t)
		empty := `{"from":"` + relID1 + `","to":"` + relID2 + `","changes":[]}`
		h.on("GET /v1/projects/demo/releases/diff", 200, empty)
		r := stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", relID1, relID2)
		if r.code != 0 || r.stdout != "no access changes from "+relID1+" to "+relID2+"\n" {
			t.Errorf("exit %d, stdout %q", r.code, r.stdout)
		}
		r = stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", relID1, relID2, "--json")
		assertJSONEqual(t, r.stdout, empty)
	})
	t.Run("current is --env's current release", func(t *testing.T) {
		h := newFakeHub(t)
		h.on("GET /v1/projects/demo/envs/prod/releases/current", 200, strings.Replace(relJSON, relID1, relID2, 1))
		h.on("GET /v1/projects/demo/releases/diff", 200, diffJSON)
		r := stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", "--env", "prod", relID1, "current")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		reqs := h.requests()
		if len(reqs) != 2 || reqs[0].path != "/v1/projects/demo/envs/prod/releases/current" || reqs[1].query != query {
			t.Fatalf("requests %+v", reqs)
		}
	})
	t.Run("current without a release", func(t *testing.T) {
		h := newFakeHub(t)
		h.on("GET /v1/projects/demo/envs/prod/releases/current", 404, `{"error":{"code":"NOT_FOUND","message":"demo/prod has no release yet","requestId":"req_1"}}`)
		r := stk(t, h.srv.URL, nil, "", "release", "diff", "--project", "demo", "--env", "prod", "current", relID1)
		if r.code != ExitError || !strings.Contains(r.stderr, "demo/prod has no release yet") {
			t.Errorf("exit %d stderr %q", r.code, r.stderr)
		}
	})
}

func TestReleaseDiffUsage(t *testing.T) {
	h := newFakeHub(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--project", "demo", relID1}, "takes two releases, FROM and TO"},
		{[]string{"--project", "demo", relID1, relID2, relID1}, "takes two releases, FROM and TO"},
		{[]string{relID1, relID2}, "required flag --project not set"},
		{[]string{"--project", "demo", relID1, "current"}, `TO is "current": give --env`},
		{[]string{"--project", "demo", "3f2c1ab", relID2}, `FROM "3f2c1ab" is not a release id`},
		{[]string{"--project", "demo", relID1, "previous"}, `TO "previous" is not a release id`},
	} {
		r := stk(t, h.srv.URL, nil, "", append([]string{"release", "diff"}, tc.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if reqs := h.requests(); len(reqs) != 0 {
		t.Errorf("usage errors sent requests: %+v", reqs)
	}
}

// permissions apply prints what a release of the staged version would
// change, or that there is no release to compare with (SPEC §9).
func TestPermissionsApplyDiff(t *testing.T) {
	permFile := writeFile(t, "permissions.yaml", permYAML)
	args := []string{"permissions", "apply", "--project", "demo", "--env", "dev", "--file", permFile}
	withDiff := strings.Replace(permJSON, `"createdBy":"dev"`, `"createdBy":"dev","diff":`+strings.Replace(diffJSON, relID2, "perm_01", 1), 1)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"no release", permJSON, []string{"demo/dev has no release yet: the first release grants what this version allows\n"}},
		{"no change", strings.Replace(permJSON, `"createdBy":"dev"`, `"createdBy":"dev","diff":{"from":"`+relID1+`","to":"perm_01","changes":[]}`, 1),
			[]string{"no access changes from the current release " + relID1 + "\n"}},
		{"changes", withDiff, []string{
			"a release of it would change access from the current release " + relID1 + ":\n",
			"users  select  reader         narrowed           columns -email\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.on("PUT /v1/projects/demo/envs/dev/permissions", 201, tc.body)
			r := stk(t, h.srv.URL, nil, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	t.Run("json carries the diff", func(t *testing.T) {
		h := newFakeHub(t)
		h.on("PUT /v1/projects/demo/envs/dev/permissions", 201, withDiff)
		r := stk(t, h.srv.URL, nil, "", append(args, "--json")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		assertJSONEqual(t, r.stdout, withDiff)
	})
}
