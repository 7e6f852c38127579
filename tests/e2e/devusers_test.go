package e2e

// End users in local development (issue #12 item 8, SPEC §14, §11, §5.3),
// through the real stk binary: a project from `stk init` with an
// owner-scoped table, `stk dev` trusting its dev OIDC issuer, tokens from
// `stk dev token`, and the Bridge serving each user only their own rows —
// on SQLite (stk dev's data.db) and on PostgreSQL (--db).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
)

// notesRules is the owner example of stk init's permissions.yaml, in force.
const notesRules = `
  notes:
    owner: author
    select: [reader, writer, authenticated]
    insert: [writer, authenticated]
    update: [writer, authenticated]
    delete: [writer, authenticated]
`

const notesSeed = `INSERT INTO notes (author, body) VALUES ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b1');`

var (
	endUserCurlRe = regexp.MustCompile(`(?m)^\s*(curl -s \S+/call -H 'Authorization: Bearer [^']+' .*)$`)
	hubRowRe      = regexp.MustCompile(`(?m)^\s*Hub\s+(http://\S+)`)
)

func TestDevTwoUsersSeeOwnRows(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stkIn(t, dir, "init", ".", "--template", "minimal")
			appendFile(t, filepath.Join(dir, "config", "permissions.yaml"), notesRules)
			var stdin string
			var args []string
			if engine == "sqlite" {
				appendFile(t, filepath.Join(dir, "schema.sql"), "\nCREATE TABLE notes (id INTEGER PRIMARY KEY, author TEXT NOT NULL, body TEXT NOT NULL);\n"+
					"CREATE INDEX notes_author ON notes (author);\n"+notesSeed+"\n")
			} else {
				stdin, args = notesOnPostgres(t), []string{"--db-stdin"}
			}
			d := startStkDev(t, dir, stdin, args...)
			devUsers(t, dir, d)
		})
	}
}

// notesOnPostgres makes a database with the notes table and returns its URL.
func notesOnPostgres(t *testing.T) string {
	t.Helper()
	dbURL := testpg.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE notes (id bigserial PRIMARY KEY, author text NOT NULL, body text NOT NULL);
		CREATE INDEX notes_author ON notes (author); `+notesSeed); err != nil {
		t.Fatal(err)
	}
	return dbURL
}

func devUsers(t *testing.T, dir string, d *stkDev) {
	out := d.stdout.String()
	m := endUserCurlRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(m[1], "'X-Santokit-Project: dev' -H 'X-Santokit-Env: dev'") || !strings.Contains(m[1], "db/main/notes/select") {
		t.Fatalf("no end-user curl for notes in:\n%s", out)
	}
	if !strings.Contains(out, "As end user alice") {
		t.Errorf("the end-user curl is not introduced:\n%s", out)
	}

	// The printed curl, run as printed.
	cmd := exec.Command("sh", "-c", m[1])
	cmd.Dir = dir
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("the printed end-user curl: %v", err)
	}
	if got := authorsOf(t, string(printed)); !slices.Equal(got, []string{"alice", "alice"}) {
		t.Errorf("the printed end-user curl: %s", printed)
	}

	alice := stkIn(t, dir, "dev", "token", "--sub", "alice")
	bob := stkIn(t, dir, "dev", "token", "--sub", "bob", "--role", "editor", "--claim", "org=acme")
	sel := `{"path":"db/main/notes/select","params":{"orderBy":{"id":"asc"}}}`
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(alice, "dev"), sel); code != 200 || !slices.Equal(authorsOf(t, body), []string{"alice", "alice"}) {
		t.Errorf("alice: %d %s", code, body)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(bob, "dev"), sel); code != 200 || !slices.Equal(authorsOf(t, body), []string{"bob"}) {
		t.Errorf("bob: %d %s", code, body)
	}
	// An insert sets the owner; another owner is refused; updates reach
	// only one's own rows.
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(bob, "dev"), `{"path":"db/main/notes/insert","params":{"data":{"body":"b2"}}}`); code != 200 || !slices.Equal(authorsOf(t, body), []string{"bob"}) {
		t.Errorf("bob's insert: %d %s", code, body)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(bob, "dev"), `{"path":"db/main/notes/insert","params":{"data":{"body":"x","author":"alice"}}}`); code != 403 || !strings.Contains(body, "author") {
		t.Errorf("bob inserting as alice: %d %s", code, body)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(bob, "dev"), `{"path":"db/main/notes/update","params":{"data":{"body":"mine now"},"where":{"body":"a1"}}}`); code != 200 || len(authorsOf(t, body)) != 0 {
		t.Errorf("bob updating alice's note: %d %s", code, body)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(alice, "dev"), sel); code != 200 || !strings.Contains(body, `"a1"`) || !slices.Equal(authorsOf(t, body), []string{"alice", "alice"}) {
		t.Errorf("alice after bob's attempts: %d %s", code, body)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(bob, "dev"), sel); code != 200 || !slices.Equal(authorsOf(t, body), []string{"bob", "bob"}) {
		t.Errorf("bob after his insert: %d %s", code, body)
	}
	// The API key is not restricted by owner.
	if code, body := bridgeCall(t, d.bridge, map[string]string{"X-Santokit-Api-Key": d.key}, sel); code != 200 || !slices.Equal(authorsOf(t, body), []string{"alice", "alice", "bob", "bob"}) {
		t.Errorf("API key: %d %s", code, body)
	}

	// A token of another issuer, and the dev token in another env → 401.
	other, err := devissuer.Start(devissuer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	forged, err := other.Mint("alice", nil, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(forged, "dev"), sel); code != 401 || strings.Contains(body, forged) {
		t.Errorf("another issuer's token: %d %s", code, body)
	}
	hm := hubRowRe.FindStringSubmatch(out)
	if hm == nil {
		t.Fatalf("no Hub URL in:\n%s", out)
	}
	stkIn(t, dir, "--hub", hm[1], "env", "create", "--project", "dev", "staging")
	if code, body := bridgeCall(t, d.bridge, bearerHeaders(alice, "staging"), sel); code != 401 {
		t.Errorf("the dev token in env staging: %d %s", code, body)
	}
}

// stkIn runs the built stk in dir and returns its stdout, trimmed; it must
// exit 0.
func stkIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "stk"), args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stk %v: %v\n%s", args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func bearerHeaders(token, env string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "X-Santokit-Project": "dev", "X-Santokit-Env": env}
}

func bridgeCall(t *testing.T, bridge string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, bridge+"/call", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// authorsOf lists the author of each row in a /call answer.
func authorsOf(t *testing.T, body string) []string {
	t.Helper()
	var out struct {
		Data []struct {
			Author string `json:"author"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	a := []string{}
	for _, r := range out.Data {
		a = append(a, r.Author)
	}
	return a
}
