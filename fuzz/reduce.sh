#!/usr/bin/env bash
# Minimises the committed corpus of one fuzz target with libFuzzer's merge, through
# cargo-bolero, on the stable toolchain.
#
#   fuzz/reduce.sh TARGET
#
# `cargo bolero reduce` only works on bolero's default corpus location (`__fuzz__/` beside the
# test source), so the committed `fuzz/corpus/TARGET/` is moved there for the run and back
# afterwards (also when the run fails).
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 TARGET" >&2
    exit 2
fi
target=$1
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v cargo-bolero >/dev/null 2>&1; then
    cargo install cargo-bolero --locked
fi
work="$here/tests/__fuzz__/$target"
if [ -e "$work" ]; then
    echo "$work exists: a reduce is running or was interrupted; move its corpus back first" >&2
    exit 1
fi
mkdir -p "$work/crashes"
mv "$here/corpus/$target" "$work/corpus"
restore() {
    mv "$work/corpus" "$here/corpus/$target"
    rm -rf "$work"
    rmdir "$here/tests/__fuzz__" 2>/dev/null || true
}
trap restore EXIT
before=$(ls "$work/corpus" | wc -l)
cargo bolero reduce "$target" -p blemesh-fuzz --sanitizer NONE
echo "$target: $before -> $(ls "$work/corpus" | wc -l) corpus files"
