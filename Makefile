# skiff: Kubernetes in one binary. `make help` lists the targets.

GO      ?= go
BIN     := bin/skiff
VERSION ?= v0.1.0-dev
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/skiff/skiff/internal/cli.skiffVersion=$(VERSION) \
           -X github.com/skiff/skiff/internal/cli.gitCommit=$(COMMIT)

.PHONY: help build run test unit e2e bench lint generate verify deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps: ## install the Debian packages skiff needs (as root)
	./hack/install-deps.sh

build: ## build bin/skiff
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/skiff

run: deps build ## install what is missing, build, and start a single-node cluster
	./$(BIN) server

test: deps ## the whole suite: lint, unit and end-to-end tests (what CI runs)
	./hack/test.sh

unit: ## unit tests only
	$(GO) test ./internal/...

e2e: build ## end-to-end tests against the real binary and kubectl
	$(GO) test -count=1 -timeout 30m ./test/e2e/...

bench: build ## benchmarks (results go in docs/benchmarks.md by hand)
	$(GO) run ./bench/apiserver -skiff $(BIN)

lint: ## gofmt, go vet, staticcheck
	./hack/lint.sh

generate: ## regenerate the OpenAPI definitions and the pause binary
	./hack/update-openapi.sh
	./hack/update-pause.sh

verify: generate ## check generated files are current
	git diff --exit-code -- internal/openapi

clean:
	rm -rf bin
