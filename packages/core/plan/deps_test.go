package plan

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The planner is also compiled to WebAssembly for edge runtimes
// (ARCHITECTURE §1). The build itself is checked by CI with
//
//	GOOS=wasip1 GOARCH=wasm go build ./packages/core/plan/...
//
// This test guards what makes that build possible and small: the package's
// own imports stay on an allow-list (no I/O, no clock, no randomness, no
// net/http), and nothing it links — for wasip1 — pulls a database driver,
// cel-go, or what only the Hub and CLI need and would swell the Workers'
// wasm module (decision 0030): the YAML parser, regexp, net/mail, net/url,
// log/slog, id and key generation. What the Worker's module may call at all
// (no fmt, reflection or crypto/sha256, decision 0037) is checked on the
// linked module by TestLinkedCode in packages/worker/planwasm.

var allowedImports = []string{
	"bytes", "crypto/subtle", "encoding/base64", "encoding/json",
	"math", "slices", "strconv", "strings", "time", "unicode/utf8",
	"github.com/santokit/santokit/packages/core/apierr",
	"github.com/santokit/santokit/packages/core/apikey",
	"github.com/santokit/santokit/packages/core/bundle",
	"github.com/santokit/santokit/packages/core/filter",
	"github.com/santokit/santokit/packages/core/jsonscan",
	"github.com/santokit/santokit/packages/core/logic",
	"github.com/santokit/santokit/packages/core/names",
	"github.com/santokit/santokit/packages/core/permissions",
	"github.com/santokit/santokit/packages/core/predicate",
	"github.com/santokit/santokit/packages/core/schema",
}

var forbiddenDeps = []string{
	"github.com/jackc/", "modernc.org/", "github.com/google/cel-go", "database/sql\n",
	"os/exec", "github.com/pressly/goose",
	"github.com/goccy/go-yaml", "\nregexp\n", "\nnet/mail\n", "\nnet/url\n", "\nnet/netip\n", "\nlog/slog\n",
	"\ncrypto/rand\n", "\nmath/big\n", "github.com/oklog/ulid",
}

func goList(t *testing.T, format string, deps bool) string {
	t.Helper()
	// go test puts GOROOT/bin first on PATH.
	args := []string{"list", "-f", format}
	if deps {
		args = append(args, "-deps")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	return string(out)
}

func TestImports(t *testing.T) {
	for _, imp := range strings.Fields(strings.Trim(goList(t, "{{.Imports}}", false), "[] \n")) {
		if !slices.Contains(allowedImports, imp) {
			t.Errorf("plan imports %s: keep the planner pure and small (see deps_test.go)", imp)
		}
	}
	deps := "\n" + goList(t, "{{.ImportPath}}", true) + "\n"
	for _, bad := range forbiddenDeps {
		if strings.Contains(deps, bad) {
			t.Errorf("plan links %s for wasip1", strings.TrimSpace(bad))
		}
	}
}
