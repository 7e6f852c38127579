// Command callbench is the load test behind `make bench` (issue #4): it loads
// a 1,000,000-row PostgreSQL table, serves it through a real Hub and a real
// stk-bridge process, and measures a select-by-primary-key /call with an API
// key through the whole pipeline at several concurrencies, next to
// `pgbench -M prepared` running the same SELECT on the same database at the
// same concurrency. It prints throughput, p50/p99, the Bridge/pgbench ratio
// and the Bridge's peak RSS. Everything talks to 127.0.0.1 only and stops
// by itself.
//
// More columns put the p99 in context (docs/decisions/0010): the p99 the
// Bridge measured itself (its /metrics histogram, from the start of its
// handler to the end) with the share it answered within 5 ms, and the p99
// wrk measures against an empty net/http handler that answers a constant
// without any database — what the load generator and a server sharing the
// same cores cost by themselves.
//
// The end-user point (issue #12) runs the same select-by-PK as an end user
// with a JWT of a loopback OIDC issuer (internal/devissuer) the env trusts,
// at one concurrency (-enduser-c, 32 by default), right after the API-key
// point of that concurrency, and prints both throughputs and their ratio.
// The token is the same for every request, as an app's signed-in user
// sends it: the Bridge verifies its signature once and then serves it from
// its token cache (decision 0018), so the ratio measures what an end user
// costs per call once signed in.
//
// The logic point (issue #13) runs a read-only logic (SPEC §6) selecting
// the same row by primary key with the same API key, at one concurrency
// (-logic-c, 32 by default), right after the Auto CRUD point of that
// concurrency, and prints both throughputs and their ratio (target: within
// 10%).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/internal/workerd"
	"github.com/santokit/santokit/packages/core/hubapi"
	hubserver "github.com/santokit/santokit/packages/hub/server"
)

const rows = 1_000_000

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each measurement runs")
	concs := flag.String("c", "8,32,64", "concurrencies to measure")
	pool := flag.Int("db-max-conns", 4, "database connections of the Bridge and of the bare handler (pgxpool's default on 2 cores is 4; more backends than cores only adds context switches)")
	bareAddr := flag.String("serve-bare", "", "internal: serve the bare handler on this address (with -bare-db) until killed")
	bareDB := flag.String("bare-db", "", "internal: the database of -serve-bare")
	endUserC := flag.Int("enduser-c", 32, "concurrency of the end-user (JWT) point, measured beside the API-key point of the same concurrency (0: none)")
	logicC := flag.Int("logic-c", 32, "concurrency of the logic point (a readonly logic selecting by primary key), measured beside the Auto CRUD point of the same concurrency (0: none)")
	workerC := flag.Int("worker-c", 32, "concurrency of the Workers runtime point (packages/worker in workerd, built by make bench), measured beside the Bridge at the same concurrency (0: none)")
	hold := flag.Bool("hold", false, "set up, print the Bridge's URL, the API key and a wrk script, then wait for ^C instead of measuring (for profiling by hand)")
	soakFor := flag.Duration("soak", 0, "instead of measuring, run the soak this long (soak.go; make bench passes SOAK_DURATION)")
	soakRPS := flag.Int("soak-rps", 300, "the soak's calls per second, in all (moderate: a fraction of what the Bridge serves on 2 cores)")
	soakC := flag.Int("soak-c", 16, "the soak's concurrent callers")
	flag.Parse()
	if *bareAddr != "" {
		if err := serveBare(*bareAddr, *bareDB, *pool); err != nil {
			fmt.Fprintln(os.Stderr, "callbench -serve-bare:", err)
			os.Exit(1)
		}
		return
	}
	if *soakFor > 0 {
		err := soak(*soakFor, *soakRPS, *soakC)
		testpg.Stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "callbench -soak:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*duration, *concs, *pool, *endUserC, *logicC, *workerC, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "callbench:", err)
		testpg.Stop()
		os.Exit(1)
	}
	testpg.Stop()
}

