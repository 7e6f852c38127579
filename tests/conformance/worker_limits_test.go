//go:build worker

package conformance

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/workerd"
	bridgeserver "github.com/santokit/santokit/packages/bridge/server"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// STK_RATE_LIMIT on the Worker (SPEC §4.6; decision 0038): the same
// sequence of calls to a Bridge and to the Worker, both with one request an
// hour after a burst of 3, gets the same answers — 429 TOO_MANY_REQUESTS
// with the same message and Retry-After once a key's or an end user's
// burst is spent, counted after verification (a forged secret spends
// nothing, an unknown table is 429 too), anonymous callers not counted.
func TestWorkerRateLimit(t *testing.T) {
	const rule = "1/h,burst=3"
	st := setup(t, "postgres")
	worker := startWorker(t, st, workerOptions{"STK_RATE_LIMIT": rule})

	env := map[string]string{}
	for k, v := range st.bridgeEnv {
		env[k] = v
	}
	env["STK_RATE_LIMIT"] = rule
	cfg, err := bridgeserver.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// A Bridge of its own: the stack's has no rate limit.
	b, err := bridgeserver.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	bts := httptest.NewServer(b.Handler())
	t.Cleanup(func() { bts.Close(); b.Close() })

	key := func(k string) map[string]string { return map[string]string{"X-Santokit-Api-Key": k} }
	user := func(sub string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + st.issuers.token(t, &User{Sub: sub}), "X-Santokit-Project": project, "X-Santokit-Env": "dev"}
	}
	admin := st.keys["admin"]
	forged := admin[:strings.LastIndexByte(admin, '_')+1] + strings.Repeat("b", 43)
	alice, alice2, bob := user("alice"), user("alice"), user("bob")
	type step struct {
		name    string
		headers map[string]string
		body    string
		want    int
	}
	var steps []step
	add := func(name string, h map[string]string, body string, n, want int) {
		for range n {
			steps = append(steps, step{name, h, body, want})
		}
	}
	add("reader's burst", key(st.keys["reader"]), selectItems, 3, 200)
	add("reader over it", key(st.keys["reader"]), selectItems, 1, 429)
	add("reader, unknown table", key(st.keys["reader"]), `{"path":"db/main/nope/select"}`, 1, 429)
	add("a forged secret for admin's keyId", key(forged), selectItems, 5, 401)
	add("admin's burst, intact", key(admin), selectItems, 3, 200)
	add("admin over it", key(admin), selectItems, 1, 429)
	add("anonymous, not counted", map[string]string{"X-Santokit-Project": project, "X-Santokit-Env": "dev"}, selectItems, 5, 0)
	add("alice's burst, two tokens", alice, selectItems, 2, 200)
	add("alice's burst", alice2, selectItems, 1, 200)
	add("alice over it", alice, selectItems, 1, 429)
	add("bob has his own", bob, selectItems, 1, 200)

	for i, s := range steps {
		got := map[string]string{}
		for name, base := range map[string]string{"bridge": bts.URL, "worker": worker} {
			status, header, raw, err := (&stack{bridge: base}).post(s.headers, []byte(s.body))
			if err != nil {
				t.Fatalf("step %d (%s), %s: %v", i, s.name, name, err)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.Unmarshal(raw, &e)
			got[name] = strings.Join([]string{strconv.Itoa(status), e.Error.Code, e.Error.Message, header.Get("Retry-After")}, " | ")
			if s.want != 0 && status != s.want {
				t.Errorf("step %d (%s), %s: %s, want %d", i, s.name, name, got[name], s.want)
			}
			if s.want == 0 && status == 429 {
				t.Errorf("step %d (%s), %s: %s: anonymous calls are not counted", i, s.name, name, got[name])
			}
		}
		if got["worker"] != got["bridge"] {
			t.Errorf("step %d (%s): the Worker answers %s; the Bridge %s", i, s.name, got["worker"], got["bridge"])
		}
		if s.want == 429 && !strings.HasSuffix(got["worker"], "retry after 3600 s | 3600") {
			t.Errorf("step %d (%s): %s, want Retry-After 3600 (one token an hour)", i, s.name, got["worker"])
		}
	}
}

// A malformed STK_RATE_LIMIT, or a statement timeout over PostgreSQL's
// limit, leaves the Worker answering 503 and logging what is wrong, naming
// the variable (as the Bridge refuses to start).
func TestWorkerMisconfigured(t *testing.T) {
	st := setup(t, "postgres")
	for name, c := range map[string]struct {
		vars map[string]string
		log  string
	}{
		"rate limit":        {map[string]string{"STK_RATE_LIMIT": "100/sec"}, `STK_RATE_LIMIT "100/sec": the unit must be s, m or h`},
		"statement timeout": {map[string]string{"STK_STATEMENT_TIMEOUT": "600h"}, `STK_STATEMENT_TIMEOUT: "600h" is over PostgreSQL's limit of 2147483647ms`},
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{"STK_HUB_URL": st.hub.base, "STK_BRIDGE_TOKEN": bridgeToken}
			for k, v := range c.vars {
				vars[k] = v
			}
			p, err := workerd.Start(workerd.Options{Root: repoRoot, Vars: vars, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			status, code, msg := answer(t, p.URL, map[string]string{"X-Santokit-Api-Key": st.keys["reader"]}, selectItems)
			if status != 503 || code != "SERVICE_UNAVAILABLE" || !strings.Contains(msg, "misconfigured") {
				t.Fatalf("%d %s %q, want 503 naming the misconfiguration", status, code, msg)
			}
			if logs := p.Logs(); !strings.Contains(logs, c.log) {
				t.Fatalf("the log does not name the variable and the fault (%s):\n%s", c.log, logs)
			}
		})
	}
}

