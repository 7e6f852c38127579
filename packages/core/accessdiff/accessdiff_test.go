package accessdiff

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/permissions"
	"github.com/santokit/santokit/packages/core/schema"
)

// snap builds a snapshot of one connection from "table:col,col" specs.
func snap(conn string, specs ...string) *schema.Snapshot {
	s := &schema.Snapshot{Connection: conn}
	for _, spec := range specs {
		name, cols, _ := strings.Cut(spec, ":")
		t := schema.Table{Name: name}
		for _, c := range strings.Split(cols, ",") {
			t.Columns = append(t.Columns, schema.Column{Name: c, Type: schema.Text})
		}
		s.Tables = append(s.Tables, t)
	}
	return s
}

// base is the schema most cases share.
var base = []string{"users:id,name,email", "posts:id,author_id,body,published"}

func parse(t *testing.T, src string) *permissions.Document {
	t.Helper()
	d, problems := permissions.Parse([]byte(src))
	if len(problems) > 0 {
		t.Fatalf("parse: %v\n%s", problems, src)
	}
	return d
}

// rule sets the condition and check of the i-th rule of table's op: the
// permissions parser refuses conditions until they are compiled (SPEC
// §5.2), but the diff compares their text and must not depend on that.
func rule(d *permissions.Document, table string, op permissions.Op, i int, condition, check string) *permissions.Document {
	for ti := range d.Tables {
		if d.Tables[ti].Key == table {
			d.Tables[ti].Ops[op][i].Condition = condition
			d.Tables[ti].Ops[op][i].Check = check
		}
	}
	return d
}

// line renders a change compactly: table op role kind [+added] [-removed] [old => new].
func line(c Change) string {
	s := c.Table + " " + c.Op + " " + c.Role + " " + string(c.Change)
	if c.Columns != nil {
		if len(c.Columns.Added) > 0 {
			s += " +" + strings.Join(c.Columns.Added, ",")
		}
		if len(c.Columns.Removed) > 0 {
			s += " -" + strings.Join(c.Columns.Removed, ",")
		}
	}
	if c.Condition != nil {
		s += " [" + c.Condition.Old + " => " + c.Condition.New + "]"
	}
	return s
}