func run(d time.Duration, concList string, poolSize, endUserC, logicC, workerC int, hold bool) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "callbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Println("building stk-bridge …")
	bridgeBin := filepath.Join(work, "stk-bridge")
	if out, err := exec.Command("go", "build", "-o", bridgeBin, "./packages/bridge/cmd/stk-bridge").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	base, err := testpg.ServerURL()
	if err != nil {
		return err
	}
	dbURL, err := createDB(ctx, base, "callbench")
	if err != nil {
		return err
	}
	fmt.Printf("loading %d rows …\n", rows)
	if err := load(ctx, dbURL); err != nil {
		return err
	}

	// The Hub runs in this process; the Bridge is its own process so its RSS
	// is its own.
	token := "bench-bridge-token"
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(rand.IntN(256))
	}
	hub, err := hubserver.New(ctx, hubserver.Config{DatabaseURL: "sqlite://" + filepath.Join(work, "hub.db"),
		MasterKeys: "v1:" + base64.StdEncoding.EncodeToString(key), BridgeTokens: []string{token},
		BootstrapEmail: benchOwner, BootstrapPassword: benchPassword},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer hub.Close()
	hubTS := httptest.NewServer(hub.Handler())
	defer hubTS.Close()
	// The end users' issuer: loopback, in this process, trusted by the env.
	issuer, err := devissuer.Start(devissuer.Options{})
	if err != nil {
		return err
	}
	defer issuer.Close()
	apiKey, err := bootstrap(hubTS.URL, dbURL, issuer.URL())
	if err != nil {
		return err
	}
	keyCred := credential{"X-Santokit-Api-Key": apiKey}
	// The token outlives every measurement; the env's roles rule matches its
	// role as it matches the API key's.
	userToken, err := issuer.Mint("bench-user", []string{"reader"}, nil, time.Hour+20*d)
	if err != nil {
		return err
	}
	userCred := credential{"Authorization": "Bearer " + userToken, "X-Santokit-Project": "bench", "X-Santokit-Env": "prod"}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	bridge := exec.Command(bridgeBin)
	bridge.Env = append(os.Environ(), "STK_HUB_URL="+hubTS.URL, "STK_BRIDGE_TOKEN="+token, "STK_BRIDGE_ADDR="+addr,
		"STK_LOG_LEVEL=error", "STK_DB_MAX_CONNS="+strconv.Itoa(poolSize))
	bridge.Stderr = io.Discard
	if err := bridge.Start(); err != nil {
		return err
	}
	defer func() { _ = bridge.Process.Kill(); _ = bridge.Wait() }()
	callURL := "http://" + addr + "/call"
	if err := waitReady(callURL, keyCred); err != nil {
		return err
	}
	if err := waitReady(callURL, userCred); err != nil {
		return err
	}

	script := filepath.Join(work, "select.sql")
	if err := os.WriteFile(script, []byte("\\set id random(1, "+strconv.Itoa(rows)+")\nSELECT id, name, qty, price, active FROM items WHERE id = :id;\n"), 0o644); err != nil {
		return err
	}
	// wrk (Debian's package) is the lighter load generator, so the Bridge
	// gets a fairer share of the two cores; the Go generator is the fallback.
	wrkBin, _ := exec.LookPath("wrk")
	if wrkBin != "" {
		fmt.Println("load generator: wrk -t2 (pgbench -j2)")
	} else {
		fmt.Println("load generator: Go HTTP client (install wrk for a lighter one: apt-get install wrk)")
	}
	// The reference of issue #4: a bare net/http + pgx handler, no auth and
	// no permissions, serving the same SELECT. It runs in a process of its
	// own, like the Bridge, so that both share the cores the same way (this
	// process hosts the Hub and the Go load generator).
	bareAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bare := exec.Command(os.Args[0], "-serve-bare", bareAddr, "-bare-db", dbURL, "-db-max-conns", strconv.Itoa(poolSize))
	bare.Stderr = os.Stderr
	if err := bare.Start(); err != nil {
		return err
	}
	defer func() { _ = bare.Process.Kill(); _ = bare.Wait() }()
	bareURL := "http://" + bareAddr + "/call"
	emptyURL := "http://" + bareAddr + "/empty"
	metricsURL := "http://" + addr + "/metrics"
	if err := waitReady(bareURL, keyCred); err != nil {
		return err
	}
	if hold {
		lua, err := wrkScript(work, "call.lua", selectByPK, keyCred)
		if err != nil {
			return err
		}
		fmt.Printf("bridge: %s (pid %d)\nbare:   %s\nkey:    %s\nwrk -t2 -c32 -d10s --latency -s %s %s\n", callURL, bridge.Process.Pid, bareURL, apiKey, lua, callURL)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		return nil
	}
	fmt.Printf("\n%-6s %10s %7s %7s %8s %6s %11s %6s %9s %6s %8s %9s\n",
		"conc", "bridge rps", "p50 ms", "p99 ms", "srv p99", "≤5 ms", "pgbench tps", "ratio", "bare rps", "ratio", "bare p99", "empty p99")
	// measure loads url at concurrency c with wrk, or with the Go generator
	// when wrk is not installed.
	measureShape := func(url string, cred credential, sh shape, c int) (result, error) {
		if wrkBin != "" {
			return loadWrk(wrkBin, work, url, cred, sh, c, d)
		}
		return loadCall(url, cred, sh, c, d)
	}
	measure := func(url string, cred credential, c int) (result, error) {
		return measureShape(url, cred, selectByPK, c)
	}
	var keyAt, userAt result   // the API-key and end-user points at endUserC
	var crudAt, logicAt result // the Auto CRUD and logic points at logicC
	for _, f := range strings.Split(concList, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("bad concurrency %q", f)
		}
		before, err := scrapeHistogram(metricsURL)
		if err != nil {
			return err
		}
		res, err := measure(callURL, keyCred, c)
		if err != nil {
			return err
		}
		after, err := scrapeHistogram(metricsURL)
		if err != nil {
			return err
		}
		srv := after.minus(before)
		if c == endUserC {
			// Right after the API-key point, so both share the machine
			// the same way.
			keyAt = res
			if userAt, err = measure(callURL, userCred, c); err != nil {
				return err
			}
		}
		if c == logicC {
			crudAt = res
			if logicAt, err = measureShape(callURL, keyCred, logicByPK, c); err != nil {
				return err
			}
		}
		tps, err := pgbench(dbURL, script, c, d)
		if err != nil {
			return err
		}
		bare, err := measure(bareURL, keyCred, c)
		if err != nil {
			return err
		}
		empty, err := measure(emptyURL, keyCred, c)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %10.0f %7.2f %7.2f %8.2f %5.1f%% %11.0f %6.2f %9.0f %6.2f %8.2f %9.2f\n", c, res.rps, ms(res.p50), ms(res.p99),
			ms(srv.quantile(0.99)), 100*srv.within(0.005), tps, res.rps/tps, bare.rps, bare.rps/tps, ms(bare.p99), ms(empty.p99))
	}
	if endUserC > 0 && userAt.rps == 0 {
		// The end-user concurrency is not one of -c: measure both here.
		if keyAt, err = measure(callURL, keyCred, endUserC); err != nil {
			return err
		}
		if userAt, err = measure(callURL, userCred, endUserC); err != nil {
			return err
		}
	}
	if logicC > 0 && logicAt.rps == 0 {
		if crudAt, err = measure(callURL, keyCred, logicC); err != nil {
			return err
		}
		if logicAt, err = measureShape(callURL, keyCred, logicByPK, logicC); err != nil {
			return err
		}
	}
	if endUserC > 0 {
		fmt.Printf("\n%-6s %10s %7s %7s %13s %6s\n", "conc", "user rps", "p50 ms", "p99 ms", "API-key rps", "ratio")
		fmt.Printf("%-6d %10.0f %7.2f %7.2f %13.0f %6.2f\n", endUserC, userAt.rps, ms(userAt.p50), ms(userAt.p99), keyAt.rps, userAt.rps/keyAt.rps)
		fmt.Println("(an end user's JWT, verified once and then served from the token cache, beside the\n" +
			"API-key point of the same concurrency; target ratio ≥ 0.85, issue #12)")
	}
	if logicC > 0 {
		fmt.Printf("\n%-6s %10s %7s %7s %13s %6s\n", "conc", "logic rps", "p50 ms", "p99 ms", "Auto CRUD rps", "ratio")
		fmt.Printf("%-6d %10.0f %7.2f %7.2f %13.0f %6.2f\n", logicC, logicAt.rps, ms(logicAt.p50), ms(logicAt.p99), crudAt.rps, logicAt.rps/crudAt.rps)
		fmt.Println("(logics/items/by-id, a readonly logic selecting the same row by primary key, beside the\n" +
			"Auto CRUD select of the same concurrency; target ratio ≥ 0.90, issue #13)")
	}
	if workerC > 0 {
		if err := workerPoint(work, hubTS.URL, token, dbURL, apiKey, callURL, keyCred, workerC, measure); err != nil {
			return err
		}
	}
	rss, err := peakRSS(bridge.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("\n(%d database connections for the Bridge and the bare handler; srv p99: the Bridge's own\n"+
		"histogram, interpolated within its buckets; ≤5 ms: the share it answered within 5 ms;\n"+
		"empty p99: wrk against a handler that answers a constant, no database)\n", poolSize)
	fmt.Printf("stk-bridge peak RSS: %.1f MB\n", float64(rss)/1024)
	return nil
}

