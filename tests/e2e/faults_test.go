package e2e

// Fault tests (issue 17 item 5; SPEC §8.1, §10, §12): real stk-hub and
// stk-bridge processes on loopback, PostgreSQL clusters stopped and
// restarted under them, processes killed. Each is bounded (seconds) and
// checks outcomes that can fail: statuses, row counts, timings.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
)

// faultStack is what the processes of one fault test share.
type faultStack struct {
	t           *testing.T
	dir         string
	masterKeys  string
	bridgeToken string
	email, pw   string
}

func newFaultStack(t *testing.T) *faultStack {
	return &faultStack{t: t, dir: t.TempDir(),
		masterKeys:  "v1:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		bridgeToken: "brt" + hex.EncodeToString(randomBytes(20)),
		email:       "owner@example.com", pw: "Adm" + hex.EncodeToString(randomBytes(12))}
}

// server is one stk-hub or stk-bridge process on a fixed loopback address
// (so that a restarted Hub is found where its Bridges look).
type server struct {
	t    *testing.T
	bin  string
	addr string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan error
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

func (f *faultStack) hub(name, store string) *server {
	s := &server{t: f.t, bin: "stk-hub", addr: freeAddr(f.t), log: filepath.Join(f.dir, name+".log")}
	s.env = []string{"STK_HUB_ADDR=" + s.addr, "STK_HUB_DATABASE_URL=" + store, "STK_MASTER_KEYS=" + f.masterKeys,
		"STK_BRIDGE_TOKENS=" + f.bridgeToken, "STK_BOOTSTRAP_ADMIN_EMAIL=" + f.email, "STK_BOOTSTRAP_ADMIN_PASSWORD=" + f.pw}
	s.start()
	return s
}

func (f *faultStack) bridge(name, hubURLs string, env ...string) *server {
	s := &server{t: f.t, bin: "stk-bridge", addr: freeAddr(f.t), log: filepath.Join(f.dir, name+".log")}
	s.env = append([]string{"STK_BRIDGE_ADDR=" + s.addr, "STK_HUB_URL=" + hubURLs, "STK_BRIDGE_TOKEN=" + f.bridgeToken}, env...)
	s.start()
	return s
}

func (s *server) url() string { return "http://" + s.addr }

// start runs the process and waits until /readyz answers 200.
func (s *server) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, s.bin))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(s.log), "STK_LOG_LEVEL=debug"}, s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	s.cmd, s.done = cmd, done
	s.t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.url() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			done <- err
			b, _ := os.ReadFile(s.log)
			s.t.Fatalf("%s exited (%v) before ready:\n%s", s.bin, err, b)
		case <-time.After(30 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not ready after 30s", s.bin)
		}
	}
}

// kill sends SIGKILL (if running) and waits.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// term sends SIGTERM and returns how long the exit took and the exit
// error, failing the test past within.
func (s *server) term(within time.Duration) (time.Duration, error) {
	s.t.Helper()
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.cmd = nil
		return time.Since(start), err
	case <-time.After(within):
		s.kill()
		s.t.Fatalf("%s did not exit within %s of SIGTERM", s.bin, within)
		return 0, nil
	}
}

// api is an operator session on a Hub.
type api struct {
	t     *testing.T
	base  string
	token string
}

func (f *faultStack) login(h *server) *api {
	a := &api{t: f.t, base: h.url()}
	var tok struct{ AccessToken string }
	a.do("POST", "/v1/auth/login", map[string]string{"email": f.email, "password": f.pw}, 200, &tok)
	a.token = tok.AccessToken
	return a
}

// try sends one request and returns its status and body (0 on a transport
// error).
func (a *api) try(method, path string, body any) (int, []byte) {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/yaml"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", ctype)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	c := http.Client{Timeout: 20 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

func (a *api) do(method, path string, body any, want int, out any) {
	a.t.Helper()
	status, data := a.try(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatal(err)
		}
	}
}

const faultPerms = `version: 1
tables:
  items:
    select: [admin]
    insert: [admin]
`

const faultSchema = `CREATE TABLE items (id bigserial PRIMARY KEY, n bigint NOT NULL UNIQUE)`

