#!/usr/bin/env bash
# `make dist`: one file to deploy. Builds the site and the server in release,
# the server with the site inside it (LATCHKEY_EMBED_SITE; see server/build.rs),
# packs dist/latchkey-<version>-<target>.tar.gz (the binary, README, licenses,
# the deployment guide and deploy/: example configuration, systemd unit, proxies), prints its size, then checks it: the binary,
# unpacked alone into an empty folder and started from there, serves its pages,
# its WASM brotli-encoded and its API.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
target=$(rustc -vV | sed -n 's/^host: //p')
name="latchkey-$version-$target"
bin="${CARGO_TARGET_DIR:-target}/release/latchkey"

# cargo-leptos builds the server while it writes the site, so the server
# embeds a copy made once the site is complete (target/site-embedded), updated
# file by file (what did not change keeps its time, so nothing rebuilds for it);
# when the copy changed, a second build embeds it.
export LATCHKEY_EMBED_SITE="$PWD/target/site-embedded"
cargo leptos build --release --split
changed=0
mkdir -p "$LATCHKEY_EMBED_SITE"
while IFS= read -r -d '' file; do
  copy="$LATCHKEY_EMBED_SITE/${file#target/site/}"
  if ! cmp -s "$file" "$copy"; then
    mkdir -p "$(dirname "$copy")" && cp "$file" "$copy" && changed=1
  fi
done < <(find target/site -type f -print0)
while IFS= read -r -d '' copy; do
  if [ ! -f "target/site/${copy#"$LATCHKEY_EMBED_SITE"/}" ]; then rm "$copy" && changed=1; fi
done < <(find "$LATCHKEY_EMBED_SITE" -type f -print0)
if [ "$changed" = 1 ]; then cargo leptos build --release --split; fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin" README.md LICENSE LICENSE-MIT LICENSE-APACHE "$stage/$name/"
# The hashes in the site's file names (latchkey.<hash>.wasm), read beside the binary.
cp "$(dirname "$bin")/hash.txt" "$stage/$name/"
# Without its symbols: a third of the size (a profile is taken from a build of its own, `make profile`).
if command -v strip >/dev/null; then strip "$stage/$name/latchkey"; fi
# The example configuration, the systemd unit and the proxy configurations (docs/DEPLOYMENT.md).
cp -r deploy "$stage/$name/"
cp docs/DEPLOYMENT.md "$stage/$name/"
mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
echo "==> dist/$name.tar.gz: $(wc -c <"dist/$name.tar.gz") bytes ($(du -h "dist/$name.tar.gz" | cut -f1)); the binary in it: $(wc -c <"$stage/$name/latchkey") bytes"

echo "==> checking it: unpacked alone, started from an empty folder"
check=$(mktemp -d)
tar -C "$check" -xzf "dist/$name.tar.gz"
mkdir "$check/elsewhere"
port=$((20000 + RANDOM % 20000))
url="http://localhost:$port"
(cd "$check/elsewhere" && DATABASE_URL="sqlite://$check/elsewhere/smoke.db" \
  exec "../$name/latchkey" serve --listen "localhost:$port" --public-url "$url" >"$check/serve.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$stage" "$check"' EXIT
for _ in $(seq 50); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
fail() { echo "dist check failed: $*" >&2; cat "$check/serve.log" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/")" = 200 ] || fail "GET / is not 200"
script=$(curl -s "$url/" | grep -o '/pkg/latchkey\.[A-Za-z0-9_-]*\.js' | head -1)
[ -n "$script" ] || fail "the home page does not load the site's script by its hashed name"
for file in $(cd "$LATCHKEY_EMBED_SITE" && ls pkg/*.js pkg/*.wasm pkg/*.css) favicon.svg; do
  headers=$(curl -s -D - -o /dev/null -H 'accept-encoding: br, gzip' "$url/$file")
  echo "$headers" | grep -q '^HTTP/1.1 200' || fail "GET /$file: $headers"
  case "$file" in
    *.js | *.wasm | *.css | *.svg) echo "$headers" | grep -qi '^content-encoding: br' || fail "/$file is not brotli-encoded" ;;
  esac
  case "$file" in
    pkg/*) echo "$headers" | grep -qi '^cache-control: public, max-age=31536000, immutable' || fail "/$file is not cached as immutable" ;;
  esac
  echo "    /$file: 200, $(echo "$headers" | grep -i '^content-encoding' | tr -d '\r' || echo 'identity'), $(echo "$headers" | grep -i '^cache-control' | tr -d '\r')"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/openapi.json")" = 200 ] || fail "the API does not answer"
echo "==> dist check passed: $name serves the site from inside the binary"