// workerPoint measures select-by-primary-key through the Workers runtime
// (packages/worker in workerd, SPEC §16) beside the Bridge at concurrency
// c, then the planner's cost inside the wasm module (bench/plan.mjs).
// workerd's emulated Hyperdrive does not pool: every call opens its own
// PostgreSQL connection, as a Worker without Hyperdrive does.
func workerPoint(work, hubURL, token, dbURL, apiKey, bridgeURL string, cred credential, c int,
	measure func(string, credential, int) (result, error)) error {
	dir := filepath.Join(work, "worker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w, err := workerd.Start(workerd.Options{Root: ".", Dir: dir,
		Vars:       map[string]string{"STK_HUB_URL": hubURL, "STK_BRIDGE_TOKEN": token},
		Hyperdrive: map[string]string{"main": dbURL}})
	if err != nil {
		return err
	}
	defer w.Stop()
	workerURL := w.URL + "/call"
	if err := waitReady(workerURL, cred); err != nil {
		return fmt.Errorf("%w\n%s", err, w.Logs())
	}
	// A first run warms V8's tiers up (and is not reported).
	if _, err := measure(workerURL, cred, c); err != nil {
		return err
	}
	wres, err := measure(workerURL, cred, c)
	if err != nil {
		return err
	}
	bres, err := measure(bridgeURL, cred, c)
	if err != nil {
		return err
	}
	fmt.Printf("\n%-6s %10s %7s %7s %10s %6s\n", "conc", "worker rps", "p50 ms", "p99 ms", "bridge rps", "ratio")
	fmt.Printf("%-6d %10.0f %7.2f %7.2f %10.0f %6.2f\n", c, wres.rps, ms(wres.p50), ms(wres.p99), bres.rps, wres.rps/bres.rps)
	fmt.Println("(the Worker in workerd, one isolate, a new PostgreSQL connection per call — workerd's\n" +
		"Hyperdrive emulation does not pool; beside the Bridge at the same concurrency)")
	rss, err := peakRSS(w.Pid)
	if err == nil {
		fmt.Printf("workerd peak RSS: %.1f MB\n", float64(rss)/1024)
	}
	out, err := exec.Command("node", "packages/worker/bench/plan.mjs", hubURL, token, "bench", "prod", apiKey).CombinedOutput()
	if err != nil {
		return fmt.Errorf("plan bench: %v\n%s", err, out)
	}
	fmt.Print(string(out))
	return nil
}

