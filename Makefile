# sluice: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/sluice
# Plugins are WASI reactors built by the Go toolchain itself.
WASM_GO := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath
EXAMPLE := sdk/go/example/json-field-mask.wasm
WAT_EXAMPLE := sdk/wat/customer-id-mask.wasm
# Plugins written in C, Rust and AssemblyScript are committed, like the WAT
# example: `make fixtures` rebuilds them from source with the toolchains
# .ci/run installs, and CI fails when a committed module is stale.
C_EXAMPLE := sdk/c/example/customer-id-mask.wasm
RUST_EXAMPLE := sdk/rust/example/customer-id-mask.wasm
AS_EXAMPLE := sdk/assemblyscript/example/customer-id-mask.wasm
HTTP_GUARD := plugins/http-guard/http-guard.wasm
FIXTURES := $(patsubst %.wat,%.wasm,$(wildcard gateway/pluginhost/testdata/*.wat))
FUZZTIME ?= 20s

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/sluice (wazero engine; add TAGS=wasmtime for the second engine)
	$(GO) build -trimpath $(if $(TAGS),-tags $(TAGS)) -o $(BIN) ./gateway/cmd/sluice

.PHONY: plugins
plugins: $(EXAMPLE) $(WAT_EXAMPLE) ## build every plugin and SDK example
	@# Bundled Go plugins: plugins/NAME/ with main.go and manifest.json.
	@for d in plugins/*/; do n=$$(basename "$$d"); \
	  [ -f "$$d/manifest.json" ] && [ -f "$$d/main.go" ] || continue; \
	  echo "plugin $$d$$n.wasm"; \
	  $(WASM_GO) -o "$$d$$n.wasm" "./$$d" && $(BIN) plugin manifest set "$$d$$n.wasm" "$$d/manifest.json" || exit 1; \
	done

$(EXAMPLE): build $(shell find sdk/go abi -name '*.go' -o -name manifest.json)
	$(WASM_GO) -o $@ ./sdk/go/example
	$(BIN) plugin manifest set $@ sdk/go/example/manifest.json

# The WAT example is committed (like the test fixtures), so a machine with
# only Go builds and runs everything; with wabt it is rebuilt from source,
# and CI checks the committed module is not stale.
$(WAT_EXAMPLE): sdk/wat/customer-id-mask.wat sdk/wat/manifest.json
	@if command -v wat2wasm >/dev/null; then \
	  $(MAKE) --no-print-directory build && \
	  wat2wasm sdk/wat/customer-id-mask.wat -o $@ && $(BIN) plugin manifest set $@ sdk/wat/manifest.json; \
	else echo "wat2wasm not found (apt-get install wabt): using the committed $@"; touch $@; fi

.PHONY: fixtures
fixtures: build ## rebuild every committed .wasm from source (needs wabt, clang+wasi-libc, Debian rustc, npm)
	@for f in gateway/pluginhost/testdata/*.wat; do wat2wasm "$$f" -o "$${f%.wat}.wasm" || exit 1; done
	wat2wasm sdk/wat/customer-id-mask.wat -o $(WAT_EXAMPLE) && $(BIN) plugin manifest set $(WAT_EXAMPLE) sdk/wat/manifest.json
	SLUICE=$(CURDIR)/$(BIN) sdk/c/build.sh
	SLUICE=$(CURDIR)/$(BIN) sdk/rust/build.sh sdk/rust/example $(RUST_EXAMPLE)
	SLUICE=$(CURDIR)/$(BIN) sdk/rust/build.sh plugins/http-guard $(HTTP_GUARD)
	cd sdk/assemblyscript && npm ci --no-audit --no-fund --silent && SLUICE=$(CURDIR)/$(BIN) npm run --silent build
	@# Proposal features need flags: each file names its wat2wasm command.
	@cd gateway/pluginhost/testdata/meter_features && for f in *.wat; do \
	  cmd=$$(sed -n 's/^;; *\(wat2wasm .*\)$$/\1/p' "$$f" | head -1); \
	  [ -n "$$cmd" ] || { echo "$$f: no wat2wasm command line"; exit 1; }; \
	  eval "$$cmd" || exit 1; done

.PHONY: plugin-test
plugin-test: plugins ## `sluice plugin test` on every bundled plugin and SDK example, as a plugin author runs it
	@set -o pipefail; for w in plugins/*/*.wasm $(EXAMPLE) $(WAT_EXAMPLE) $(C_EXAMPLE) $(RUST_EXAMPLE) $(AS_EXAMPLE); do \
	  v=$$(dirname $$w)/vectors; [ -d $$v ] || continue; \
	  printf '%-52s ' "$$w"; $(BIN) plugin test $$w --vectors $$v | tail -1 || exit 1; \
	done

.PHONY: sdk-test
sdk-test: build ## the C, Rust and AssemblyScript SDKs' own tests (needs their toolchains, like fixtures)
	SLUICE=$(CURDIR)/$(BIN) sdk/c/test/run.sh
	/usr/bin/rustc --edition 2021 --test -C debuginfo=0 sdk/rust/src/lib.rs -o bin/sluice-rust-sdk-test && bin/sluice-rust-sdk-test
	cd sdk/assemblyscript && npm ci --no-audit --no-fund --silent && SLUICE=$(CURDIR)/$(BIN) npm test

.PHONY: run
run: build plugins ## run the gateway on its embedded defaults: the demo (see the README quick start)
	$(BIN) serve

.PHONY: test
test: plugins plugin-test ## run every test, on both engines
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -tags wasmtime ./gateway/pluginhost/... ./gateway/policy/... ./conformance/...

.PHONY: check
check: ## gofmt, go vet (both engines), go mod tidy with a diff gate
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags wasmtime ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/go/... ./abi/... ./plugins/...
	$(GO) mod tidy
	@git diff --exit-code -- go.mod go.sum || (echo "go mod tidy changed go.mod/go.sum: commit the result"; exit 1)

.PHONY: bench
bench: plugins ## run the benchmarks on both engines in one process (bench/run.sh; COUNT=5)
	bench/run.sh

.PHONY: bench-http
bench-http: build plugins ## HTTP end to end: direct, nginx, sluice, sluice + pii-mask (bench/http.sh; needs nginx)
	bench/http.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin $(EXAMPLE)