// deploy makes project demo, env dev on dbURL (which has faultSchema),
// with faultPerms released, and returns an admin API key.
func (a *api) deploy(dbURL string) string {
	a.t.Helper()
	a.do("POST", "/v1/projects", map[string]string{"name": "demo"}, 201, nil)
	a.do("POST", "/v1/projects/demo/envs", map[string]string{"name": "dev"}, 201, nil)
	a.do("PUT", "/v1/projects/demo/envs/dev/connections/main", map[string]string{"url": dbURL}, 201, nil)
	a.do("POST", "/v1/projects/demo/envs/dev/connections/main/snapshots", nil, 201, nil)
	a.do("PUT", "/v1/projects/demo/envs/dev/permissions", faultPerms, 201, nil)
	a.do("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": "r1"}, 201, nil)
	var key struct {
		APIKey string `json:"apiKey"`
	}
	a.do("POST", "/v1/projects/demo/envs/dev/apikeys", map[string]any{"name": "app", "roles": []string{"admin"}}, 201, &key)
	return key.APIKey
}

// call posts one /call; status 0 means a transport error or a client
// timeout (a hang).
func call(bridge *server, key string, body any, timeout time.Duration) (int, []byte) {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", bridge.url()+"/call", bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Santokit-Api-Key", key)
	c := http.Client{Timeout: timeout}
	res, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

