# Santokit build entry points. The README and .ci/run call these targets; moon
# (packages/*/moon.yml) mirrors build and test per package. Nothing here needs
# moon or Node: Go (see go.mod) and, for the tests, the PostgreSQL server
# binaries (initdb, pg_ctl) are enough.

GO ?= go

# Programs built into bin/.
CMDS := ./packages/hub/cmd/stk-hub ./packages/bridge/cmd/stk-bridge ./packages/cli/cmd/stk

# staticcheck, pinned, installed once into bin/tools/ (named by its version and
# the Go version that built it, so bumping either reinstalls it). `go run
# pkg@version` would look the module up on the proxy at every run; an installed
# binary runs offline. The install tries the local module cache as a proxy first,
# so reinstalling after `make clean` also works offline once it was downloaded.
STATICCHECK_VERSION := v0.8.2
TOOLS_BIN := $(CURDIR)/bin/tools
STATICCHECK := $(TOOLS_BIN)/staticcheck-$(STATICCHECK_VERSION)-$(shell $(GO) env GOVERSION)

# Go files that gofmt checks: everything but testdata, node_modules and moon's cache.
GOFILES = $(shell find . -name '*.go' \
	-not -path './node_modules/*' -not -path './.moon/*' -not -path './.git/*' \
	-not -path '*/testdata/*')

TEST_TIMEOUT ?= 20m

.PHONY: all build test test-ts test-worker todo-web openapi lint vet fmtcheck staticcheck wasmcheck tools bench fmt clean dev release release-host

all: build

## build: compile stk-hub and stk into bin/
build:
	$(GO) build -o bin/ $(CMDS)

## test: the whole suite: go vet, lint (gofmt, staticcheck), then every Go test.
## Tests that need PostgreSQL start a throwaway cluster unless
## STK_TEST_DATABASE_URL is set.
test: lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) test-ts
	$(MAKE) test-worker

## test-worker: the Workers runtime (packages/worker, SPEC §16) built with
## npm, then the conformance cases and its bundle tests against it in workerd
## with a real Hub and PostgreSQL; prints `worker: N passed, M failed`
test-worker:
	@test -x node_modules/.bin/workerd || npm ci --no-audit --no-fund
	npm run typecheck --workspace packages/worker
	npm test --workspace packages/worker
	npm run build --workspace packages/worker
	@log="$$(mktemp)"; status=0; \
	$(GO) test -tags worker -count=1 -v -timeout $(TEST_TIMEOUT) -run '^TestWorker' ./tests/conformance/ >"$$log" 2>&1 || status=$$?; \
	if [ $$status -ne 0 ]; then grep -v -E '^\s*(=== RUN|--- PASS)' "$$log" | tail -300; fi; \
	grep -E '^(--- |ok|FAIL|panic)|passed, [0-9]+ failed' "$$log"; rm -f "$$log"; exit $$status

## test-ts: the TypeScript SDK (packages/client): build, type tests, unit and
## pack tests, then its integration and browser tests against live stk dev
## stacks (tests/sdk, behind the sdk build tag: they need Node, `npm ci` and
## Debian's chromium; .ci/run provides all three).
test-ts: $(STATICCHECK)
	npm run build -w @santokit/client
	npm run typecheck -w @santokit/client
	npm test -w @santokit/client
	$(GO) vet -tags sdk ./tests/sdk/
	$(STATICCHECK) -tags sdk ./tests/sdk/
	$(GO) test -count=1 -tags sdk -timeout 10m ./tests/sdk/

## todo-web: build the SDK's browser bundle into examples/todo-web/web/santokit.js
## (then: stk dev examples/todo-web --web examples/todo-web/web)
todo-web:
	npm run build -w @santokit/client
	cp packages/client/dist/santokit.browser.js examples/todo-web/web/santokit.js

## openapi: rewrite the Hub's and the Bridge's OpenAPI documents
## (packages/hub/internal/api/openapi.json, packages/bridge/server/openapi.json)
## from their route tables; a test fails while a checked-in one is stale
openapi:
	STK_UPDATE_OPENAPI=1 $(GO) test -count=1 -run '^TestOpenAPIDocument$$' ./packages/hub/internal/api/ ./packages/bridge/server/

## lint: go vet, gofmt -l (must list nothing), staticcheck, and the planner's
## WebAssembly build (the edge adapter runs the same planner, ARCHITECTURE §1)
lint: vet fmtcheck staticcheck wasmcheck

wasmcheck:
	GOOS=wasip1 GOARCH=wasm $(GO) build -o /dev/null ./packages/core/plan/

vet:
	$(GO) vet ./...

fmtcheck:
	@echo "gofmt -l"
	@out="$$(gofmt -l $(GOFILES))"; \
	if [ -n "$$out" ]; then \
		echo "gofmt: these files need formatting (run 'make fmt'):"; echo "$$out"; exit 1; \
	fi

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) GOPROXY="file://$$($(GO) env GOMODCACHE)/cache/download,$$($(GO) env GOPROXY)" \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS_BIN)/staticcheck $@

## tools: install the pinned lint tools (CI does this up front)
tools: $(STATICCHECK)
	$(STATICCHECK) -version

## bench: Go benchmarks (no unit tests), then the /call load test against
## pgbench on a 1,000,000-row table (tools/callbench; BENCH_DURATION per point),
## with a point for the Workers runtime in workerd (built here),
## then the soak: mixed reads and writes through real stk-hub and stk-bridge
## processes for SOAK_DURATION, failing on >10% RSS or goroutine growth, any
## non-2xx or a lost insert (tools/callbench/soak.go)
BENCH_DURATION ?= 10s
SOAK_DURATION ?= 5m
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@test -x node_modules/.bin/workerd || npm ci --no-audit --no-fund
	npm run build --workspace packages/worker
	$(GO) run ./tools/callbench -duration $(BENCH_DURATION)
	$(GO) run ./tools/callbench -soak $(SOAK_DURATION)

## docs: regenerate the CLI reference docs/cli/*.md from stk's command tree
## (a test fails while the checked-in pages differ from it)
.PHONY: docs
docs:
	$(GO) run ./packages/cli/tools/clidocs -out docs/cli

## fmt: rewrite Go files in gofmt style
fmt:
	gofmt -w $(GOFILES)

## release: the release into dist/ (tools/release, decision 0036): stk,
## stk-hub, stk-bridge for linux/darwin/windows x amd64/arm64, reproducible,
## archived with LICENSE and README; OCI images of stk-hub and stk-bridge;
## the CycloneDX SBOM; the @santokit/client npm tarball; SHA256SUMS.
## make release VERSION=v1.2.3 (packages/client/package.json must say 1.2.3)
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=vX.Y.Z"; exit 2; }
	$(GO) run ./tools/release -version $(VERSION) -out dist

## release-host: the same for this machine's platform only, without npm
## (the dry run that the test suite also does: go test ./tools/release/)
release-host:
	$(GO) run ./tools/release -version $(or $(VERSION),v0.0.0-dev) -platforms host -npm=false -out dist

## clean: remove build and coverage output (leaves .santokit/ alone: it holds local Hub data)
clean:
	rm -rf bin/ dist/ coverage/ coverage.out coverage.txt coverage.html
	find . -name '*.coverprofile' -not -path './node_modules/*' -not -path './.git/*' -delete

## dev: stk dev — a Hub and a Bridge in one process on embedded defaults
## (.santokit/: SQLite store, generated master key and bridge token, an
## example SQLite database); prints an API key and a curl that returns rows.
dev: build
	./bin/stk dev