// API keys used through the Worker get their lastUsedAt (SPEC §7.2, §15;
// decision 0038): the first call of an isolate reports at once, later ones
// at most once per STK_USAGE_INTERVAL, each from a call's waitUntil.
func TestWorkerKeyUsage(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, workerOptions{"STK_USAGE_INTERVAL": "1s"})
	envPath := "/v1/projects/" + project + "/envs/dev"
	var k hubapi.CreatedAPIKey
	st.hub.do("POST", envPath+"/apikeys", "", hubapi.CreateAPIKey{Name: "usage", Roles: []string{"reader"}}, &k, 201)
	lastUsed := func() *time.Time {
		var keys struct{ Items []hubapi.APIKey }
		st.hub.do("GET", envPath+"/apikeys", "", nil, &keys, 200)
		for _, key := range keys.Items {
			if key.KeyID == k.KeyID {
				return key.LastUsedAt
			}
		}
		t.Fatalf("key %s is not listed", k.KeyID)
		return nil
	}
	if at := lastUsed(); at != nil {
		t.Fatalf("a new key has lastUsedAt %s", at)
	}
	// until polls the Hub until the key's lastUsedAt is after after.
	until := func(after time.Time) time.Time {
		deadline := time.Now().Add(5 * time.Second)
		for {
			if at := lastUsed(); at != nil && at.After(after) {
				return *at
			}
			if time.Now().After(deadline) {
				t.Fatalf("lastUsedAt is still not after %s", after.Format(time.RFC3339Nano))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	h := map[string]string{"X-Santokit-Api-Key": k.Key}
	before := time.Now().Add(-time.Second)
	if status, code, msg := answer(t, worker, h, selectItems); status != 200 {
		t.Fatalf("%d %s %s", status, code, msg)
	}
	first := until(before)
	time.Sleep(1100 * time.Millisecond)
	if status, code, msg := answer(t, worker, h, selectItems); status != 200 {
		t.Fatalf("%d %s %s", status, code, msg)
	}
	second := until(first)
	t.Logf("lastUsedAt %s, then %s", first.Format(time.RFC3339Nano), second.Format(time.RFC3339Nano))
}

// Made-up API key ids cost Hub lookups within a budget per isolate (the
// Bridge's 100/s, bursts of 200; decision 0038): a flood of them gets 401s,
// then the Bridge's 503 with Retry-After once the budget is spent, and
// keys already located keep working.
func TestWorkerLookupBudget(t *testing.T) {
	st := setup(t, "postgres")
	worker := startWorker(t, st, nil)
	reader := map[string]string{"X-Santokit-Api-Key": st.keys["reader"]}
	if status, code, msg := answer(t, worker, reader, selectItems); status != 200 {
		t.Fatalf("%d %s %s", status, code, msg)
	}
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var n atomic.Int64
	madeUp := func() string {
		i := n.Add(1)
		id := []byte("key_01" + strings.Repeat("0", 24))
		for k := len(id) - 1; i > 0; k-- {
			id[k] = alphabet[i%32]
			i /= 32
		}
		return "stk_" + string(id) + "_" + fakeSecret
	}
	var (
		mu      sync.Mutex
		over    []string
		refused int
		others  []string
	)
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(over) > 0 || len(others) > 0
				mu.Unlock()
				if done {
					return
				}
				status, header, raw, err := (&stack{bridge: worker}).post(map[string]string{"X-Santokit-Api-Key": madeUp()}, []byte(selectItems))
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				_ = json.Unmarshal(raw, &e)
				got := strconv.Itoa(status) + " " + e.Error.Code + " " + e.Error.Message
				mu.Lock()
				switch {
				case err != nil:
					others = append(others, err.Error())
				case status == 401 && e.Error.Message == "invalid API key":
					refused++
				case status == 503 && e.Error.Message == "too many lookups of unknown projects, envs or API keys right now: try again shortly":
					over = append(over, got+" | Retry-After "+header.Get("Retry-After"))
				default:
					others = append(others, got)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("unexpected answers: %q", others)
	}
	if len(over) == 0 {
		t.Fatalf("%d made-up keys in 30 s were all refused 401, none hit the lookup budget", refused)
	}
	if refused < lookupBurst {
		t.Errorf("only %d lookups before the budget was spent, want the burst of %d at least", refused, lookupBurst)
	}
	if !strings.HasSuffix(over[0], "Retry-After 1") {
		t.Errorf("over the budget: %s, want Retry-After 1", over[0])
	}
	t.Logf("%d made-up keys refused, then %s", refused, over[0])
	// A key the Worker has located costs no lookup.
	if status, code, msg := answer(t, worker, reader, selectItems); status != 200 {
		t.Fatalf("a located key after the flood: %d %s %s", status, code, msg)
	}
}

// lookupBurst is the Bridge's DefaultLookupBurst.
const lookupBurst = 200
