package main

// The soak (issue #17 item 6): mixed reads and writes at a moderate, fixed
// rate against real stk-hub and stk-bridge processes over a throwaway
// PostgreSQL, for -soak (SOAK_DURATION in `make bench`; 5m there). After a
// warm-up it samples the resident memory and goroutine count of both
// servers (their /metrics: process_resident_memory_bytes averaged over
// three scrapes a second apart, the least go_goroutines of them), then
// again at the end, still
// under the same load, and fails when either grew by more than 10%, when
// any call answered other than 2xx, or when the committed inserts and the
// rows in the table differ. It prints a progress line every tenth of the
// run. Everything is on 127.0.0.1 and stops by itself.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// soakItems is the soak table's size: small, so that updates meet reads.
const soakItems = 10_000

// soakGrowth is the largest growth of RSS or goroutines the soak accepts.
const soakGrowth = 0.10

// soakRun is the soak's state shared by its callers.
type soakRun struct {
	callURL  string
	key      string
	client   *http.Client
	mu       sync.Mutex
	statuses map[int]int
	samples  []string // the first non-2xx answers, for the report
	inserts  atomic.Int64
	calls    atomic.Int64
}

func soak(d time.Duration, rps, callers int) error {
	if rps < 1 || callers < 1 {
		return errors.New("-soak-rps and -soak-c must be positive")
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "callbench-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Println("building stk-hub and stk-bridge …")
	if out, err := exec.Command("go", "build", "-o", work+string(filepath.Separator),
		"./packages/hub/cmd/stk-hub", "./packages/bridge/cmd/stk-bridge").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	base, err := testpg.ServerURL()
	if err != nil {
		return err
	}
	dbURL, err := createDB(ctx, base, "soak")
	if err != nil {
		return err
	}
	if err := soakLoad(ctx, dbURL); err != nil {
		return err
	}

	token, master := randomToken(), make([]byte, 32)
	_, _ = rand.Read(master)
	hubAddr, err := freeAddr()
	if err != nil {
		return err
	}
	hub, err := startServer(filepath.Join(work, "stk-hub"), filepath.Join(work, "hub.log"),
		"STK_HUB_ADDR="+hubAddr, "STK_HUB_DATABASE_URL=sqlite://"+filepath.Join(work, "hub.db"),
		"STK_MASTER_KEYS=v1:"+base64.StdEncoding.EncodeToString(master), "STK_BRIDGE_TOKENS="+token,
		"STK_BOOTSTRAP_ADMIN_EMAIL="+benchOwner, "STK_BOOTSTRAP_ADMIN_PASSWORD="+benchPassword, "STK_LOG_LEVEL=warn")
	if err != nil {
		return err
	}
	defer stopServer(hub)
	hubURL := "http://" + hubAddr
	if err := waitHTTP(hubURL + "/readyz"); err != nil {
		return fmt.Errorf("stk-hub: %w (see its log)", err)
	}
	key, err := soakBootstrap(hubURL, dbURL)
	if err != nil {
		return err
	}
	bridgeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bridge, err := startServer(filepath.Join(work, "stk-bridge"), filepath.Join(work, "bridge.log"),
		"STK_BRIDGE_ADDR="+bridgeAddr, "STK_HUB_URL="+hubURL, "STK_BRIDGE_TOKEN="+token, "STK_LOG_LEVEL=warn")
	if err != nil {
		return err
	}
	defer stopServer(bridge)
	bridgeURL := "http://" + bridgeAddr
	if err := waitReady(bridgeURL+"/call", credential{"X-Santokit-Api-Key": key}); err != nil {
		return err
	}

	tr := &http.Transport{MaxIdleConnsPerHost: callers, MaxConnsPerHost: callers}
	defer tr.CloseIdleConnections()
	s := &soakRun{callURL: bridgeURL + "/call", key: key, client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		statuses: map[int]int{}}
	warmup := min(max(d/10, 5*time.Second), 30*time.Second)
	fmt.Printf("soak: %s after a %s warm-up, %d callers at %d calls/s in all: 70%% select by primary key, 20%% insert, 10%% update\n",
		d, warmup, callers, rps)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * float64(callers) / float64(rps))
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.caller(w, interval, stop)
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	time.Sleep(warmup)
	servers := []struct{ name, metrics string }{{"stk-bridge", bridgeURL + "/metrics"}, {"stk-hub", hubURL + "/metrics"}}
	start := make([]procSample, len(servers))
	for i, sv := range servers {
		if start[i], err = sampleProc(sv.metrics); err != nil {
			return fmt.Errorf("%s: %w", sv.name, err)
		}
	}
	fmt.Printf("\n%-9s %8s %8s %14s %11s %11s %9s\n", "elapsed", "calls/s", "non-2xx", "bridge RSS MB", "goroutines", "hub RSS MB", "goroutines")
	began := time.Now()
	lastAt, lastCalls := began, s.calls.Load()
	every := max(d/10, time.Second)
	var end []procSample
	for elapsed := every; ; elapsed += every {
		time.Sleep(time.Until(began.Add(elapsed)))
		at, calls := time.Now(), s.calls.Load()
		rate := float64(calls-lastCalls) / at.Sub(lastAt).Seconds()
		lastAt, lastCalls = at, calls
		now := make([]procSample, len(servers))
		for i, sv := range servers {
			if now[i], err = sampleProc(sv.metrics); err != nil {
				return fmt.Errorf("%s: %w", sv.name, err)
			}
		}
		fmt.Printf("%-9s %8.0f %8d %14.1f %11.0f %11.1f %9.0f\n", elapsed.Round(time.Second), rate,
			s.failures(), now[0].rss/1e6, now[0].goroutines, now[1].rss/1e6, now[1].goroutines)
		if elapsed >= d {
			end = now
			break
		}
	}
	stopLoad()

	var problems []string
	fmt.Printf("\n%-11s %14s %14s %8s %12s %12s %8s\n", "server", "RSS start MB", "RSS end MB", "growth", "gor. start", "gor. end", "growth")
	for i, sv := range servers {
		gr, gg := end[i].rss/start[i].rss-1, end[i].goroutines/start[i].goroutines-1
		fmt.Printf("%-11s %14.1f %14.1f %7.1f%% %12.0f %12.0f %7.1f%%\n", sv.name, start[i].rss/1e6, end[i].rss/1e6, 100*gr,
			start[i].goroutines, end[i].goroutines, 100*gg)
		if gr > soakGrowth {
			problems = append(problems, fmt.Sprintf("%s RSS grew by %.1f%% (limit %.0f%%)", sv.name, 100*gr, 100*soakGrowth))
		}
		if gg > soakGrowth {
			problems = append(problems, fmt.Sprintf("%s goroutines grew by %.1f%% (limit %.0f%%)", sv.name, 100*gg, 100*soakGrowth))
		}
	}
	s.mu.Lock()
	var codes []int
	for code := range s.statuses {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	var by []string
	for _, code := range codes {
		by = append(by, fmt.Sprintf("%d: %d", code, s.statuses[code]))
	}
	fmt.Printf("\ncalls: %d (%s)\n", s.calls.Load(), strings.Join(by, ", "))
	for _, sample := range s.samples {
		fmt.Println("  non-2xx:", sample)
	}
	s.mu.Unlock()
	if n := s.failures(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d calls answered other than 2xx", n))
	}
	rows, err := countRows(ctx, dbURL, "events")
	if err != nil {
		return err
	}
	fmt.Printf("inserts answered 200: %d; rows in events: %d\n", s.inserts.Load(), rows)
	if rows != s.inserts.Load() {
		problems = append(problems, fmt.Sprintf("%d inserts answered 200 but events holds %d rows", s.inserts.Load(), rows))
	}
	if len(problems) > 0 {
		return fmt.Errorf("soak failed: %s", strings.Join(problems, "; "))
	}
	fmt.Printf("soak passed: RSS and goroutines within %.0f%%, every call 2xx, no insert lost\n", 100*soakGrowth)
	return nil
}

// caller sends one call every interval until stop: 7 in 10 select a row by
// primary key, 2 insert an event, 1 updates a row's qty.
func (s *soakRun) caller(w int, interval time.Duration, stop <-chan struct{}) {
	r := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	// Callers start spread over one interval, not all at once.
	t := time.NewTicker(interval)
	defer t.Stop()
	select {
	case <-time.After(time.Duration(r.Int64N(int64(interval)))):
	case <-stop:
		return
	}
	for {
		id := 1 + r.IntN(soakItems)
		var body string
		insert := false
		switch n := r.IntN(10); {
		case n < 7:
			body = `{"path":"db/main/items/select","params":{"where":{"id":` + strconv.Itoa(id) + `}}}`
		case n < 9:
			insert = true
			body = `{"path":"db/main/events/insert","params":{"data":{"item_id":` + strconv.Itoa(id) + `,"note":"soak"},"returning":false}}`
		default:
			body = `{"path":"db/main/items/update","params":{"where":{"id":` + strconv.Itoa(id) + `},"data":{"qty":` + strconv.Itoa(r.IntN(100)) + `},"returning":false}}`
		}
		s.call(body, insert)
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

func (s *soakRun) call(body string, insert bool) {
	req, _ := http.NewRequest("POST", s.callURL, strings.NewReader(body))
	req.Header.Set("X-Santokit-Api-Key", s.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	status := 0 // a transport error
	var detail []byte
	if err == nil {
		status = res.StatusCode
		if status >= 300 {
			detail, _ = io.ReadAll(io.LimitReader(res.Body, 512))
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	} else {
		detail = []byte(err.Error())
	}
	s.calls.Add(1)
	if insert && status == 200 {
		s.inserts.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[status]++
	if (status < 200 || status >= 300) && len(s.samples) < 10 {
		s.samples = append(s.samples, fmt.Sprintf("%d %s", status, bytes.TrimSpace(detail)))
	}
}

func (s *soakRun) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for code, k := range s.statuses {
		if code < 200 || code >= 300 {
			n += k
		}
	}
	return n
}

// procSample is a server's resident memory (bytes) and goroutines.
type procSample struct{ rss, goroutines float64 }

// sampleProc scrapes metricsURL three times a second apart: the RSS is
// their average (one scrape lands anywhere in a GC cycle), the goroutines
// their least (what is left besides the calls in flight at that instant).
func sampleProc(metricsURL string) (procSample, error) {
	var sum procSample
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		res, err := http.Get(metricsURL)
		if err != nil {
			return sum, err
		}
		var got procSample
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			switch name {
			case "process_resident_memory_bytes":
				got.rss, _ = strconv.ParseFloat(val, 64)
			case "go_goroutines":
				got.goroutines, _ = strconv.ParseFloat(val, 64)
			}
		}
		res.Body.Close()
		if got.rss == 0 || got.goroutines == 0 {
			return sum, fmt.Errorf("%s has no process_resident_memory_bytes or go_goroutines", metricsURL)
		}
		sum.rss += got.rss / 3
		if i == 0 || got.goroutines < sum.goroutines {
			sum.goroutines = got.goroutines
		}
	}
	return sum, nil
}

// soakLoad creates the soak's tables: items (read and updated) and events
// (appended to).
func soakLoad(ctx context.Context, dbURL string) error {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL,
		price numeric NOT NULL, active boolean NOT NULL);
		INSERT INTO items SELECT g, 'item-' || g, g % 100, (g % 1000) / 10.0, g % 2 = 0 FROM generate_series(1, `+strconv.Itoa(soakItems)+`) g;
		CREATE TABLE events (id bigserial PRIMARY KEY, item_id bigint NOT NULL REFERENCES items, note text NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now());
		ANALYZE items;`)
	return err
}

func countRows(ctx context.Context, dbURL, table string) (int64, error) {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int64
	err = c.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

// soakBootstrap configures project soak, env prod on dbURL, a release
// letting role rw read items and events, update items and insert events,
// and an API key of that role, through the Hub API; it returns the key.
func soakBootstrap(hubURL, dbURL string) (string, error) {
	body, err := hubCall(hubURL, "", "POST", "/v1/auth/login", hubapi.Login{Email: benchOwner, Password: benchPassword}, "")
	if err != nil {
		return "", err
	}
	var tok hubapi.Tokens
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", err
	}
	const perms = "version: 1\ntables:\n  items:\n    select: [rw]\n    update: [rw]\n  events:\n    select: [rw]\n    insert: [rw]\n"
	env := "/v1/projects/soak/envs/prod"
	for _, s := range []struct {
		method, path string
		body         any
		ctype        string
	}{
		{"POST", "/v1/projects", hubapi.CreateProject{Name: "soak"}, ""},
		{"POST", "/v1/projects/soak/envs", hubapi.CreateEnv{Name: "prod"}, ""},
		{"PUT", env + "/connections/main", hubapi.PutConnection{URL: dbURL}, ""},
		{"POST", env + "/connections/main/snapshots", nil, ""},
		{"PUT", env + "/permissions", perms, "application/yaml"},
		{"POST", env + "/releases", hubapi.CreateRelease{Ref: "soak"}, ""},
	} {
		if _, err := hubCall(hubURL, tok.AccessToken, s.method, s.path, s.body, s.ctype); err != nil {
			return "", err
		}
	}
	body, err = hubCall(hubURL, tok.AccessToken, "POST", env+"/apikeys", hubapi.CreateAPIKey{Name: "soak", Roles: []string{"rw"}}, "")
	if err != nil {
		return "", err
	}
	var k hubapi.CreatedAPIKey
	if err := json.Unmarshal(body, &k); err != nil {
		return "", err
	}
	return k.Key, nil
}

// server is a started stk-hub or stk-bridge process.
type server struct {
	cmd *exec.Cmd
	log *os.File
}

// startServer runs bin with env (and PATH, HOME) on loopback, its output
// in logPath.
func startServer(bin, logPath string, env ...string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(logPath)}, env...)
	cmd.Dir = filepath.Dir(logPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	return &server{cmd: cmd, log: logf}, nil
}

// stopServer sends SIGTERM and waits up to 15 s before killing.
func stopServer(s *server) {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.log.Close()
}

// waitHTTP waits up to 30 s for url to answer 200.
func waitHTTP(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30s", url)
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
