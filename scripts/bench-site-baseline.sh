#!/usr/bin/env bash
# Builds the release site of an earlier commit (the page bench's "before"):
# `cargo leptos build --release --precompress` in a copy of its files, into a
# target directory of its own (so it never replaces this build's binary or
# WASM), then keeps the binary and the site root in
# $CARGO_TARGET_DIR/baseline-site/REV/ (`latchkey`, `site/`). Prints that
# directory. An empty revision prints nothing (no baseline).
set -euo pipefail
rev=${1:-}
[[ -z $rev ]] && exit 0
base=${CARGO_TARGET_DIR:?}/baseline-site
out=$base/$rev
# What was built, as the stamp says it: a site not precompressed (an older
# build, or one made by hand) is built again, as the "before" would otherwise
# pay for sending its WASM uncompressed.
stamp=$out/stamp
built="$rev precompressed"
if [[ -x $out/latchkey && -d $out/site/pkg && -f $stamp && $(cat "$stamp") == "$built" ]]; then
    echo "$out"
    exit 0
fi
target=$base/target
source_dir=$base/src-$rev
echo "==> building the page bench's baseline site $rev (release) in $target" >&2
# Start from this build's compiled dependencies, server and WASM (hard links:
# no space, and rustc replaces an output instead of writing into it); locks
# of its own.
for dir in release front; do
    if [[ ! -d $target/$dir && -d $CARGO_TARGET_DIR/$dir ]]; then
        mkdir -p "$target"
        cp -al "$CARGO_TARGET_DIR/$dir" "$target/$dir"
        find "$target/$dir" -name .cargo-lock -exec sh -c 'rm "$1" && touch "$1"' _ {} \;
    fi
done
git rev-parse --verify --quiet "$rev^{commit}" >/dev/null ||
    { echo "error: $rev is not a commit of this clone (set BENCH_SITE_BASELINE, or BENCH_SITE_BASELINE= to skip)" >&2; exit 1; }
# The commit's files (git archive: no worktree to register or leave behind).
rm -rf "$source_dir"
mkdir -p "$source_dir"
git archive "$rev" | tar -x -C "$source_dir"
(cd "$source_dir" && CARGO_TARGET_DIR=$target cargo leptos build --release --precompress >&2)
rm -rf "$out"
mkdir -p "$out"
cp "$target/release/latchkey" "$out/latchkey"
cp -r "$source_dir/target/site" "$out/site"
rm -rf "$source_dir"
echo "$built" >"$stamp"
echo "$out"
