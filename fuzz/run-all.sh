#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (see run-target.sh), one after the other.
#
#   fuzz/run-all.sh SECONDS [--asan]
set -euo pipefail
secs=${1:?usage: $0 SECONDS [--asan]}
shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
for t in frame_decode_raw frame_decode_typed reassembly_interleavings flood_mesh routing_consistency election_sequences node_typed_inputs session_sequences; do
    echo "=== $t (${secs}s)"
    "$here/run-target.sh" "$t" "$secs" "$@" || status=1
done
exit $status
