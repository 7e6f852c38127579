package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbiddenLinks are the packages whose code the Worker's wasm must not
// link (decision 0037): reflection-based JSON, fmt and reflect cost more
// than the module's whole size budget leaves (SPEC §16), and the shell
// hashes key secrets with WebCrypto, so crypto/sha256 is not even imported.
// The planner imports encoding/json for the json.Number type alone; its
// package init and Number's methods are allowed.
var forbiddenLinks = []string{"encoding/json.", "fmt.", "reflect."}

// auxiliary symbols the linker lists beside a function (argument info,
// stack objects, deduplicated static data): an edge to one of them is not
// a call.
var auxSymbols = []string{".arginfo", ".argliveinfo", ".stkobj", ".opendefer", "..stmp_", ".args_stackmap", "..inittask", ".wrapinfo", "..gobytes"}

// TestLinkedCode asks the linker (-dumpdep lists its reachability edges,
// each symbol at the first edge that reaches it) whether our code reaches a
// forbidden package, and names the edge — the size ceiling in build.mjs
// only says that the module grew, this says why.
func TestLinkedCode(t *testing.T) {
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	edges, sha256Seen := 0, false
	for _, line := range strings.Split(string(out), "\n") {
		from, to, ok := strings.Cut(line, " -> ")
		if !ok {
			continue
		}
		edges++
		if strings.HasPrefix(to, "crypto/sha256.") && !sha256Seen {
			t.Errorf("the planner links crypto/sha256 (%s): key secrets are hashed by the shell with WebCrypto", line)
			sha256Seen = true
		}
		if !strings.HasPrefix(from, "github.com/santokit/") && !strings.HasPrefix(from, "main.") {
			continue
		}
		for _, bad := range forbiddenLinks {
			if strings.HasPrefix(to, bad) && !aux(to) && !strings.HasPrefix(to, "encoding/json.Number.") {
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
