#!/usr/bin/env bash
# Installs what building and testing Latchkey needs, skipping whatever is already
# there at the right version. Safe to re-run; a warm machine pays nothing.
#   scripts/install-tools.sh build           wasm target, cargo-leptos, wasm-bindgen CLI, wasm-opt
#   scripts/install-tools.sh test            the above, plus nextest, Chromium and the npm packages
#   scripts/install-tools.sh bench           the build tools, plus twiggy and the npm packages
#   scripts/install-tools.sh check-chromium  print the Chromium the browser tests use, or say
#                                            what to install (installs nothing)
# What only a system package manager can install (Chromium, PostgreSQL, npm, python3)
# is checked first, before anything is built: as root with apt, Chromium is installed;
# otherwise the script stops and says what to install and how. CHROMIUM=/path/to/chromium
# picks a browser (else chromium, chromium-browser, google-chrome on PATH); PG_BIN the
# PostgreSQL server's bin folder. Never `npx playwright install`: its download is blocked
# on these machines, and Debian's Chromium is what the tests are written against.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132
TOOLS_DIR=${LATCHKEY_TOOLS_DIR:-$HOME/.cache/latchkey-tools}
CHROMIUM_NAMES=(chromium chromium-browser google-chrome google-chrome-stable)

step() { printf '==> %s\n' "$*"; }
timed() { local t0=$SECONDS; "$@"; step "done in $((SECONDS - t0)) s"; }

install_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then return; fi
  step "installing the wasm32-unknown-unknown target"
  timed rustup target add wasm32-unknown-unknown
}

