# BattleScope. On a fresh machine: `make run` starts everything, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
# CI points CARGO_TARGET_DIR at a cache that outlives clean clones.
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),$(CURDIR)/target))
WASM_DIR := $(TARGET_DIR)/wasm32-wasip2/release
LISTEN ?= 127.0.0.1:3000
COMPONENTS := ingestion-api ingestion-worker enrichment-api enrichment-worker battle-api battle-worker notification-worker notification-api search-indexer search-api bff web
# Crates every component shares (docs/architecture.md).
SHARED := contracts eve-static guest
# Pure libraries of bounded contexts with more than one component.
LIBRARIES := ingestion enrichment battle notification search
TEST_COMPONENTS := probe kafka-probe http-bench
# Native commands beside the host.
TOOLS := search-reindex
# Ruleset-filter plugins build for wasm32-unknown-unknown: they import nothing.
PLUGINS := min-value-filter capital-ships-filter plugin-template
TEST_PLUGINS := hostile-plugin
# The same capital-ships example in Python and JavaScript (scripts/language-plugins.sh).
LANGUAGE_PLUGINS_DIR := $(TARGET_DIR)/language-plugins
LANGUAGE_PLUGINS := $(LANGUAGE_PLUGINS_DIR)/capital_ships_python.wasm $(LANGUAGE_PLUGINS_DIR)/capital_ships_js.wasm
PLUGIN_WIT := $(wildcard wit/ruleset-filter/*.wit)

export BATTLESCOPE_BIN := $(TARGET_DIR)/debug/battlescope
export BATTLESCOPE_WASM_DIR := $(WASM_DIR)

# The dev stack's ports (scripts/stack.sh reads the same variables); the host, the
# components and the tests follow them.
export BATTLESCOPE_PG_PORT ?= 5432
export BATTLESCOPE_REDIS_PORT ?= 6379
export BATTLESCOPE_KAFKA_PORT ?= 9092
export BATTLESCOPE_TYPESENSE_PORT ?= 8108
export BATTLESCOPE_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(BATTLESCOPE_PG_PORT)/postgres
export BATTLESCOPE_REDIS_URL ?= redis://127.0.0.1:$(BATTLESCOPE_REDIS_PORT)
export BATTLESCOPE_KAFKA_BROKERS ?= 127.0.0.1:$(BATTLESCOPE_KAFKA_PORT)
export BATTLESCOPE_TYPESENSE_URL ?= http://127.0.0.1:$(BATTLESCOPE_TYPESENSE_PORT)
export BATTLESCOPE_TYPESENSE_API_KEY ?= battlescope-dev
# Service databases are declared in spin.toml and made on the server of BATTLESCOPE_DATABASE_URL.
export SPIN_VARIABLE_KAFKA_BROKERS ?= $(BATTLESCOPE_KAFKA_BROKERS)
export SPIN_VARIABLE_REDIS_ADDRESS ?= $(BATTLESCOPE_REDIS_URL)
export SPIN_VARIABLE_TYPESENSE_URL ?= $(BATTLESCOPE_TYPESENSE_URL)
export SPIN_VARIABLE_TYPESENSE_API_KEY ?= $(BATTLESCOPE_TYPESENSE_API_KEY)
REPLAY_PORT ?= 8090
# The recorded day `make run REPLAY=1` replays (data/killmails/): 2021-11-28, -29 or -30.
REPLAY_DAY ?= 2021-11-30

.PHONY: run replay-server test gates bench chaos stack stack-down components language-plugins host host-release migrate reindex check fmt clippy coverage web-ui browser-deps deploy

# The web UI's sources (npm packages from the lockfile, bundled by esbuild); the web
# component embeds what `web-ui` makes in $(WEB_UI)/dist.
WEB_UI := components/web/ui
WEB_UI_SOURCES := $(wildcard $(WEB_UI)/src/* $(WEB_UI)/static/*) $(WEB_UI)/build.mjs
# The browser tests' driver (playwright-core, launching Debian's chromium).
BROWSER_TESTS := tests/browser

## Start the dev stack, build, migrate and serve spin.toml on $(LISTEN). Ingestion polls the
## live R2Z2 feed; `make run REPLAY=1` feeds it the recorded day from a local replay server.
run: stack components host-release $(if $(REPLAY),replay-server)
	@set -e; \
	export SPIN_VARIABLE_API_TOKEN="$${SPIN_VARIABLE_API_TOKEN:-$$(scripts/stack.sh token)}"; \
	if [ -n "$(REPLAY)" ]; then \
	  $(TARGET_DIR)/release/replay-server --port $(REPLAY_PORT) --file data/killmails/killmails-$(REPLAY_DAY).jsonl.gz & \
	  trap "kill $$! 2>/dev/null" EXIT; \
	  for v in R2Z2 REDISQ ESI; do export SPIN_VARIABLE_$${v}_ORIGIN=http://127.0.0.1:$(REPLAY_PORT); done; \
	  export SPIN_VARIABLE_R2Z2_START_SEQUENCE=1 SPIN_VARIABLE_FEED_REQUESTS_PER_SECOND=0; \
	fi; \
	echo "BattleScope: http://$(LISTEN)  (health: curl http://$(LISTEN)/api/ingestion/health)"; \
	echo "API token (write endpoints, battlescope backfill): $$SPIN_VARIABLE_API_TOKEN"; \
	$(TARGET_DIR)/release/battlescope up --from spin.toml --runtime-config-file runtime-config.toml --listen $(LISTEN) --log-format text

replay-server:
	$(CARGO) build --release -p battlescope-tests --bin replay-server

## Everything CI runs: the quality gates, unit tests (host and components, natively) and
## integration tests.
test: stack gates components language-plugins host browser-deps
	$(CARGO) test --no-fail-fast -p battlescope-host $(addprefix -p ,$(SHARED) $(LIBRARIES) $(COMPONENTS) $(PLUGINS) $(TOOLS)) -p battlescope-tests -- --test-threads=4

## Formatting and lints, warnings as errors, over every crate (components for their target too).
gates: web-ui
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -p battlescope-host -p battlescope-tests $(addprefix -p ,$(SHARED) $(LIBRARIES) $(COMPONENTS) $(PLUGINS) $(TOOLS)) -- -D warnings
	$(CARGO) clippy --release --target wasm32-wasip2 $(addprefix -p ,$(COMPONENTS) $(TEST_COMPONENTS)) -- -D warnings

## Benchmarks, printed as ratios against a baseline measured in the same run.
bench: stack components host-release browser-deps
	$(CARGO) run --release -p battlescope-tests --bin bench-http -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-kafka -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-ingestion -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-enrichment -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-battles
	$(CARGO) run --release -p battlescope-tests --bin bench-battle-component -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-battle-growth -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-pipeline -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-websocket -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-search -- --host $(TARGET_DIR)/release/battlescope
	$(CARGO) run --release -p battlescope-tests --bin bench-web -- --host $(TARGET_DIR)/release/battlescope

## The chaos verifier at full size (tests/tests/chaos.rs; `make test` runs it bounded): the
## whole recorded day while every dependency breaks mid-stream. CHAOS_SEED=<n> replays a run.
CHAOS_KILLMAILS ?= 0
CHAOS_FEED_RATE ?= 150
chaos: stack components host
	BATTLESCOPE_CHAOS_KILLMAILS=$(CHAOS_KILLMAILS) BATTLESCOPE_CHAOS_FEED_RATE=$(CHAOS_FEED_RATE) \
	  $(if $(CHAOS_SEED),BATTLESCOPE_CHAOS_SEED=$(CHAOS_SEED)) \
	  $(CARGO) test -p battlescope-tests --test chaos -- --nocapture

stack:
	@scripts/stack.sh up

## Deployment files generated from spin.toml (deploy/README.md); a test checks they are current.
deploy: host components
	$(BATTLESCOPE_BIN) deploy spin --from spin.toml --out deploy/spin/spin.toml
	$(BATTLESCOPE_BIN) deploy k8s --from spin.toml --out-dir deploy/k8s

stack-down:
	@scripts/stack.sh down

## spin.toml names components by their path under ./target; with CARGO_TARGET_DIR elsewhere
## the built files are copied there, so `make run` and the tests find them either way.
components: web-ui
	$(CARGO) build --release --target wasm32-wasip2 $(addprefix -p ,$(COMPONENTS) $(TEST_COMPONENTS) $(TEST_PLUGINS))
	$(CARGO) build --release --target wasm32-unknown-unknown $(addprefix -p ,$(PLUGINS) $(TEST_PLUGINS))
	@if [ "$(TARGET_DIR)" != "$(CURDIR)/target" ]; then \
	  for t in wasm32-wasip2 wasm32-unknown-unknown; do \
	    mkdir -p target/$$t/release && cp -p $(TARGET_DIR)/$$t/release/*.wasm target/$$t/release/; \
	  done; \
	fi

## Build the Python and JavaScript example plugins (their toolchains are installed on first use).
language-plugins: $(LANGUAGE_PLUGINS)

$(LANGUAGE_PLUGINS_DIR)/capital_ships_python.wasm: components/plugins/capital-ships-python/app.py $(PLUGIN_WIT) scripts/language-plugins.sh
	scripts/language-plugins.sh python $@

$(LANGUAGE_PLUGINS_DIR)/capital_ships_js.wasm: $(addprefix components/plugins/capital-ships-js/,capital-ships.js build.mjs package-lock.json) $(PLUGIN_WIT) scripts/language-plugins.sh
	scripts/language-plugins.sh javascript $@

## Bundle the pages; only when a source or the lockfile changed (the web component rebuilds
## whenever dist/ is written).
web-ui: $(WEB_UI)/dist/app.js

$(WEB_UI)/node_modules/.package-lock.json: $(WEB_UI)/package-lock.json
	cd $(WEB_UI) && npm ci --no-audit --no-fund --loglevel=error

$(WEB_UI)/dist/app.js: $(WEB_UI)/node_modules/.package-lock.json $(WEB_UI_SOURCES)
	cd $(WEB_UI) && npm run --silent build

browser-deps: $(BROWSER_TESTS)/node_modules/.package-lock.json

$(BROWSER_TESTS)/node_modules/.package-lock.json: $(BROWSER_TESTS)/package-lock.json
	cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund --loglevel=error

host:
	$(CARGO) build -p battlescope-host $(addprefix -p ,$(TOOLS))

host-release:
	$(CARGO) build --release -p battlescope-host $(addprefix -p ,$(TOOLS))

migrate: host
	$(BATTLESCOPE_BIN) migrate --from spin.toml

## Rebuild the search collections from the event topics and swap them in (docs/search.md).
reindex: stack host
	$(TARGET_DIR)/debug/search-reindex $(REINDEX_ARGS)

check: components host
	$(BATTLESCOPE_BIN) check --from spin.toml

fmt:
	$(CARGO) fmt --all

clippy: gates

## Line coverage of the host, the shared crates and the components' native code, measured over
## their unit tests and the end-to-end tests (cargo-llvm-cov; installed on first use).
coverage: stack components
	scripts/coverage.sh
