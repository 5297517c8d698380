#!/usr/bin/env bash
# Builds the release `latchkey` of an earlier commit (the bench's "before"),
# from a git worktree of this clone, into a target directory of its own (so
# it never replaces this build's binary); prints the binary's path. An empty
# revision prints nothing (no baseline).
set -euo pipefail
rev=${1:-}
[[ -z $rev ]] && exit 0
target=${CARGO_TARGET_DIR:?}/baseline
source_dir=$target/src-$rev
binary=$target/release/latchkey
stamp=$target/release/latchkey.rev
if [[ -x $binary && -f $stamp && $(cat "$stamp") == "$rev" ]]; then
    echo "$binary"
    exit 0
fi
echo "==> building the bench baseline $rev (release) in $target" >&2
# Start from this build's compiled dependencies (hard links: no space, and
# rustc replaces an output instead of writing into it); locks of its own.
if [[ ! -d $target/release && -d $CARGO_TARGET_DIR/release ]]; then
    mkdir -p "$target"
    cp -al "$CARGO_TARGET_DIR/release" "$target/release"
    find "$target/release" -name .cargo-lock -exec sh -c 'rm "$1" && touch "$1"' _ {} \;
fi
git rev-parse --verify --quiet "$rev^{commit}" >/dev/null ||
    { echo "error: $rev is not a commit of this clone (set BENCH_BASELINE, or BENCH_BASELINE= to skip)" >&2; exit 1; }
rm -rf "$source_dir"
git worktree prune
git worktree add --detach --force "$source_dir" "$rev" >&2
(cd "$source_dir" && CARGO_TARGET_DIR=$target cargo build --release -p server --bin latchkey >&2)
git worktree remove --force "$source_dir"
echo "$rev" >"$stamp"
echo "$binary"
