package devstack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/cli/internal/hubclient"
	"github.com/santokit/santokit/packages/core/hubapi"
)

// TestDevConnectionPolicy: stk dev's Hub and Bridge keep SQLite connections
// inside .santokit/, where the stack's own files also live: the data
// database is served (through the real Bridge), while the Hub's store, its
// journal, the master key and the bridge token are refused (issue #11).
func TestDevConnectionPolicy(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dir: dir, HubAddr: "127.0.0.1:0", BridgeAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0",
			Getenv: func(string) string { return "" }, Ready: func(i Info) { ready <- i }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var info Info
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready after 60s")
	}

	// The data database, through the real Bridge.
	req, _ := http.NewRequest(http.MethodPost, info.BridgeURL+"/call", strings.NewReader(info.CallBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Santokit-Api-Key", info.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/call on data.db: %d %s", res.StatusCode, body)
	}

	c, err := hubclient.New(info.HubURL)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, StateDirName)
	for _, name := range []string{hubStoreName, hubStoreName + "-wal", masterKeyName, bridgeTokenName, logFileName} {
		_, _, err := c.PutConnection(context.Background(), Project, Env, "x", hubapi.PutConnection{URL: "sqlite://" + filepath.Join(state, name), NoTest: true})
		var he *hubclient.Error
		if !errors.As(err, &he) || he.Status != 400 {
			t.Errorf("%s: %v; want a 400", name, err)
		}
	}
	if _, err := c.GetConnection(context.Background(), Project, Env, "x"); err == nil {
		t.Error("a refused connection was stored")
	}
	if _, err := os.Stat(filepath.Join(state, dataDBName)); err != nil {
		t.Fatal(err)
	}
}
