// Package readme runs the README's operator walkthrough — every fenced
// block tagged `bash walkthrough`, in order, as one bash script — against
// real stk and stk-hub binaries and a real PostgreSQL, so the README cannot
// drift from the code.
package readme

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/hubapi"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// walkthrough returns the README's `bash walkthrough` blocks joined.
func walkthrough(t *testing.T, readme string) string {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var script strings.Builder
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```bash walkthrough":
			in = true
		case in && strings.TrimSpace(line) == "```":
			in = false
			script.WriteString("\n")
		case in:
			script.WriteString(line + "\n")
		}
	}
	if script.Len() == 0 {
		t.Fatal("README has no `bash walkthrough` blocks")
	}
	return script.String()
}

func TestReadmeWalkthrough(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, filepath.Join(root, "README.md"))

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./packages/hub/cmd/stk-hub", "./packages/bridge/cmd/stk-bridge", "./packages/cli/cmd/stk")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const password = "Readme-Secret-5b1d"
	ctx := context.Background()
	devURL, prodURL := appDB(t, password), appDB(t, password)

	addr, bridgeAddr := freeAddr(t), freeAddr(t)

	// The walkthrough starts where a reader starts, in the checkout, and
	// moves to a scratch directory of its own (under TMPDIR here): the
	// checkout must look the same afterwards.
	home, tmp := t.TempDir(), t.TempDir()
	before := topLevel(t, root)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"TMPDIR="+tmp,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"DATABASE_URL="+devURL,
		"PROD_DATABASE_URL="+prodURL,
		"STK_HUB_ADDR="+addr,
		"STK_HUB_URL=http://"+addr,
		"STK_BRIDGE_ADDR="+bridgeAddr,
		// stk login stores credentials here, never in the runner's home.
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
	)
	// Its own process group, so the Hub it starts in the background is
	// stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: the Hub left running in the background inherits
	// stdout, and Wait would block on a pipe until the Hub exits.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	outBytes, _ := os.ReadFile(outFile.Name())
	out := bytes.NewBuffer(outBytes)
	work := filepath.Join(tmp, "none")
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "santokit-walkthrough.*")); len(dirs) == 1 {
		work = dirs[0]
	} else {
		t.Errorf("want one santokit-walkthrough.* scratch directory in TMPDIR, found %v", dirs)
	}
	if after := topLevel(t, root); after != before {
		t.Errorf("the walkthrough changed the checkout: top-level entries\nbefore: %s\nafter:  %s", before, after)
	}
	hubLog, _ := os.ReadFile(filepath.Join(work, "hub.log"))
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n--- output\n%s\n--- hub.log\n%s", err, out.String(), hubLog)
	}
	t.Logf("walkthrough output:\n%s", out.String())

	for _, want := range []string{"demo", "dev", "prod", ":***@", "todos", "reused", "promoted", "revoked",
		"logged in", "dev@example.com", "deployer", "active key: v2", "seals no secret now",
		// release show, member list's implicit admin, the deletes.
		"todos  id, title, done", "logics/_admin/counts", "staged logic set", "org owner (implicit)", "deleted connection main", "deleted env scratch",
		"(code CONFLICT", "refused: the envs of demo serve releases", "deleted project demo", "project.delete",
		// permissions apply and release diff: v2 moves delete from writer to admin.
		"a release of it would change access from the current release", "todos  delete  writer  lost",
		`{"data":[{"id":1,"title":"write the docs","done":false}],"meta":{}}`,
		// The Bridge calling the logic todos/search with the app key.
		`{"data":[{"id":1,"title":"write the docs"}],"meta":{}}`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	// The Bridge's refusals: reader deleting, another env, no key.
	if n := strings.Count(out.String(), `"code":"FORBIDDEN"`); n != 2 {
		t.Errorf("want 2 FORBIDDEN answers, got %d", n)
	}
	if !strings.Contains(out.String(), `"code":"UNAUTHORIZED"`) {
		t.Error("a call without a key was not refused with UNAUTHORIZED")
	}
	bridgeLog, _ := os.ReadFile(filepath.Join(work, "bridge.log"))
	var snaps []hubapi.Snapshot
	b, err := os.ReadFile(filepath.Join(work, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("schema.json: %v %s", err, b)
	}
	if _, ok := snaps[0].Table("todos"); !ok {
		t.Fatalf("schema.json lacks the todos table: %s", b)
	}
	// The API key printed once must appear nowhere else.
	m := regexp.MustCompile(`stk_key_[0-9A-Z]{26}_([0-9A-Za-z]{43})`).FindAllSubmatch(out.Bytes(), -1)
	if len(m) != 1 {
		t.Fatalf("want the API key printed exactly once, found %d", len(m))
	}
	secret := m[0][1]
	// The app key only ever went into a shell variable.
	if bytes.Contains(out.Bytes(), []byte("stk_key_")) && bytes.Count(out.Bytes(), []byte("stk_key_")) != 1 {
		t.Fatal("an API key other than the one printed by apikey create appears in the output")
	}
	files := map[string][]byte{"output": out.Bytes(), "hub.log": hubLog, "bridge.log": bridgeLog, "schema.json": b}
	stores, _ := filepath.Glob(filepath.Join(work, "santokit-hub.db*"))
	if len(stores) == 0 {
		t.Fatal("the walkthrough left no Hub store file")
	}
	for _, f := range stores {
		files[filepath.Base(f)], _ = os.ReadFile(f)
	}
	for name, text := range files {
		if bytes.Contains(text, []byte(password)) {
			t.Errorf("%s holds the database password", name)
		}
		if name != "output" && bytes.Contains(text, secret) {
			t.Errorf("%s holds the API key secret", name)
		}
	}
}

// topLevel lists the names in dir, one line, leaving out what builds that
// may run meanwhile create (make build, npm ci, moon).
func topLevel(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		switch e.Name() {
		case "bin", "node_modules", ".moon":
			continue
		}
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// appDB is a PostgreSQL database with the walkthrough's table, reached with
// a URL carrying password (the throwaway cluster trusts local users).
func appDB(t *testing.T, password string) string {
	t.Helper()
	raw := testpg.New(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE TABLE todos (id bigserial PRIMARY KEY, title text NOT NULL, done boolean NOT NULL DEFAULT false);
		INSERT INTO todos (title, done) VALUES ('write the docs', false), ('ship it', true)`); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