func TestDiff(t *testing.T) {
	main := func(specs ...string) map[string]*schema.Snapshot {
		return map[string]*schema.Snapshot{"main": snap("main", specs...)}
	}
	for _, tc := range []struct {
		name               string
		from, to           *permissions.Document
		fromSnaps, toSnaps map[string]*schema.Snapshot // base when nil
		want               []string
	}{
		{
			name: "same document: no change",
			from: parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n"),
			to:   parse(t, "version: 1\n# reformatted\ntables:\n  _default:\n    select:\n      - roles: [reader]\n"),
		},
		{
			name: "gained and lost",
			from: parse(t, "version: 1\ntables:\n  users:\n    select: [reader]\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select: [writer]\n    delete: [admin]\n"),
			want: []string{
				"users select reader lost",
				"users select writer gained",
				"users delete admin gained",
			},
		},
		{
			name: "gained and lost name the columns of a column-limited rule",
			from: parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id, name]\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [writer]\n        columns: {deny: [email]}\n"),
			want: []string{
				"users select reader lost -id,name",
				"users select writer gained +id,name",
			},
		},
		{
			name: "fewer columns narrow, more widen",
			from: parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n      - roles: [guest]\n        columns: [id]\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id, name]\n      - roles: [guest]\n        columns: [id, name]\n"),
			want: []string{
				"users select guest widened +name",
				"users select reader narrowed -email",
			},
		},
		{
			name: "a deny list added and removed",
			from: parse(t, "version: 1\ntables:\n  users:\n    select: [reader]\n    update:\n      - roles: [writer]\n        columns: {deny: [email, name]}\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: {deny: [email]}\n    update: [writer]\n"),
			want: []string{
				"users select reader narrowed -email",
				"users update writer widened +name,email",
			},
		},
		{
			name: "columns added and removed at once are two entries",
			from: parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id, email]\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id, name]\n"),
			want: []string{
				"users select reader narrowed -email",
				"users select reader widened +name",
			},
		},
		{
			name: "_default changes reach every table that does not define the op",
			from: parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n  users:\n    select: [admin]\n"),
			to:   parse(t, "version: 1\ntables:\n  _default:\n    select: [reader, writer]\n  users:\n    select: [admin]\n"),
			want: []string{"posts select writer gained"},
		},
		{
			name: "a table's own op shadows _default",
			from: parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n    delete: [admin]\n"),
			to:   parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n    delete: [admin]\n  posts:\n    select: [editor]\n    delete: []\n"),
			want: []string{
				"posts select editor gained",
				"posts select reader lost",
				"posts delete admin lost",
			},
		},
		{
			name: "first matching rule in file order decides each role",
			from: parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n      - roles: [admin, reader]\n        columns: [id]\n"),
			to:   parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [admin]\n      - roles: [admin, reader]\n        columns: [id, name]\n"),
			want: []string{"users select reader widened +name"},
		},
		{
			name: "public rules serve every role: a named role keeps its access",
			from: parse(t, "version: 1\ntables:\n  posts:\n    select: [reader]\n"),
			to:   parse(t, "version: 1\ntables:\n  posts:\n    select: [public]\n"),
			want: []string{"posts select public gained"},
		},
		{
			name: "authenticated is matched by public rules, public never by authenticated ones",
			from: parse(t, "version: 1\ntables:\n  posts:\n    select:\n      - roles: [authenticated]\n        columns: [id]\n      - roles: [public]\n"),
			to:   parse(t, "version: 1\ntables:\n  posts:\n    select: [public]\n"),
			want: []string{"posts select authenticated widened +author_id,body,published"},
		},
		{
			name: "owner added restricts end users and role names, not public",
			from: parse(t, "version: 1\ntables:\n  posts:\n    select: [public, authenticated]\n    insert: [authenticated]\n"),
			to:   parse(t, "version: 1\ntables:\n  posts:\n    owner: author_id\n    select: [public, authenticated]\n    insert: [authenticated]\n"),
			want: []string{
				"posts select authenticated narrowed [ => resource.author_id == request.auth.sub]",
				"posts insert authenticated narrowed [ => resource.author_id == request.auth.sub]",
			},
		},
		{
			name: "owner removed widens",
			from: parse(t, "version: 1\ntables:\n  posts:\n    owner: author_id\n    delete: [editor]\n"),
			to:   parse(t, "version: 1\ntables:\n  posts:\n    delete: [editor]\n"),
			want: []string{"posts delete editor widened [resource.author_id == request.auth.sub => ]"},
		},
		{
			name: "condition added, removed and changed",
			from: rule(rule(parse(t, "version: 1\ntables:\n  posts:\n    select: [reader]\n    update: [writer]\n    delete: [admin]\n"),
				"posts", permissions.OpUpdate, 0, "resource.published == false", ""),
				"posts", permissions.OpDelete, 0, "resource.author_id == request.auth.sub", ""),
			to: rule(rule(parse(t, "version: 1\ntables:\n  posts:\n    select: [reader]\n    update: [writer]\n    delete: [admin]\n"),
				"posts", permissions.OpSelect, 0, "resource.published == true", ""),
				"posts", permissions.OpDelete, 0, `"admin" in request.auth.roles`, ""),
			want: []string{
				"posts select reader narrowed [ => resource.published == true]",
				"posts update writer widened [resource.published == false => ]",
				`posts delete admin condition-changed [resource.author_id == request.auth.sub => "admin" in request.auth.roles]`,
			},
		},
		{
			name: "checks: added to insert, changed on update; a condition means nothing on insert",
			from: rule(parse(t, "version: 1\ntables:\n  posts:\n    insert: [writer]\n    update: [writer]\n"),
				"posts", permissions.OpUpdate, 0, "", "resource.body != ''"),
			to: rule(rule(parse(t, "version: 1\ntables:\n  posts:\n    insert: [writer]\n    update: [writer]\n"),
				"posts", permissions.OpInsert, 0, "resource.published == false", "resource.author_id == request.auth.sub"),
				"posts", permissions.OpUpdate, 0, "", "resource.body != null"),
			want: []string{
				"posts insert writer narrowed [ => check(resource.author_id == request.auth.sub)]",
				"posts update writer condition-changed [check(resource.body != '') => check(resource.body != null)]",
			},
		},
		{
			name: "owner added to a rule with a condition narrows; conditions join with &&",
			from: rule(parse(t, "version: 1\ntables:\n  posts:\n    select: [authenticated]\n"),
				"posts", permissions.OpSelect, 0, "resource.published == true", ""),
			to: rule(parse(t, "version: 1\ntables:\n  posts:\n    owner: author_id\n    select: [authenticated]\n"),
				"posts", permissions.OpSelect, 0, "resource.published == true", ""),
			want: []string{
				"posts select authenticated narrowed [resource.published == true => (resource.author_id == request.auth.sub) && (resource.published == true)]",
			},
		},
		{
			name: "more columns and a condition added: one widened, one narrowed",
			from: parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id]\n"),
			to: rule(parse(t, "version: 1\ntables:\n  users:\n    select:\n      - roles: [reader]\n        columns: [id, name]\n"),
				"users", permissions.OpSelect, 0, "resource.id == request.auth.sub", ""),
			want: []string{
				"users select reader narrowed [ => resource.id == request.auth.sub]",
				"users select reader widened +name",
			},
		},
		{
			name: "gained and lost carry the condition",
			from: rule(parse(t, "version: 1\ntables:\n  posts:\n    delete: [writer]\n"),
				"posts", permissions.OpDelete, 0, "resource.published == false", ""),
			to: rule(parse(t, "version: 1\ntables:\n  posts:\n    owner: author_id\n    delete: [editor]\n"),
				"posts", permissions.OpDelete, 0, "resource.published == false", ""),
			want: []string{
				"posts delete editor gained [ => (resource.author_id == request.auth.sub) && (resource.published == false)]",
				"posts delete writer lost [resource.published == false => ]",
			},
		},
		{
			name:    "tables added to and dropped from the snapshot",
			from:    parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n"),
			to:      parse(t, "version: 1\ntables:\n  _default:\n    select: [reader]\n"),
			toSnaps: main("users:id,name,email", "comments:id,body"),
			want: []string{
				"comments select reader gained",
				"posts select reader lost",
			},
		},
		{
			name:    "a column added to the table widens an all-columns rule",
			from:    parse(t, "version: 1\ntables:\n  users:\n    select: [reader]\n    update:\n      - roles: [writer]\n        columns: [name]\n"),
			to:      parse(t, "version: 1\ntables:\n  users:\n    select: [reader]\n    update:\n      - roles: [writer]\n        columns: [name]\n"),
			toSnaps: main("users:id,name,email,avatar_url", "posts:id,author_id,body,published"),
			want:    []string{"users select reader widened +avatar_url"},
		},
		{
			name:      "other connections are written connection.table",
			from:      parse(t, "version: 1\ntables:\n  analytics.events:\n    insert: [ingest]\n"),
			to:        parse(t, "version: 1\ntables:\n  analytics.events:\n    insert: [ingest, admin]\n"),
			fromSnaps: map[string]*schema.Snapshot{"main": snap("main", base...), "analytics": snap("analytics", "events:id,kind")},
			toSnaps:   map[string]*schema.Snapshot{"main": snap("main", base...), "analytics": snap("analytics", "events:id,kind")},
			want:      []string{"analytics.events insert admin gained"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, ts := tc.fromSnaps, tc.toSnaps
			if fs == nil {
				fs = main(base...)
			}
			if ts == nil {
				ts = main(base...)
			}
			got := []string{}
			for _, c := range Diff(Release{tc.from, fs}, Release{tc.to, ts}) {
				got = append(got, line(c))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestDiffOrderAndShape checks the order (table, op, role with public and
// authenticated first) and the JSON of SPEC §9.
func TestDiffOrderAndShape(t *testing.T) {
	from := parse(t, "version: 1\ntables:\n  _default:\n    select: [zed]\n")
	to := parse(t, "version: 1\ntables:\n  _default:\n    select: [alpha, authenticated, public]\n    delete: [alpha]\n  users:\n    select:\n      - roles: [zed]\n        columns: [id]\n")
	snaps := map[string]*schema.Snapshot{"main": snap("main", base...)}
	changes := Diff(Release{from, snaps}, Release{to, snaps})
	got := []string{}
	for _, c := range changes {
		got = append(got, c.Table+" "+c.Op+" "+c.Role+" "+string(c.Change))
	}
	want := []string{
		"posts select public gained",
		"posts select authenticated gained",
		"posts select alpha gained",
		"posts delete alpha gained",
		"users select zed narrowed", // users defines select: _default does not reach it
		"users delete alpha gained",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("order:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	raw, err := json.Marshal(changes[len(changes)-2:])
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `[{"table":"users","op":"select","role":"zed","change":"narrowed","columns":{"added":[],"removed":["name","email"]}},` +
		`{"table":"users","op":"delete","role":"alpha","change":"gained"}]`
	if string(raw) != wantJSON {
		t.Errorf("JSON:\n %s\nwant\n %s", raw, wantJSON)
	}
	cond := Change{Table: "t", Op: "select", Role: "r", Change: Narrowed, Condition: &Condition{New: "resource.a == 1"}}
	raw, _ = json.Marshal(cond)
	if want := `{"table":"t","op":"select","role":"r","change":"narrowed","condition":{"old":"","new":"resource.a == 1"}}`; string(raw) != want {
		t.Errorf("JSON:\n %s\nwant\n %s", raw, want)
	}
}

// TestDiffWithoutPermissions: a release side with no document (no current
// release) grants nothing, so everything the other allows is gained.
func TestDiffWithoutPermissions(t *testing.T) {
	to := parse(t, "version: 1\ntables:\n  users:\n    select: [reader]\n")
	snaps := map[string]*schema.Snapshot{"main": snap("main", "users:id")}
	got := Diff(Release{}, Release{to, snaps})
	if len(got) != 1 || line(got[0]) != "users select reader gained" {
		t.Errorf("got %v", got)
	}
	if got := Diff(Release{to, snaps}, Release{to, snaps}); got == nil || len(got) != 0 {
		t.Errorf("no change must be an empty, non-nil list: %#v", got)
	}
}
