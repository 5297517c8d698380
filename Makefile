# Latchkey. `make run` serves it on http://localhost:3000; `make test` is what CI runs.
# Every target installs what it needs first, and skips what is already installed.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# One target directory outside the clone, so a fresh clone (and CI) reuses
# compiled dependencies. Override to build elsewhere.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/latchkey/target
export LATCHKEY_TOOLS_DIR ?= $(HOME)/.cache/latchkey-tools
export PATH := $(HOME)/.cargo/bin:$(LATCHKEY_TOOLS_DIR)/node_modules/.bin:$(PATH)

DATABASE_URL ?= sqlite://latchkey.db
E2E_PORT ?= 3100
RUST_PACKAGES := --workspace --exclude frontend

BENCH ?= quick
BENCH_ARGS_quick := --duration 10 --register-duration 5
BENCH_ARGS_full := --duration 60 --register-duration 20

.PHONY: help run dev test tools test-tools test-newcomer lint test-rust better-auth-fixture test-sqlite test-postgres test-e2e sdk dist bench bench-pages profile fuzz soak

help: ## List the targets (from each one's comment) and the variables that matter
	@grep -E '^[a-z][a-z0-9_-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "Variables: CHROMIUM=/path/to/chromium (the browser tests), PG_BIN=/usr/lib/postgresql/N/bin,"
	@echo "  DATABASE_URL (make run), CARGO_TARGET_DIR (default ~/.cache/latchkey/target), BENCH=full"

run: tools ## Build in release and serve site + API on http://localhost:3000 (SQLite file latchkey.db)
	cargo leptos build --release --precompress --split
	DATABASE_URL=$(DATABASE_URL) "$(CARGO_TARGET_DIR)/release/latchkey" serve --site-root target/site

dev: tools ## Rebuild and restart on every change (cargo leptos watch)
	cargo leptos watch --split

test: test-newcomer test-tools lint test-rust test-e2e ## Everything CI checks: format, clippy, Rust tests on SQLite and PostgreSQL, Playwright

tools: ## Install the build tools that are missing (wasm target, cargo-leptos, wasm-bindgen, wasm-opt)
	scripts/install-tools.sh build

test-tools: ## Install the build and test tools that are missing (also Chromium as root with apt; else says what to install)
	scripts/install-tools.sh test

test-newcomer: ## A newcomer's make test in seconds: as an unprivileged user without Chromium, the install script says what to install; make help lists every target
	scripts/test-newcomer.sh

lint: ## cargo fmt --check and clippy -D warnings, for the server and the WASM
	cargo fmt --all --check
	cargo clippy $(RUST_PACKAGES) --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

test-rust: better-auth-fixture test-sqlite test-postgres ## Every Rust test, on SQLite and on PostgreSQL

better-auth-fixture: ## The better-auth server the import test starts (npm ci in server/tests/better-auth; builds better-sqlite3)
	@test -f server/tests/better-auth/node_modules/better-sqlite3/build/Release/better_sqlite3.node || \
		(cd server/tests/better-auth && npm ci --no-audit --no-fund)

test-sqlite: ## Every Rust test on SQLite
	@echo "==> Rust tests on SQLite"
	LATCHKEY_TEST_DATABASE=sqlite cargo nextest run $(RUST_PACKAGES)

test-postgres: ## Every Rust test on a throwaway PostgreSQL cluster
	@echo "==> Rust tests on PostgreSQL"
	LATCHKEY_TEST_DATABASE=postgres scripts/with-postgres.sh cargo nextest run $(RUST_PACKAGES)

test-e2e: sdk ## Build the site and the npm packages, lint the OpenAPI document and generate a client from it, run the Playwright suite (browser and Node specs)
	cargo leptos build --split
	cargo build -p softkey --bin softkey
	scripts/openapi.sh "$(CARGO_TARGET_DIR)/debug/latchkey"
	chromium=$$(scripts/install-tools.sh check-chromium); \
	echo "==> Playwright in $$chromium ($$("$$chromium" --version 2>/dev/null))"; \
	cd end2end && CHROMIUM="$$chromium" LATCHKEY_BIN="$(CARGO_TARGET_DIR)/debug/latchkey" \
		LATCHKEY_SOFTKEY="$(CARGO_TARGET_DIR)/debug/softkey" \
		LATCHKEY_SITE_ROOT="$(CURDIR)/target/site" LATCHKEY_E2E_PORT=$(E2E_PORT) \
		npx playwright test

dist: tools ## One file to deploy: dist/latchkey-<version>-<target>.tar.gz (release binary with the site inside), then check it
	scripts/dist.sh