func pgExecURL(t *testing.T, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

func until(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// The app's PostgreSQL restarted under a steady /call load: during the
// outage calls answer 503 (never another status, never a hang past the
// timeout); after it is back the same Bridge serves within 2 s; every
// insert answered 200 is in the table.
func TestFaultAppDatabaseRestart(t *testing.T) {
	t.Parallel()
	f := newFaultStack(t)
	app := testpg.NewCluster(t)
	db := strings.Replace(app.URL("postgres"), "@", ":app-Pw-4c2@", 1)
	pgExecURL(t, db, faultSchema)
	hub := f.hub("hub", "sqlite://"+filepath.Join(f.dir, "hub.db"))
	key := f.login(hub).deploy(db)
	const stmtTimeout = 2 * time.Second
	bridge := f.bridge("bridge", hub.url(), "STK_STATEMENT_TIMEOUT="+stmtTimeout.String())

	var (
		next      atomic.Int64
		mu        sync.Mutex
		committed []int64
		statuses  = map[int]int{}
		bad       []string
		lastOK    atomic.Int64 // unix nanos of the last 2xx
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1)
				status, body := call(bridge, key, map[string]any{"path": "db/main/items/insert", "params": map[string]any{"data": map[string]any{"n": n}}},
					stmtTimeout+3*time.Second)
				mu.Lock()
				statuses[status]++
				switch {
				case status/100 == 2:
					committed = append(committed, n)
					lastOK.Store(time.Now().UnixNano())
				case status == 503:
					if !strings.Contains(string(body), "SERVICE_UNAVAILABLE") {
						bad = append(bad, fmt.Sprintf("503 without the §3 code: %s", body))
					}
				default:
					bad = append(bad, fmt.Sprintf("%d: %s", status, body))
				}
				mu.Unlock()
				if status != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	app.Stop(t, "fast")
	time.Sleep(time.Second)
	mu.Lock()
	during := statuses[503]
	mu.Unlock()
	app.Start(t)
	back := time.Now()
	until(t, 2*time.Second, "a 2xx after the database came back", func() bool { return lastOK.Load() > back.UnixNano() })
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	if during == 0 {
		t.Errorf("no 503 while the database was down (statuses %v)", statuses)
	}
	for _, b := range bad {
		t.Errorf("unexpected answer: %s", b)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var missing int64
	if err := c.QueryRow(ctx, `SELECT count(*) FROM unnest($1::bigint[]) AS a(n) WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.n = a.n)`, committed).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d of %d acknowledged inserts are not in the table", missing, len(committed))
	}
	t.Logf("statuses %v, %d acknowledged inserts", statuses, len(committed))
}

// The Hub's store (PostgreSQL) stopped: the Hub's /readyz answers 503, the
// Bridge serves its cached bundle until STK_BUNDLE_MAX_STALE and then 503;
// after the store is back everything resumes without a restart.
func TestFaultHubStoreDown(t *testing.T) {
	t.Parallel()
	f := newFaultStack(t)
	store := testpg.NewCluster(t)
	db := testpg.New(t)
	pgExecURL(t, db, faultSchema)
	hub := f.hub("hub", store.URL("postgres"))
	key := f.login(hub).deploy(db)
	const maxStale = 3 * time.Second
	bridge := f.bridge("bridge", hub.url(), "STK_BUNDLE_MAX_STALE="+maxStale.String())
	sel := map[string]any{"path": "db/main/items/select"}
	if status, body := call(bridge, key, sel, 5*time.Second); status != 200 {
		t.Fatalf("before: %d %s", status, body)
	}
	readyz := func(s *server) int {
		res, err := http.Get(s.url() + "/readyz")
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}

	store.Stop(t, "fast")
	down := time.Now()
	until(t, 5*time.Second, "Hub /readyz 503 with its store down", func() bool { return readyz(hub) == 503 })
	// Served from the cache for a while: the last 200 or 304 was at most
	// one poll wait (maxStale/3) before the stop...
	for time.Since(down) < maxStale/2 {
		if status, body := call(bridge, key, sel, 5*time.Second); status != 200 {
			t.Fatalf("%s after the store stopped: %d %s", time.Since(down).Round(time.Millisecond), status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ...then refused, once the bundle is too stale (and not much later).
	until(t, maxStale+3*time.Second, "503 past STK_BUNDLE_MAX_STALE", func() bool {
		status, _ := call(bridge, key, sel, 5*time.Second)
		return status == 503
	})

	store.Start(t)
	until(t, 10*time.Second, "Hub /readyz 200 after the store is back", func() bool { return readyz(hub) == 200 })
	until(t, 10*time.Second, "the Bridge serving again", func() bool {
		status, _ := call(bridge, key, sel, 5*time.Second)
		return status == 200
	})
	// And the Hub takes changes again (its pool and LISTEN reconnected).
	a := f.login(hub)
	a.do("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": "after"}, 201, nil)
}

// SIGTERM to a Bridge under load: the calls in flight complete with 200,
// and the process exits 0 within the drain bound (twice the statement
// timeout plus 5 s).
func TestFaultBridgeSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	f := newFaultStack(t)
	db := testpg.New(t)
	pgExecURL(t, db, faultSchema)
	hub := f.hub("hub", "sqlite://"+filepath.Join(f.dir, "hub.db"))
	a := f.login(hub)
	key := a.deploy(db)
	a.do("PUT", "/v1/projects/demo/envs/dev/logics", map[string]any{"files": map[string]string{
		"slow.sql": "---\nauth: {roles: [admin]}\nreadonly: true\n---\nSELECT 1 AS one FROM pg_sleep(0.6)\n"}}, 201, nil)
	a.do("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": "r2"}, 201, nil)
	const stmtTimeout = time.Second
	bridge := f.bridge("bridge", hub.url(), "STK_STATEMENT_TIMEOUT="+stmtTimeout.String())
	slow := map[string]any{"path": "logics/slow"}
	until(t, 5*time.Second, "the slow logic served", func() bool {
		status, _ := call(bridge, key, slow, 5*time.Second)
		return status == 200
	})

	type result struct {
		status int
		body   string
	}
	results := make(chan result, 16)
	var started sync.WaitGroup
	for range 8 {
		started.Add(1)
		go func() {
			started.Done()
			status, body := call(bridge, key, slow, 10*time.Second)
			results <- result{status, string(body)}
		}()
	}
	started.Wait()
	time.Sleep(200 * time.Millisecond) // the calls are in flight (each takes 0.6 s)
	took, err := bridge.term(2*stmtTimeout + 6*time.Second)
	if err != nil {
		t.Errorf("the Bridge exited with %v after SIGTERM", err)
	}
	for range 8 {
		if r := <-results; r.status != 200 {
			t.Errorf("an in-flight call got %d %s", r.status, r.body)
		}
	}
	if took > 2*stmtTimeout+5*time.Second {
		t.Errorf("exit took %s, past the drain bound", took)
	}
	if status, _ := call(bridge, key, slow, time.Second); status != 0 {
		t.Errorf("the stopped Bridge still answers (%d)", status)
	}
}

// Two Hubs on one store and two Bridges: a release through Hub A is served
// by the Bridge on Hub B within 2 s; with Hub A killed, the Bridge given
// both URLs fails over to B and gets the next release within 2 s too.
func TestFaultTwoHubsTwoBridges(t *testing.T) {
	t.Parallel()
	f := newFaultStack(t)
	store := testpg.New(t)
	db := testpg.New(t)
	pgExecURL(t, db, faultSchema)
	hubA := f.hub("hub-a", store)
	hubB := f.hub("hub-b", store)
	a := f.login(hubA)
	key := a.deploy(db)
	onA := f.bridge("bridge-a", hubA.url()+","+hubB.url())
	onB := f.bridge("bridge-b", hubB.url())
	ins := func(n int) map[string]any {
		return map[string]any{"path": "db/main/items/insert", "params": map[string]any{"data": map[string]any{"n": n}}}
	}
	for i, br := range []*server{onA, onB} {
		if status, body := call(br, key, ins(i+1), 5*time.Second); status != 200 {
			t.Fatalf("bridge %d: %d %s", i, status, body)
		}
	}

	// Release r2 through Hub A takes insert away; the Bridge on Hub B
	// refuses inserts within 2 s.
	a.do("PUT", "/v1/projects/demo/envs/dev/permissions", "version: 1\ntables:\n  items:\n    select: [admin]\n", 201, nil)
	a.do("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": "r2"}, 201, nil)
	d := until(t, 2*time.Second, "r2 (through Hub A) served by the Bridge on Hub B", func() bool {
		status, _ := call(onB, key, ins(100), 5*time.Second)
		return status == 403
	})
	t.Logf("r2 reached the Bridge on Hub B after %s", d)
	until(t, 2*time.Second, "r2 served by the Bridge on Hubs A,B", func() bool {
		status, _ := call(onA, key, ins(101), 5*time.Second)
		return status == 403
	})

	// Hub A dies; r3 through Hub B gives insert back; the Bridge that
	// polled A fails over to B.
	hubA.kill()
	b := f.login(hubB)
	b.do("PUT", "/v1/projects/demo/envs/dev/permissions", faultPerms, 201, nil)
	b.do("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": "r3"}, 201, nil)
	n := 200
	d = until(t, 2*time.Second, "r3 (through Hub B) served by the Bridge whose Hub A died", func() bool {
		n++
		status, _ := call(onA, key, ins(n), 5*time.Second)
		return status == 200
	})
	t.Logf("r3 reached the Bridge on Hubs A,B after %s", d)
	res, err := http.Get(onA.url() + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the Bridge on Hubs A,B is not ready after A died: %v", err)
	}
	res.Body.Close()
}

