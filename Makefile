# mcpfleet: every Go target loops over the modules listed in go.work.
#
#   make run    the local fleet with embedded defaults (CRM with demo data)
#   make test   every test: unit and integration (race on), real clients,
#               the official conformance suite. Installs what it needs
#               (Node 22 + the suite into .tools/, npm client packages into
#               tests/clients/node_modules) on first use.
#
# With CI=true, tests that need PostgreSQL, Redis or Node fail instead of
# skipping when those are missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
TOOLS := $(CURDIR)/.tools
NODE_TOOLS := $(TOOLS)/node
CLIENT_DEPS := tests/clients/node_modules/.package-lock.json
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/bin/staticcheck-$(STATICCHECK_VERSION)
RUN_ADDR ?= 127.0.0.1:8080
BENCH_RUNS ?= 5
BENCH_DURATION ?= 3s

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: run
run: ## run the local fleet with embedded defaults: the CRM (demo data) over HTTP on RUN_ADDR
	go run ./cmd/mcpfleet run --addr $(RUN_ADDR)

.PHONY: build
build: ## compile every module
	@for m in $(MODULES); do (cd $$m && go build ./...); done

.PHONY: test
test: unit conformance ## run every test: unit/integration (race), real clients, conformance

.PHONY: unit
unit: client-deps ## go test -race over every module (includes the real-client tests)
	@for m in $(MODULES); do echo "== $${m#$(CURDIR)/}"; (cd $$m && go test -race -count=1 ./...); done

.PHONY: node-tools
node-tools: ## install Node 22 and the MCP conformance suite into .tools/node (pinned in tests/conformance/npm)
	@tests/scripts/install-node-tools.sh $(NODE_TOOLS)

.PHONY: client-deps
client-deps: $(CLIENT_DEPS) ## install the real-client test packages (npm ci in tests/clients)

$(CLIENT_DEPS): tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: conformance
conformance: node-tools ## official MCP conformance suite against the fixture, stateful and stateless
	cd tests && go run ./cmd/conformance -tools $(NODE_TOOLS)

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet and staticcheck over every module
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do echo "== lint $${m#$(CURDIR)/}"; (cd $$m && go vet ./... && $(STATICCHECK) ./...); done

$(STATICCHECK):
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/bin/staticcheck $@

.PHONY: tidy-check
tidy-check: ## fail if any go.mod/go.sum is not tidy
	@for m in $(MODULES); do (cd $$m && go mod tidy -diff >/dev/null) || { echo "not tidy: run (cd $${m#$(CURDIR)/} && go mod tidy)"; exit 1; }; done

.PHONY: bench
bench: ## Go benchmarks, then the load comparison (bare go-sdk, mcp-go, our core, the full chain; 2025-11-25 and 2026-07-28 stateless)
	@for m in $(MODULES); do echo "== bench $${m#$(CURDIR)/}"; (cd $$m && go test -run '^$$' -bench . ./...); done
	cd bench && go run ./cmd/fleetbench -modes bare,mcpgo,core,chain -revisions 2025-11-25,2026-07-28 -runs $(BENCH_RUNS) -duration $(BENCH_DURATION)
