//! Routing: link-state topology, four priority policies, QoS paths with admission control.
//!
//! Pure, deterministic building blocks; the node feeds them and reads their answers:
//!
//! * [`lsdb`]: the link-state database of topology adverts (versions, ageing).
//! * [`graph`]: the routing graph of links confirmed by both ends, with dense indices.
pub mod graph;
pub mod lsdb;

pub use graph::{Graph, LinkMetrics};
pub use lsdb::{Advert, InsertOutcome, LinkAdvert, LinkStateDb};
