# genzai developer tasks. Generators and linters are pinned in tools/go.mod
# and run with `go tool -modfile=tools/go.mod ...`: nothing is installed globally.

GO       ?= go
TOOL     := $(GO) tool -modfile=tools/go.mod
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# Generated files, checked by check-generated.
GENERATED := api/api.gen.go adapters/postgres/internal/sqlcgen adapters/sqlite/internal/sqlcgen

# Use the local PostgreSQL and Redis for tests when they answer and the
# caller did not choose servers.
ifeq ($(origin TEST_DATABASE_URL), undefined)
ifneq ($(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo up),)
export TEST_DATABASE_URL := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
endif
endif

ifeq ($(origin TEST_REDIS_URL), undefined)
ifneq ($(shell redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null),)
export TEST_REDIS_URL := redis://127.0.0.1:6379/0
endif
endif

.PHONY: run build install generate check-generated vet lint test smoke docs-ui bench microbench tidy

## run: start the server (SQLite in ./data unless DATABASE_URL is set; see README)
run:
	$(GO) run ./cmd/genzai serve

# build and install compile with Go's default settings, like `go run` and
# `go install` in the README, so that each reuses what the others compiled
# (a cold build is minutes): CGO_ENABLED=0 or -trimpath would change every
# package's cache key and compile all of them again. -ldflags changes only
# the link. The static, path-free release binary is the Dockerfile's.

## build: build bin/genzai with the version stamped in
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/genzai ./cmd/genzai

## install: install genzai into $(go env GOPATH)/bin (or GOBIN), version stamped
install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/genzai

## generate: regenerate the API code (oapi-codegen) and the queries (sqlc)
generate:
	$(GO) generate ./...

## check-generated: fail when committed generated code (and the web app's
## build, see check-web) differs from its sources
check-generated: generate check-web
	@git diff --exit-code -- $(GENERATED) || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo "untracked generated files: commit them"; exit 1; }
	$(TOOL) sqlc vet -f sqlc.yaml

## vet: go vet
vet:
	$(GO) vet -tags e2e ./...

## lint: go vet, staticcheck and the spec checks of lint-spec
lint: vet lint-spec
	$(TOOL) staticcheck -tags e2e ./...

# The Node side of lint-spec: versions pinned in its package.json and
# package-lock.json, installed with `npm ci` when the lock file changes.
NODE_DIR := clients/typescript

.PHONY: lint-spec
## lint-spec: lint api/openapi.yaml (Redocly, rules in redocly.yaml), generate
## a TypeScript client from it (openapi-typescript) and type-check a use of it
lint-spec: $(NODE_DIR)/node_modules/.package-lock.json
	cd $(NODE_DIR) && npm run --silent check

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund

# The web app (web/): Preact built by Vite into web/dist, which is committed
# and embedded in the binary (package web), so that `go run` serves it with
# no Node installed. Dependencies pinned by web/package-lock.json, installed
# with `npm ci` when the lock file changes.
WEB_DIR := web
# JavaScript plus CSS, gzipped, at most 150 KB (KiB) in all.
WEB_MAX_GZIP_BYTES := 153600

.PHONY: web check-web
## web: build the web app into web/dist (type check against the spec first)
web: $(WEB_DIR)/node_modules/.package-lock.json
	cd $(WEB_DIR) && npm run --silent build

## check-web: type-check the web app against api/openapi.yaml, rebuild it
## and fail when web/dist differs from the committed build or its JS+CSS
## pass 150 KB gzipped
check-web: web
	@git diff --exit-code --stat -- $(WEB_DIR)/dist || { echo "web/dist is stale: run 'make web' and commit it"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- $(WEB_DIR)/dist)" || { git status --porcelain --untracked-files=all -- $(WEB_DIR)/dist; echo "untracked files in web/dist: run 'make web' and commit them"; exit 1; }
	@total=0; for f in $(WEB_DIR)/dist/assets/*.js $(WEB_DIR)/dist/assets/*.css; do \
		total=$$((total + $$(gzip -9 -c "$$f" | wc -c))); \
	done; \
	if [ $$total -gt $(WEB_MAX_GZIP_BYTES) ]; then \
		echo "web app too big: JS+CSS is $$total bytes gzipped, at most $(WEB_MAX_GZIP_BYTES)"; exit 1; \
	fi; \
	echo "web app: JS+CSS $$total bytes gzipped (at most $(WEB_MAX_GZIP_BYTES))"

$(WEB_DIR)/node_modules/.package-lock.json: $(WEB_DIR)/package-lock.json $(WEB_DIR)/package.json
	cd $(WEB_DIR) && npm ci --no-audit --no-fund

# Packages whose tests use PostgreSQL or Redis: they run apart, at most
# TEST_DB_P test binaries with TEST_DB_PARALLEL tests each at once, whatever
# the number of cores, so that their connections (at most pgtest.MaxConns a
# test; 25 at the peak, sampled) stay well below a server's default
# max_connections of 100. The other packages run as before, first.
TEST_DB_P        ?= 2
TEST_DB_PARALLEL ?= 2
# The app package (component and browser tests, with the race detector on
# two cores) takes more than go test's default 10 minutes.
TEST_TIMEOUT     ?= 30m
TEST_DB_PKGS = $(shell grep -rlE --include='*_test.go' 'pgtest\.|redistest\.|^package (pgtest|redistest)$$|Getenv\("TEST_(DATABASE|REDIS)_URL"\)' . | xargs -n1 dirname | sort -u)

## test: every test, with the race detector. Database tests use
## TEST_DATABASE_URL (default: the local PostgreSQL when it answers), else
## testcontainers when Docker is available, and are skipped otherwise
## (scripts/test-services.sh says which, before the run).
test:
	@scripts/test-services.sh
	@status=0; \
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -tags e2e $$($(GO) list -tags e2e ./... | grep -vxF "$$($(GO) list -tags e2e $(TEST_DB_PKGS))") || status=1; \
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -tags e2e -p $(TEST_DB_P) -parallel $(TEST_DB_PARALLEL) $(TEST_DB_PKGS) || status=1; \
	exit $$status

## smoke: run the README's quick start word for word from a fresh clone
## (builds and starts the server on localhost:8000, runs the curl flow)
smoke:
	GENZAI_SMOKE=1 $(GO) test -count=1 -run '^TestQuickStart$$' -v ./internal/smoke/

## docs-ui: refresh the vendored Swagger UI from its pinned npm version
docs-ui:
	adapters/httpapi/docsui/vendor.sh

## microbench: run the Go micro-benchmarks
microbench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench: run the benchmark harness (cmd/genzai-bench; see bench/README.md):
## the gateway on PostgreSQL against a mock upstream, every scenario directly
## and through the gateway, results in bench/results/. PostgreSQL from
## BENCH_DATABASE_URL (default: the local server); flags in BENCH_ARGS, e.g.
## make bench BENCH_ARGS=--quick
bench:
	$(GO) run ./cmd/genzai-bench $(BENCH_ARGS)

.PHONY: fuzz
FUZZTIME ?= 8s
## fuzz: run every fuzz target (func Fuzz...) in turn for FUZZTIME each
## (default 8s), stopping at the first failure; see scripts/fuzz.sh
fuzz:
	GO="$(GO)" FUZZTIME="$(FUZZTIME)" scripts/fuzz.sh

tidy:
	$(GO) mod tidy
	cd tools && $(GO) mod tidy
