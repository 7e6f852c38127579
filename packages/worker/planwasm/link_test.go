package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// What the Worker's wasm must not link (decision 0037): fmt and reflection
// cost more than the module's size budget leaves (SPEC §16), and the shell
// hashes key secrets with WebCrypto. fmt and crypto/sha256 must not be
// reached at all — also not through a standard library error type, as
// encoding/hex's once did. The planner imports encoding/json for the
// json.Number type alone, whose package init reaches into reflect, so for
// those two only our own code's edges are checked.
var (
	unreached = []string{"fmt.", "crypto/sha256."}
	notCalled = []string{"encoding/json.", "reflect."}
)

// auxiliary symbols the linker lists beside a function (argument info,
// stack objects, deduplicated static data): an edge to one of them is not
// a call.
var auxSymbols = []string{".arginfo", ".argliveinfo", ".stkobj", ".opendefer", "..stmp_", ".args_stackmap", ".wrapinfo", "..gobytes"}

// TestLinkedCode asks the linker (-dumpdep lists its reachability edges,
// each symbol at the first edge that reaches it) whether the planner links
// what it must not, and names the edge — the size ceiling in build.mjs only
// says that the module grew, this says why.
func TestLinkedCode(t *testing.T) {
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	edges := 0
	for _, line := range strings.Split(string(out), "\n") {
		from, to, ok := strings.Cut(line, " -> ")
		if !ok {
			continue
		}
		edges++
		if aux(to) {
			continue
		}
		for _, bad := range unreached {
			if strings.HasPrefix(to, bad) && !strings.HasPrefix(from, bad) && !strings.HasPrefix(from, "type:") {
				t.Errorf("the planner links %s: %s", strings.TrimSuffix(bad, "."), line)
			}
		}
		if !strings.HasPrefix(from, "github.com/santokit/") && !strings.HasPrefix(from, "main.") {
			continue
		}
		for _, bad := range notCalled {
			if strings.HasPrefix(to, bad) && !strings.HasPrefix(to, "encoding/json.Number.") {
				t.Errorf("our code calls into %s: %s", strings.TrimSuffix(bad, "."), line)
			}
		}
	}
	if edges < 1000 {
		t.Fatalf("go build -ldflags=-dumpdep printed %d edges: the check no longer sees the linker's graph\n%.2000s", edges, out)
	}
}

func aux(sym string) bool {
	for _, s := range auxSymbols {
		if strings.Contains(sym, s) {
			return true
		}
	}
	return false
}
