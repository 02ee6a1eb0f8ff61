#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer through cargo-bolero, on the stable toolchain.
#
#   fuzz/run-target.sh TARGET SECONDS [--asan]
#
# TARGET is a test of fuzz/tests/targets.rs (frame_decode_raw, frame_decode_typed,
# reassembly_interleavings, flood_mesh, routing_consistency, election_sequences,
# node_typed_inputs, session_sequences).
# The corpus grows in fuzz/corpus/TARGET/, crashes land in fuzz/crashes/TARGET/.
# Without --asan: no sanitizer (plain stable). With --asan: AddressSanitizer, which needs
# nightly flags, faked on stable with --rustc-bootstrap.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [--asan]" >&2
    exit 2
fi
target=$1
secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v cargo-bolero >/dev/null 2>&1; then
    cargo install cargo-bolero --locked
fi
sanitizer=(--sanitizer NONE)
if [ "${1:-}" = "--asan" ]; then
    sanitizer=(--sanitizer address --rustc-bootstrap)
fi
mkdir -p "$here/corpus/$target" "$here/crashes/$target"
exec cargo bolero test "$target" -p blemesh-fuzz "${sanitizer[@]}" -T "${secs}s" \
    --corpus-dir "$here/corpus/$target" --crashes-dir "$here/crashes/$target"
