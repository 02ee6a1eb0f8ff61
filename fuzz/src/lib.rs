//! Fuzz targets of blemesh-core. Each module holds one target: an input type (typed, built by
//! bolero's generators, or raw bytes) and a `check` function that drives the code under test
//! and asserts invariants, not only the absence of panics.
//!
//! `tests/targets.rs` wires every module into a `#[test]`: `cargo test -p blemesh-fuzz` runs
//! each as a property test (random inputs) after replaying the committed corpus and crash
//! files of `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/`; cargo-bolero runs the same
//! tests under libFuzzer (`fuzz/run-target.sh`). See `docs/FUZZING.md`.

pub mod corpus;
pub mod election;
pub mod flood;
pub mod frame;
pub mod node;
pub mod reassembly;
pub mod routing;
pub mod session;

use blemesh_core::wire::{FrameHeader, Kind, encode_frame};
use blemesh_core::{Destination, NodeId, Priority};

/// A frame of the current version (`wire::VERSION`) without trailer.
pub fn frame(kind: Kind, origin: u64, dst: Destination, seq: u32, ttl: u8, body: &[&[u8]]) -> Vec<u8> {
    let h = FrameHeader::new(kind, Priority::Normal, ttl, NodeId(origin), dst, seq);
    let mut out = Vec::new();
    encode_frame(&mut out, &h, body);
    out
}

/// `frame` as a whole-frame link PDU (control byte 0).
pub fn whole_pdu(frame: &[u8]) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(frame.len() + 1);
    pdu.push(0);
    pdu.extend_from_slice(frame);
    pdu
}