// kill -9 of the Hub during release create and connections rotate: after
// a restart there is no partial release (every listed release reads back
// whole, the current one among them), and every secret decrypts (the Hub
// starts — it refuses a store it cannot open — and serves the bundle,
// whose connection URLs it decrypts). The store-level crash test is
// TestReleasesSurviveKill9; this one goes through the real binary.
func TestFaultHubKill9DuringWrites(t *testing.T) {
	t.Parallel()
	f := newFaultStack(t)
	db := testpg.New(t)
	pgExecURL(t, db, faultSchema)
	for _, kind := range []string{"sqlite", "postgres"} {
		store := "sqlite://" + filepath.Join(f.dir, "hub.db")
		if kind == "postgres" {
			store = testpg.New(t)
		}
		hub := f.hub("hub-"+kind, store)
		a := f.login(hub)
		key := a.deploy(db)
		bridge := f.bridge("bridge-"+kind, hub.url())
		for round := range 3 {
			var (
				wg    sync.WaitGroup
				stop  atomic.Bool
				okRel atomic.Int64
				okRot atomic.Int64
			)
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					if s, _ := a.try("POST", "/v1/projects/demo/envs/dev/releases", map[string]string{"ref": fmt.Sprintf("k%d-%d", round, i)}); s == 201 {
						okRel.Add(1)
					}
				}
			})
			wg.Go(func() {
				for !stop.Load() {
					if s, _ := a.try("POST", "/v1/projects/demo/envs/dev/connections/main/rotate", map[string]any{"url": db}); s == 200 {
						okRot.Add(1)
					}
				}
			})
			// Kill once both kinds of write have gone through at least once,
			// at a different moment each round, while both loops keep writing.
			until(t, 15*time.Second, "a release and a rotation before the kill", func() bool {
				return okRel.Load() > 0 && okRot.Load() > 0
			})
			time.Sleep(time.Duration(50+70*round) * time.Millisecond)
			hub.kill()
			stop.Store(true)
			wg.Wait()
			hub.start() // refuses to start if a stored secret does not open
			a = f.login(hub)
			var list struct {
				Items []struct{ ID, Ref string }
			}
			a.do("GET", "/v1/projects/demo/envs/dev/releases?limit=1000", nil, 200, &list)
			ids := map[string]bool{}
			for _, r := range list.Items {
				ids[r.ID] = true
				a.do("GET", "/v1/projects/demo/envs/dev/releases/"+r.ID, nil, 200, nil)
			}
			var cur struct{ ID string }
			a.do("GET", "/v1/projects/demo/envs/dev/releases/current", nil, 200, &cur)
			if !ids[cur.ID] {
				t.Fatalf("%s round %d: the current release %s is not in the list", kind, round, cur.ID)
			}
			a.do("POST", "/v1/projects/demo/envs/dev/connections/main/test", nil, 200, nil)
			until(t, 5*time.Second, "the Bridge serving after the Hub restarted", func() bool {
				status, _ := call(bridge, key, map[string]any{"path": "db/main/items/select"}, 5*time.Second)
				return status == 200
			})
		}
	}
}
