#!/usr/bin/env bash
# Installs what building and testing Latchkey needs, skipping whatever is already
# there at the right version. Safe to re-run; a warm machine pays nothing.
#   scripts/install-tools.sh build   wasm target, cargo-leptos, wasm-bindgen CLI, wasm-opt
#   scripts/install-tools.sh test    the above, plus nextest, Chromium and the end2end npm packages
#   scripts/install-tools.sh bench   the build tools, plus twiggy
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen crate pinned in Cargo.toml / Cargo.lock.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
BINARYEN_VERSION=132
TOOLS_DIR=${LATCHKEY_TOOLS_DIR:-$HOME/.cache/latchkey-tools}

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
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return; fi
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock names a webpki-roots the registry here lacks.
  CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    timed cargo install -q --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
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

install_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  step "installing Chromium from apt"
  timed sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'
}

install_npm_packages() {
  local stamp=end2end/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt end2end/package-lock.json ]; then return; fi
  step "installing the end2end npm packages (npm ci)"
  (cd end2end && timed npm ci --silent --no-audit --no-fund)
}

install_wasm_target
install_wasm_bindgen
install_wasm_opt
install_cargo_leptos
case "${1:-build}" in
  test)
    install_nextest
    install_chromium
    install_npm_packages
    install_openapi_tools
    ;;
  bench) install_twiggy ;;
esac