sdk: ## Build the drop-in npm packages (sdk/*/dist), pack them into sdk/packs, print their sizes
	scripts/sdk.sh

# The commit before the audit log: `make bench` measures the events' cost
# against a release build of it (BENCH_BASELINE= skips that).
BENCH_BASELINE ?= e469a2c

# The commit before islands: `make bench-pages` loads its release site as the
# "before" of the page weights and the time to a usable passkey button
# (BENCH_SITE_BASELINE= skips it).
BENCH_SITE_BASELINE ?= 3ee7be7
BENCH_PAGES_JSON := target/bench-pages.json
BENCH_WASM_SYMBOLS := $(CARGO_TARGET_DIR)/front/wasm32-unknown-unknown/wasm-release/frontend.wasm

bench: bench-pages ## Targets: server and load-generator CPU per sign-in, throughput, p99, 200k passkeys, statements per step, events' cost, pages -> BENCHMARKS.md (BENCH=full: longer runs)
	baseline=$$(scripts/bench-baseline.sh "$(BENCH_BASELINE)"); \
	scripts/with-postgres.sh "$(CARGO_TARGET_DIR)/release/latchkey-bench" \
		--latchkey "$(CARGO_TARGET_DIR)/release/latchkey" --pages $(BENCH_PAGES_JSON) \
		$${baseline:+--baseline-latchkey "$$baseline"} \
		--wasm-symbols "$(BENCH_WASM_SYMBOLS)" \
		--command "make bench BENCH=$(BENCH)" $(BENCH_ARGS_$(BENCH))

bench-pages: ## Per page, the JS / WASM / CSS Chromium loads (raw, brotli) and the time to a usable passkey button on slow 4G, after and before (BENCH_SITE_BASELINE) -> target/bench-pages.json, printed
	scripts/install-tools.sh bench
	cargo leptos build --release --precompress --split
	cargo build --release -p bench
	before=$$(scripts/bench-site-baseline.sh "$(BENCH_SITE_BASELINE)"); \
	chromium=$$(scripts/install-tools.sh check-chromium); \
	CHROMIUM="$$chromium" node end2end/bench/pages.mjs --out $(BENCH_PAGES_JSON) \
		--site after "$(CARGO_TARGET_DIR)/release/latchkey" "$(CURDIR)/target/site" \
		$${before:+--site before "$$before/latchkey" "$$before/site"}
	"$(CARGO_TARGET_DIR)/release/latchkey-bench" --pages-only --pages $(BENCH_PAGES_JSON) \
		--wasm-symbols "$(BENCH_WASM_SYMBOLS)"

PROFILE_ITERATIONS ?= 5000
PROFILE_DATA ?= $(CARGO_TARGET_DIR)/perf.data

profile: ## perf record of discoverable sign-ins in process on SQLite (PROFILE_ITERATIONS=5000), then the top of perf report
	CARGO_PROFILE_RELEASE_DEBUG=true cargo build --release -p bench
	perf record -g --call-graph dwarf,16384 -F 499 -o "$(PROFILE_DATA)" -- \
		"$(CARGO_TARGET_DIR)/release/latchkey-bench" --profile $(PROFILE_ITERATIONS)
	perf report -i "$(PROFILE_DATA)" --stdio --no-children --no-inline --percent-limit 1 2>/dev/null | grep -v '^$$' | head -80
	@echo "==> by crate"
	perf report -i "$(PROFILE_DATA)" --stdio --no-children --sort symbol -g none 2>/dev/null | scripts/perf-by-crate.py
	@echo "==> full report: perf report -i $(PROFILE_DATA); or: valgrind --tool=callgrind $(CARGO_TARGET_DIR)/release/latchkey-bench --profile 500"

fuzz: test-tools ## The fuzz tests at length (5,000 mutated ceremonies and bodies) on SQLite and PostgreSQL
	LATCHKEY_FUZZ_CASES=5000 LATCHKEY_TEST_DATABASE=sqlite cargo nextest run -p server --test api fuzz::
	LATCHKEY_FUZZ_CASES=5000 LATCHKEY_TEST_DATABASE=postgres scripts/with-postgres.sh cargo nextest run -p server --test api fuzz::

soak: test-tools ## The race tests at length (1,000 rounds), the crash and two-instance tests, on both engines
	LATCHKEY_RACE_ROUNDS=1000 LATCHKEY_TEST_DATABASE=sqlite cargo nextest run -p server --test api races:: finishes:: passkey_cap:: instances:: killed
	LATCHKEY_RACE_ROUNDS=1000 LATCHKEY_TEST_DATABASE=postgres scripts/with-postgres.sh cargo nextest run -p server --test api races:: finishes:: passkey_cap:: instances:: killed