// serveBare serves /call-shaped requests on addr with nothing but
// net/http, a JSON decode, pgxpool and a JSON encode: the floor the Bridge
// is compared with.
func serveBare(addr, dbURL string, poolSize int) error {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(poolSize)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Params struct {
				Where struct {
					ID int64 `json:"id"`
				} `json:"where"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var (
			id, qty int64
			name    string
			price   string
			active  bool
		)
		err := pool.QueryRow(r.Context(), "SELECT id, name, qty, price::text, active FROM items WHERE id = $1", req.Params.Where.ID).
			Scan(&id, &name, &qty, &price, &active)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": []any{map[string]any{"id": id, "name": name, "qty": qty, "price": price, "active": active}}, "meta": map[string]any{}})
	})
	mux := http.NewServeMux()
	mux.Handle("POST /call", h)
	// An answer of the Bridge's size with no work behind it: what wrk
	// measures here is the HTTP stack and the sharing of the cores alone.
	empty := []byte(`{"data":[{"id":5,"name":"item-5","qty":5,"price":"0.50000000000000000000","active":false}],"meta":{}}` + "\n")
	mux.HandleFunc("POST /empty", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(empty)
	})
	return http.ListenAndServe(addr, mux)
}

// histogram is the Bridge's latency histogram of selects answered 200 (the
// load test fails on any other status): cumulative counts by
// upper bound in seconds, as /metrics exposes them.
type histogram map[float64]float64

var bucketRe = regexp.MustCompile(`(?m)^stk_bridge_request_duration_seconds_bucket\{op="select",status="200",le="([^"]+)"\} ([0-9.e+]+)$`)

func scrapeHistogram(metricsURL string) (histogram, error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	h := histogram{}
	for _, m := range bucketRe.FindAllSubmatch(body, -1) {
		le, err := strconv.ParseFloat(string(m[1]), 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, fmt.Errorf("metrics: bucket %q: %v", m[1], err)
		}
		n, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: count %q: %v", m[2], err)
		}
		h[le] = n
	}
	return h, nil
}

