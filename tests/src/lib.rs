//! The in-process mesh harness: real [`blemesh_core::Node`]s joined by in-memory links, in
//! virtual time, with seeded latency and loss. Tests drive it and inspect what each node
//! delivered and reported.
//!
//! Deterministic: the same seed and calls give the same run, byte for byte.

pub mod alloc;
pub mod harness;
pub mod secure;
pub mod topology;

pub use harness::{Harness, HarnessConfig, Received};
pub use topology::{Topology, random_connected};