install_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then return; fi
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (its lock wants a newer rustc: pinning cargo-util-schemas 0.14.1)"
  local src
  src=$(mktemp -d)
  (
    cd "$src"
    # `cargo info` leaves the .crate in the registry cache.
    cargo info "cargo-leptos@$CARGO_LEPTOS_VERSION" >/dev/null 2>&1
    local crate
    crate=$(ls ~/.cargo/registry/cache/*/cargo-leptos-"$CARGO_LEPTOS_VERSION".crate 2>/dev/null | head -1)
    tar xzf "$crate"
    cd "cargo-leptos-$CARGO_LEPTOS_VERSION"
    cargo update -q -p cargo-util-schemas --precise 0.14.1
    CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      CARGO_TARGET_DIR="$src/target" timed cargo install -q --path . --locked
  )
  rm -rf "$src"
}

install_wasm_bindgen() {
  # Must equal the wasm-bindgen crate pinned in Cargo.toml / Cargo.lock.
  local version
  version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
  if wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then return; fi
  step "installing wasm-bindgen-cli $version"
  # Not --locked: its lock names a webpki-roots the registry here lacks.
  CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    timed cargo install -q --force wasm-bindgen-cli --version "$version"
}

install_wasm_opt() {
  if [ -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] &&
    "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version | grep -q "version $BINARYEN_VERSION"; then
    return
  fi
  step "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  timed npm install --silent --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION"
}

install_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then return; fi
  step "installing cargo-nextest"
  timed cargo install -q --locked cargo-nextest
}

install_twiggy() {
  if twiggy --version 2>/dev/null | grep -q "0.8.0"; then return; fi
  step "installing twiggy 0.8.0 (the WASM size profile of make bench)"
  timed cargo install -q --locked twiggy --version 0.8.0
}

# The OpenAPI validator and client generator of scripts/openapi.sh. openapi-ts
# needs TypeScript's compiler API, which TypeScript 7 (the Go port) lacks: 5.9.
OPENAPI_TOOLS=(@redocly/cli@2.77.0 @hey-api/openapi-ts@0.99.0 typescript@5.9.3)

install_openapi_tools() {
  local installed=yes spec
  for spec in "${OPENAPI_TOOLS[@]}"; do
    local name=${spec%@*} version=${spec##*@}
    grep -q "\"version\": \"$version\"" "$TOOLS_DIR/node_modules/$name/package.json" 2>/dev/null || installed=no
  done
  if [ "$installed" = yes ]; then return; fi
  step "installing the OpenAPI tools (${OPENAPI_TOOLS[*]}) into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  timed npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "${OPENAPI_TOOLS[@]}"
}

# The Chromium the browser tests drive: $CHROMIUM if set, else the first of
# CHROMIUM_NAMES on PATH. Prints its path; prints nothing and fails if none.
find_chromium() {
  if [ -n "${CHROMIUM:-}" ]; then
    [ -x "$CHROMIUM" ] && [ ! -d "$CHROMIUM" ] && printf '%s\n' "$CHROMIUM"
    return
  fi
  local name path
  for name in "${CHROMIUM_NAMES[@]}"; do
    if path=$(command -v "$name"); then
      printf '%s\n' "$path"
      return
    fi
  done
  return 1
}

is_root() { [ "$(id -u)" = 0 ]; }
can_apt() { is_root && command -v apt-get >/dev/null; }
# How to run a system install command: as is for root, else through sudo.
as_admin() { if is_root; then echo "$*"; else echo "sudo $*"; fi; }

# What is missing, one entry per line: what it is, then how to get it.
missing=()
need() { missing+=("$(printf '  - %s\n      %s' "$1" "$2")"); }
need_rust() {
  command -v cargo >/dev/null && command -v rustup >/dev/null ||
    need "Rust (cargo and rustup)" "install it as yourself from https://rustup.rs, then open a new shell"
}

# `check_chromium installable`: root with apt installs it later, so only a bad
# CHROMIUM counts as missing.
check_chromium() {
  if [ -n "${CHROMIUM:-}" ] && ! find_chromium >/dev/null; then
    need "Chromium: CHROMIUM=$CHROMIUM is not an executable file" \
      "point CHROMIUM at the browser's binary, or unset it to use the one on PATH"
  elif ! find_chromium >/dev/null && ! { [ "${1:-}" = installable ] && can_apt; }; then
    need "Chromium (the Playwright tests drive it; none of ${CHROMIUM_NAMES[*]} is on PATH)" \
      "install it: $(as_admin apt-get install chromium)   (Ubuntu: chromium-browser)
      or use one you have: CHROMIUM=/path/to/chromium make test"
  fi
}

check_test_prerequisites() {
  command -v npm >/dev/null && command -v node >/dev/null ||
    need "Node.js and npm (wasm-opt, Playwright, the npm packages)" "install them: $(as_admin apt-get install npm)"
  command -v python3 >/dev/null ||
    need "python3 (scripts/with-postgres.sh picks a free port with it)" "install it: $(as_admin apt-get install python3)"
  local pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  [ -x "$pg_bin/initdb" ] ||
    need "a PostgreSQL server (the Rust tests run on PostgreSQL too; scripts/with-postgres.sh starts a throwaway one as you, no root needed)" \
      "install it: $(as_admin apt-get install postgresql)
      or point at its programs: PG_BIN=/usr/lib/postgresql/VERSION/bin make test"
  check_chromium installable
}

# Stops with one message naming everything missing, before anything is built.
report_missing() {
  [ ${#missing[@]} = 0 ] && return
  {
    echo "install-tools: make $1 needs what only a system package manager installs:"
    printf '%s\n' "${missing[@]}"
    if ! is_root; then
      echo "(You are not root, so nothing was installed. Playwright's own browser download is not used.)"
    fi
  } >&2
  exit 1
}

install_chromium() {
  if find_chromium >/dev/null; then return; fi
  step "installing Chromium from apt"
  timed sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'
}

install_npm_packages() {
  local stamp=end2end/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt end2end/package-lock.json ]; then return; fi
  step "installing the end2end npm packages (npm ci)"
  (cd end2end && timed npm ci --silent --no-audit --no-fund)
}

mode=${1:-build}
case "$mode" in
  check-chromium)
    check_chromium
    report_missing test
    find_chromium
    exit
    ;;
  test)
    need_rust
    check_test_prerequisites
    report_missing test
    ;;
  build | bench)
    need_rust
    command -v npm >/dev/null || need "npm (wasm-opt comes from npm)" "install it: $(as_admin apt-get install npm)"
    report_missing "$mode"
    ;;
  *)
    echo "usage: scripts/install-tools.sh build|test|bench|check-chromium" >&2
    exit 2
    ;;
esac

install_wasm_target
install_wasm_bindgen
install_wasm_opt
install_cargo_leptos
case "$mode" in
  test)
    install_nextest
    install_chromium
    install_npm_packages
    install_openapi_tools
    ;;
  bench)
    install_twiggy
    install_npm_packages # Playwright, for the page bench (end2end/bench/pages.mjs)
    ;;
esac