func (h histogram) minus(o histogram) histogram {
	d := histogram{}
	for le, n := range h {
		d[le] = n - o[le]
	}
	return d
}

func (h histogram) bounds() []float64 {
	les := make([]float64, 0, len(h))
	for le := range h {
		les = append(les, le)
	}
	slices.Sort(les)
	return les
}

// within is the share of observations at or under le seconds; NaN when le
// is not one of the Bridge's bucket bounds.
func (h histogram) within(le float64) float64 {
	n, ok := h[le]
	if total := h[math.Inf(1)]; ok && total > 0 {
		return n / total
	}
	return math.NaN()
}

// quantile interpolates linearly within the bucket that holds the q-th
// observation, as Prometheus's histogram_quantile does.
func (h histogram) quantile(q float64) time.Duration {
	les := h.bounds()
	if len(les) == 0 || h[math.Inf(1)] == 0 {
		return 0
	}
	rank := q * h[math.Inf(1)]
	lower, below := 0.0, 0.0
	for _, le := range les {
		if h[le] >= rank {
			if math.IsInf(le, 1) {
				return seconds(lower)
			}
			frac := (rank - below) / (h[le] - below)
			return seconds(lower + frac*(le-lower))
		}
		lower, below = le, h[le]
	}
	return 0
}

// seconds rounds s seconds to the microsecond (bucket bounds such as 0.001
// are not exact in binary).
func seconds(s float64) time.Duration { return time.Duration(math.Round(s*1e6)) * time.Microsecond }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func createDB(ctx context.Context, base, name string) (string, error) {
	c, err := pgx.Connect(ctx, withDB(base, "postgres"))
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return withDB(base, name), nil
}

