package permissions

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/schema"
)

func roles(rules []Rule) [][]string {
	out := [][]string{}
	for _, r := range rules {
		out = append(out, r.Roles)
	}
	return out
}

func TestRules(t *testing.T) {
	d := mustParse(t, `version: 1
tables:
  _default:
    select: [reader]
    update: [writer]
  users:
    select: [admin]
    delete: []
  analytics.events:
    insert: [ingest]
`)
	for _, tc := range []struct {
		conn, table string
		op          Op
		want        [][]string
		ok          bool
	}{
		{"main", "users", OpSelect, [][]string{{"admin"}}, true},        // own rule
		{"main", "users", OpUpdate, [][]string{{"writer"}}, true},       // from _default
		{"main", "users", OpDelete, [][]string{}, true},                 // defined empty: denied
		{"main", "users", OpInsert, nil, false},                         // nowhere: denied
		{"main", "posts", OpSelect, [][]string{{"reader"}}, true},       // unlisted table
		{"analytics", "events", OpInsert, [][]string{{"ingest"}}, true}, // other connection
		{"analytics", "events", OpSelect, [][]string{{"reader"}}, true}, // _default on every connection
		{"analytics", "users", OpSelect, [][]string{{"reader"}}, true},  // users of main do not apply
		{"main", "events", OpInsert, nil, false},                        // events of analytics do not apply
		{"main", "_default", OpDelete, nil, false},                      // _default is no table
		{"", "", OpDelete, nil, false},                                  // nor is the empty name
		{"main", "users", Op("truncate"), nil, false},                   // unknown op
	} {
		rules, ok := d.Rules(tc.conn, tc.table, tc.op)
		got := roles(rules)
		if !ok {
			got = nil
		}
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Rules(%q, %q, %s) = %v, %v; want %v, %v", tc.conn, tc.table, tc.op, got, ok, tc.want, tc.ok)
		}
	}
	noDefault := mustParse(t, "version: 1\ntables:\n  users:\n    select: [a]\n")
	if _, ok := noDefault.Rules("main", "posts", OpSelect); ok {
		t.Error("Rules without _default found rules for an unlisted table")
	}
}

func TestColumnsAllows(t *testing.T) {
	users := &testSnaps()["main"].Tables[0] // id, name, avatar_url, password_hash
	for _, tc := range []struct {
		name string
		c    *Columns
		want []string
	}{
		{"nil", nil, []string{"id", "name", "avatar_url", "password_hash"}},
		{"allow", &Columns{Allow: []string{"avatar_url", "id", "ghost"}}, []string{"id", "avatar_url"}},
		{"empty allow", &Columns{Allow: []string{}}, []string{}},
		{"deny", &Columns{Deny: []string{"password_hash"}}, []string{"id", "name", "avatar_url"}},
		{"empty deny", &Columns{Deny: []string{}}, []string{"id", "name", "avatar_url", "password_hash"}},
	} {
		if got := tc.c.Allowed(users); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Allowed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExposes(t *testing.T) {
	snaps := testSnaps()
	snaps["empty"] = &schema.Snapshot{Connection: "empty"}
	snaps["nil"] = nil
	for _, tc := range []struct {
		name string
		src  string
		want string // connection.table:col,col;…
	}{
		{"nothing", "version: 1\ntables: {}\n", ""},
		{"own rules only", `version: 1
tables:
  users:
    select:
      - roles: [admin]
        columns: [name, id]
      - roles: [authenticated]
        columns: {deny: [password_hash, avatar_url]}
  posts:
    delete:
      - roles: [admin]
        columns: []
  analytics.events:
    insert:
      - roles: [ingest]
        columns: {deny: [ip]}
`, "analytics.events:id,kind,user_id;main.users:id,name"},
		{"default reaches unlisted tables of every connection", `version: 1
tables:
  _default:
    select:
      - roles: [reader]
        columns: {deny: [password_hash, ip, payload]}
  users:
    select: []
    update:
      - roles: [self]
        columns: [avatar_url]
`, "analytics.events:id,kind,user_id;main.audit:id,actor;main.posts:id,author_id,title,body;main.users:avatar_url"},
		{"union over ops and rules", `version: 1
tables:
  users:
    select:
      - roles: [a]
        columns: [name]
    update:
      - roles: [b]
        columns: [avatar_url]
    delete:
      - roles: [c]
        columns: [name]
`, "main.users:name,avatar_url"},
		{"owner counts when the table has rules", `version: 1
tables:
  posts:
    owner: author_id
    select:
      - roles: [authenticated]
        columns: [title]
  users:
    owner: id
`, "main.posts:author_id,title"},
		{"all ops denied", `version: 1
tables:
  _default:
    select: [reader]
  users:
    select: []
  analytics.events:
    select: []
`, "main.audit:id,actor,payload;main.posts:id,author_id,title,body"},
		{"listed but missing table", "version: 1\ntables:\n  ghosts:\n    select: [a]\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Exposes(mustParse(t, tc.src), snaps)
			var parts []string
			for _, e := range got {
				if len(e.Columns) == 0 {
					t.Errorf("exposure with no column: %+v", e)
				}
				parts = append(parts, e.Connection+"."+e.Table+":"+strings.Join(e.Columns, ","))
			}
			if s := strings.Join(parts, ";"); s != tc.want {
				t.Errorf("Exposes = %q\n          want %q", s, tc.want)
			}
		})
	}
}

func TestExposureJSON(t *testing.T) {
	b, err := json.Marshal(Exposure{Connection: "main", Table: "users", Columns: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"connection":"main","table":"users","columns":["id"]}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestHash(t *testing.T) {
	a := Hash([]byte(specExample))
	if a != Hash([]byte(specExample)) {
		t.Fatal("Hash is not stable")
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 {
		t.Errorf("Hash = %q", a)
	}
	if a == Hash([]byte(specExample+"# reviewed\n")) {
		t.Error("Hash ignores a change of the source")
	}
	if got, want := Hash(nil), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("Hash(nil) = %s, want %s", got, want)
	}
}

func TestDocumentJSON(t *testing.T) {
	d := mustParse(t, specExample)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"version":1`, `"tables":[`, `"key":"users"`, `"connection":"main"`, `"owner":"id"`, `"ops":{`, `"roles":["admin"]`, `"columns":{"allow":["id","name","avatar_url"]}`, `"line":8`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s: %s", field, b)
		}
	}
	back := public(t, d)
	if !reflect.DeepEqual(back, public(t, back)) {
		t.Error("JSON round trip is not stable")
	}
	if rules, ok := back.Rules("main", "users", OpSelect); !ok || len(rules) != 2 || !rules[1].Columns.Allows("name") || rules[1].Columns.Allows("password_hash") {
		t.Errorf("rules after JSON = %+v", rules)
	}
}
