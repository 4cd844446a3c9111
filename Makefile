# mcpfleet: every Go target loops over the modules listed in go.work.
#
#   make run    the local fleet: builds every server once into $(BIN_DIR), then
#               runs mcpfleet up (each server its own process on loopback)
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
BIN_DIR ?= $(CURDIR)/.bin
PREFIX ?= $(HOME)/.local
INSTALL_DIR ?= $(PREFIX)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Servers with a Dockerfile (servers/<name>/Dockerfile); images are built
# from the repository root so the sibling modules are in the context.
# A server joins once its sources land (servers/<name>/cmd/mcp-<name>).
IMAGE_SERVERS := $(foreach s,$(patsubst servers/%/Dockerfile,%,$(wildcard servers/*/Dockerfile)),$(if $(wildcard servers/$(s)/cmd/mcp-$(s)/main.go),$(s)))
IMAGE_PREFIX ?= mcpfleet
CONTAINER := $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)
BENCH_RUNS ?= 5
BENCH_DURATION ?= 3s

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: bin
bin: ## build mcpfleet and every server once into BIN_DIR (static, CGO_ENABLED=0)
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/ ./cmd/mcpfleet
	$(BIN_DIR)/mcpfleet install --dir $(BIN_DIR) >/dev/null

.PHONY: run
run: bin ## the local fleet on loopback from RUN_ADDR (CRM with demo data); Ctrl-C or SIGTERM stops it
	@# exec: the shell becomes mcpfleet, so make's SIGTERM and the
	@# terminal's SIGINT reach it directly and it stops every server.
	exec $(BIN_DIR)/mcpfleet up --bin-dir $(BIN_DIR) --addr $(RUN_ADDR)

.PHONY: install
install: ## build mcpfleet and every server into INSTALL_DIR (default ~/.local/bin)
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(INSTALL_DIR)/ ./cmd/mcpfleet
	$(INSTALL_DIR)/mcpfleet install --dir $(INSTALL_DIR)

.PHONY: dockerfiles
dockerfiles: ## regenerate servers/<name>/Dockerfile from cmd/mcpfleet/dockerfile.tmpl and the server table
	cd cmd/mcpfleet && UPDATE_GOLDEN=true go test -run TestDockerfilesGenerated -count=1 .

.PHONY: images
images: ## build one container image per server with docker or podman (skipped where neither exists)
	@if [ -z "$(CONTAINER)" ]; then echo "make images: neither docker nor podman is installed; skipping"; exit 0; fi; \
	for s in $(IMAGE_SERVERS); do \
		echo "== image $(IMAGE_PREFIX)/mcp-$$s:$(VERSION)"; \
		$(CONTAINER) build -f servers/$$s/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE_PREFIX)/mcp-$$s:$(VERSION) . ; \
	done

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
