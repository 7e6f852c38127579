package server

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/santokit/santokit/internal/testpg"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// Two Hub replicas on one PostgreSQL store: a change made through Hub A
// wakes a bundle long poll held by Hub B at once (LISTEN/NOTIFY), not at
// B's once-a-second re-read (SPEC §8.1; issue 17 item 1).
func TestReplicaLongPollWakesOnNotify(t *testing.T) {
	store := testpg.New(t)
	a := newHub(t, "postgres", func(c *Config) { c.DatabaseURL = store })
	b := newHub(t, "postgres", func(c *Config) { c.DatabaseURL = store })
	a.expect(a.do("POST", "/v1/projects", hubapi.CreateProject{Name: "demo"}), 201, "", nil)
	a.expect(a.do("POST", "/v1/projects/demo/envs", hubapi.CreateEnv{Name: "dev"}), 201, "", nil)
	rev := b.revision(t, "dev")

	for i := range 3 {
		type result struct {
			status int
			at     time.Time
		}
		polled := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest("GET", b.url+"/internal/v1/envs/demo/dev/bundle?wait=20s", nil)
			req.Header.Set("Authorization", "Bearer "+bridgeToken)
			req.Header.Set("If-None-Match", `"`+strconv.FormatInt(rev, 10)+`"`)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				polled <- result{}
				return
			}
			res.Body.Close()
			polled <- result{res.StatusCode, time.Now()}
		}()
		time.Sleep(150 * time.Millisecond) // the poll is waiting on B
		changed := time.Now()
		a.expect(a.do("POST", "/v1/projects/demo/envs/dev/apikeys", hubapi.CreateAPIKey{Name: "k" + strconv.Itoa(i), Roles: []string{"reader"}}), 201, "", nil)
		select {
		case r := <-polled:
			if r.status != 200 {
				t.Fatalf("the long poll on B answered %d, want 200", r.status)
			}
			// B's safety-net re-read runs once a second; the notification
			// must beat it by far.
			if d := r.at.Sub(changed); d > 500*time.Millisecond {
				t.Fatalf("B's long poll woke %s after the change through A", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("B's long poll did not wake")
		}
		rev = b.revision(t, "dev")
	}
}
