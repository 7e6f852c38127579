//go:build worker

// The Workers runtime (SPEC §16) against the same cases: the Worker built
// by `npm run build` in packages/worker runs in workerd (npm), configured
// like a deployment — the Hub's URL and the bridge token as bindings, the
// data database behind an emulated Hyperdrive binding (workerd's hyperdrive
// binding to an external TCP service on loopback) — and every postgres case
// is posted to it instead of the Bridge. SQLite cases are the Bridge's
// only: the Worker answers a SQLite connection 503 (worker_bundle_test.go
// checks that). `make test-worker` builds the Worker and runs this file
// (the build tag keeps `go test ./...` from needing Node).
package conformance

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/santokit/santokit/internal/workerd"
)

// repoRoot is where node_modules and packages/worker/dist are.
const repoRoot = "../.."

func TestWorkerConformance(t *testing.T) {
	cases := loadCases(t)
	st := setup(t, "postgres")
	// New sessions of the data database default to other settings than
	// the ones the encoder reads, as a pooled connection (Hyperdrive
	// resets them to the server's) may: the Worker must set its own in
	// each call's transaction (decision 0038).
	if _, err := st.db.Exec(`DO $$ BEGIN
		EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Kolkata');
		EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'SQL, DMY');
		EXECUTE format('ALTER DATABASE %I SET IntervalStyle = %L', current_database(), 'postgres');
		EXECUTE format('ALTER DATABASE %I SET bytea_output = %L', current_database(), 'escape');
		EXECUTE format('ALTER DATABASE %I SET extra_float_digits = %L', current_database(), '0');
		EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '0');
	END $$`); err != nil {
		t.Fatal(err)
	}
	st.bridge = startWorker(t, st, nil)
	st.waitServing(t, st.keys["reader"])
	st.waitServing(t, st.keys["other"])
	var passed, failed []string
	for _, c := range cases {
		if !c.runsOn("postgres") {
			continue
		}
		ok := t.Run(c.id(), func(t *testing.T) {
			st.reset(t)
			st.run(t, c)
		})
		if ok {
			passed = append(passed, c.id())
		} else {
			failed = append(failed, c.id())
		}
	}
	sort.Strings(failed)
	for _, f := range failed {
		t.Logf("failed on the Worker: %s", f)
	}
	// The line `make test-worker` prints (and CI reads).
	fmt.Printf("worker: %d passed, %d failed\n", len(passed), len(failed))
}

// workerOptions are STK_* bindings that override startWorker's defaults.
type workerOptions map[string]string

// startWorker runs the built Worker in workerd against st's Hub and data
// database and returns its base URL. The process ends with the test.
func startWorker(t *testing.T, st *stack, opts workerOptions) string {
	t.Helper()
	return startWorkerHub(t, st, st.hub.base, opts)
}

func startWorkerHub(t *testing.T, st *stack, hubURL string, opts workerOptions) string {
	t.Helper()
	// The Bridge's configuration, so both runtimes answer the same cases
	// under the same limits; the Worker has no file system (no SQLite dir).
	vars := map[string]string{}
	for k, v := range st.bridgeEnv {
		vars[k] = v
	}
	delete(vars, "STK_SQLITE_DIR")
	vars["STK_HUB_URL"] = hubURL
	for k, v := range opts {
		vars[k] = v
	}
	// The data database behind an emulated Hyperdrive binding (a SQLite
	// stack has none: the Worker answers it 503).
	hyperdrive := map[string]string{}
	if strings.HasPrefix(st.dataURL, "postgres") {
		hyperdrive["main"] = st.dataURL
	}
	p, err := workerd.Start(workerd.Options{Root: repoRoot, Vars: vars, Hyperdrive: hyperdrive, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() || testing.Verbose() && os.Getenv("STK_CONFORMANCE_LOGS") != "" {
			t.Logf("workerd output:\n%s", p.Logs())
		}
	})
	return p.URL
}