func withDB(base, db string) string {
	i := strings.Index(base, "/?")
	if i < 0 {
		return strings.TrimSuffix(base, "/") + "/" + db
	}
	return base[:i] + "/" + db + base[i+1:]
}

func load(ctx context.Context, dbURL string) error {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL,
		price numeric NOT NULL, active boolean NOT NULL);
		INSERT INTO items SELECT g, 'item-' || g, g % 100, (g % 1000) / 10.0, g % 2 = 0 FROM generate_series(1, `+strconv.Itoa(rows)+`) g;
		ANALYZE items;`)
	return err
}

// The bench Hub's bootstrap owner, who configures it through the API.
const (
	benchOwner    = "bench@example.com"
	benchPassword = "callbench-owner-password"
)

// bootstrap creates project/env/connection/snapshot/permissions/auth
// config (trusting issuerURL)/release and an API key through the Hub API,
// and returns the key.
func bootstrap(hubURL, dbURL, issuerURL string) (string, error) {
	body, err := hubCall(hubURL, "", "POST", "/v1/auth/login", hubapi.Login{Email: benchOwner, Password: benchPassword}, "")
	if err != nil {
		return "", err
	}
	var tok hubapi.Tokens
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", err
	}
	steps := []struct {
		method, path string
		body         any
		ctype        string
	}{
		{"POST", "/v1/projects", hubapi.CreateProject{Name: "bench"}, ""},
		{"POST", "/v1/projects/bench/envs", hubapi.CreateEnv{Name: "prod"}, ""},
		{"PUT", "/v1/projects/bench/envs/prod/connections/main", hubapi.PutConnection{URL: dbURL}, ""},
		{"POST", "/v1/projects/bench/envs/prod/connections/main/snapshots", nil, ""},
		{"PUT", "/v1/projects/bench/envs/prod/permissions", "version: 1\ntables:\n  items:\n    select: [reader]\n", "application/yaml"},
		{"PUT", "/v1/projects/bench/envs/prod/auth", "version: 1\nissuers:\n  - name: bench\n    issuer: " + issuerURL + "\n", "application/yaml"},
		{"PUT", "/v1/projects/bench/envs/prod/logics", hubapi.ApplyLogics{Files: map[string]string{"items/by-id.sql": benchLogic}}, ""},
		{"POST", "/v1/projects/bench/envs/prod/releases", hubapi.CreateRelease{Ref: "bench"}, ""},
	}
	for _, s := range steps {
		if _, err := hubCall(hubURL, tok.AccessToken, s.method, s.path, s.body, s.ctype); err != nil {
			return "", err
		}
	}
	body, err = hubCall(hubURL, tok.AccessToken, "POST", "/v1/projects/bench/envs/prod/apikeys", hubapi.CreateAPIKey{Name: "bench", Roles: []string{"reader"}}, "")
	if err != nil {
		return "", err
	}
	var k hubapi.CreatedAPIKey
	if err := json.Unmarshal(body, &k); err != nil {
		return "", err
	}
	return k.Key, nil
}

func hubCall(hubURL, token, method, path string, body any, ctype string) ([]byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, hubURL+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, out)
	}
	return out, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// benchLogic is the logic point's statement: the row and columns the Auto
// CRUD select-by-PK answers, as a readonly logic (SPEC §6).
const benchLogic = `---
auth: {roles: [reader]}
readonly: true
params:
  id: {type: integer, required: true}
