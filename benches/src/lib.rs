//! Benchmarks of blemesh-core, each beside the peer crate doing the same job in the same run,
//! and the per-node memory measurement.
//!
//! One module per area, each with one `pub fn benchmarks(c: &mut Criterion)`; the single
//! criterion harness `benches/blemesh.rs` calls them all. Inputs are seeded: two runs measure
//! the same work. See `docs/PERFORMANCE.md` for the commands and the figures.
#![allow(clippy::print_stdout)]

pub mod dupcheck;
pub mod forwarding;
pub mod memory;
pub mod routing;
pub mod security;
pub mod wire;

use blemesh_core::wire::{FrameHeader, Kind, encode_frame};
use blemesh_core::{Destination, NodeId, Priority};

/// A version-1 frame of `kind` from `origin` with `body`, without trailer.
pub fn frame(kind: Kind, origin: u64, dst: Destination, seq: u32, ttl: u8, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader::new(kind, Priority::Normal, ttl, NodeId(origin), dst, seq);
    let mut out = Vec::new();
    encode_frame(&mut out, &h, &[body]);
    out
}
