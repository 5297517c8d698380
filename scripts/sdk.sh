#!/usr/bin/env bash
# Builds every drop-in npm package under sdk/ (each one's `npm run build` writes
# its dist/), packs each into sdk/packs/ with `npm pack`, and prints the size of
# every file a browser or Node loads from dist/, raw and gzip -9.
#   scripts/sdk.sh          install dev dependencies if stale, build, pack, print sizes
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p sdk/packs
for manifest in sdk/*/package.json; do
  dir=$(dirname "$manifest")
  stamp=$dir/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "==> $dir: npm ci"
    (cd "$dir" && npm ci --silent --no-audit --no-fund)
  fi
  echo "==> $dir: build"
  (cd "$dir" && rm -rf dist && npm run --silent build)
  (cd "$dir" && npm pack --silent --pack-destination ../packs >/dev/null)
done

printf '%-40s %10s %10s\n' "file" "raw (B)" "gzip (B)"
for file in sdk/*/dist/*.js sdk/*/dist/*.cjs sdk/*/dist/*.mjs; do
  [ -f "$file" ] || continue
  printf '%-40s %10d %10d\n' "$file" "$(wc -c <"$file")" "$(gzip -9c "$file" | wc -c)"
done
echo "==> tarballs in sdk/packs/: $(cd sdk/packs && ls | tr '\n' ' ')"
