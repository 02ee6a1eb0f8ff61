//! Partition handling: connected components, partition/heal tracking and bridge search.
//!
//! * [`UnionFind`] — disjoint sets over dense indices (path compression, union by rank).
//! * [`Components`] — connected components of the active-link graph, deterministic order.
//! * [`PartitionTracker`] — turns successive snapshots into [`PartitionEvent`]s.
//! * [`bridge_candidates`] — which overheard nodes to connect to so that partitions heal.
//!
//! Everything here is pure: no clock, no I/O, no hashing-order dependence.

mod bridge;
mod components;
mod tracker;
mod union_find;

pub use bridge::{BridgePolicy, Connect, ConnectReason, bridge_candidates};
pub use components::Components;
pub use tracker::{DEFAULT_MAX_REMEMBERED, PartitionEvent, PartitionTracker};
pub use union_find::UnionFind;

#[cfg(all(test, feature = "std"))]
mod oracle_tests;
