//! Tests of the security layer as a whole: published test vectors through the project's
//! wrappers, sealed and opened frames, end-to-end encryption, replay, trust and a property
//! test over single-bit modifications.

use alloc::vec::Vec;

use super::{Identity, KeyRing, NetworkKey, TrailerLayout, seal_in_place};
use crate::wire::{FrameHeader, Kind, encode_frame};
use crate::{Destination, NodeId, Priority};

mod e2e;
mod frames;
#[cfg(feature = "std")]
mod no_alloc;
mod props;
mod replay;
mod trust;
mod vectors;

/// Parses hex, ignoring whitespace.
pub(super) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits.chunks(2).map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).expect("hex digit")).collect()
}

/// Parses hex into an array of exactly `N` bytes.
pub(super) fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().expect("wrong length")
}

/// The mesh key every test node shares.
pub(super) fn network() -> NetworkKey {
    NetworkKey::new(&[0x42; 32])
}

/// A test node built from a one-byte seed.
pub(super) fn node(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32])
}

/// An unsealed frame (`header ‖ body`) of `kind` from `origin`.
pub(super) fn unsealed(kind: Kind, origin: NodeId, dst: Destination, seq: u32, body: &[u8]) -> Vec<u8> {
    let header = FrameHeader::new(kind, Priority::Normal, 16, origin, dst, seq);
    let mut out = Vec::with_capacity(body.len() + 28 + 112);
    encode_frame(&mut out, &header, &[body]);
    out
}

/// A sealed frame of `kind` from `id` with the layout its kind calls for.
pub(super) fn sealed(kind: Kind, id: &Identity, dst: Destination, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut f = unsealed(kind, id.node_id(), dst, seq, body);
    seal_in_place(&mut f, TrailerLayout::for_kind(kind), &network(), Some(id)).unwrap();
    f
}

/// A key ring that knows `ids`.
pub(super) fn ring_of(ids: &[&Identity]) -> KeyRing {
    let mut ring = KeyRing::new(16);
    for id in ids {
        ring.learn(id.public_key(), crate::Instant::ZERO);
    }
    ring
}

/// A valid 12-byte announcement body.
pub(super) const ANNOUNCEMENT_BODY: [u8; 12] = [0x00, 0x03, 0x55, 0x02, 0x00, 0x00, 0x0e, 0x10, 0x03, 0xe8, 0x00, 0x00];