---
SELECT id, name, qty, price, active FROM items WHERE id = :id
`

// shape is a /call body with the row id between prefix and suffix (no
// single quote: the wrk script holds them in Lua strings).
type shape struct{ name, prefix, suffix string }

var (
	selectByPK = shape{"call", `{"path":"db/main/items/select","params":{"where":{"id":`, `}}}`}
	logicByPK  = shape{"logic", `{"path":"logics/items/by-id","params":{"id":`, `}}`}
)

func (sh shape) body(id int) []byte { return []byte(sh.prefix + strconv.Itoa(id) + sh.suffix) }

func callBody(id int) []byte { return selectByPK.body(id) }

// credential is the headers a caller sends: an API key, or a Bearer token
// with the hint headers.
type credential map[string]string

func (c credential) set(h http.Header) {
	for k, v := range c {
		h.Set(k, v)
	}
}

func waitReady(callURL string, cred credential) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("POST", callURL, bytes.NewReader(callBody(1)))
		cred.set(req.Header)
		req.Header.Set("Content-Type", "application/json")
		if res, err := http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
			if res.StatusCode != 503 && res.StatusCode != 404 {
				return fmt.Errorf("bridge answered %d: %s", res.StatusCode, body)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the bridge did not become ready in 30s")
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// loadCall runs c workers for d, each with keep-alive connections, calling
// a select-by-PK on random ids; every response must be 200.
func loadCall(callURL string, cred credential, sh shape, c int, d time.Duration) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var (
		mu      sync.Mutex
		lat     []time.Duration
		failure error
		wg      sync.WaitGroup
	)
	stop := time.Now().Add(d)
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			var mine []time.Duration
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("POST", callURL, bytes.NewReader(sh.body(1+r.IntN(rows))))
				cred.set(req.Header)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failure != nil {
		return result{}, failure
	}
	if len(lat) == 0 {
		return result{}, errors.New("no request completed")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}

var (
	wrkRPSRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPctRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkBadRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// loadWrk runs wrk with a script that sends the same bodies of sh
// as loadCall; any non-2xx answer fails the run.
func loadWrk(bin, work, callURL string, cred credential, sh shape, c int, d time.Duration) (result, error) {
	name := sh.name + ".lua"
	if cred["Authorization"] != "" {
		name = sh.name + "-user.lua"
	}
	script, err := wrkScript(work, name, sh, cred)
	if err != nil {
		return result{}, err
	}
	out, err := exec.Command(bin, "-t2", "-c", strconv.Itoa(c), "-d", strconv.Itoa(int(d.Seconds()))+"s",
		"--latency", "-s", script, callURL).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if m := wrkBadRe.FindSubmatch(out); m != nil {
		return result{}, fmt.Errorf("wrk: %s non-2xx answers\n%s", m[1], out)
	}
	m := wrkRPSRe.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	var res result
	res.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, p := range wrkPctRe.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(p[3])]
		dur := time.Duration(v * float64(unit))
		if string(p[1]) == "50" {
			res.p50 = dur
		} else {
			res.p99 = dur
		}
	}
	return res, nil
}

// wrkScript writes the wrk script name that sends random-id sh
// bodies with the credential's headers, and returns its path.
func wrkScript(work, name string, sh shape, cred credential) (string, error) {
	script := filepath.Join(work, name)
	var headers strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cred)) {
		fmt.Fprintf(&headers, "wrk.headers[%q] = %q\n", k, cred[k])
	}
	lua := `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
` + headers.String() + `request = function()
  local id = math.random(1, ` + strconv.Itoa(rows) + `)
  return wrk.format(nil, nil, nil, '` + sh.prefix + `' .. id .. '` + sh.suffix + `')
end
`
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return "", err
	}
	return script, nil
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func pgbench(dbURL, script string, c int, d time.Duration) (float64, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
		if len(matches) == 0 {
			return 0, errors.New("pgbench not found: apt-get install postgresql-contrib (or postgresql-client)")
		}
		bin = matches[len(matches)-1]
	}
	out, err := exec.Command(bin, "-n", "-M", "prepared", "-c", strconv.Itoa(c), "-j", "2",
		"-T", strconv.Itoa(int(d.Seconds())), "-f", script, dbURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// peakRSS reads VmHWM (peak resident set) of pid, in kB.
func peakRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}
