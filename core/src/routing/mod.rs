//! Routing: link-state topology, four priority policies, QoS paths with admission control.
//!
//! Pure, deterministic building blocks; the node feeds them and reads their answers:
//!
//! * [`lsdb`]: the link-state database of topology adverts (versions, ageing).
//! * [`graph`]: the routing graph of links confirmed by both ends, with dense indices.
//! * [`policy`]: how each priority prices a link.
//! * [`spf`]: Dijkstra with reusable buffers.
//! * [`table`]: per destination and priority, primary and disjoint backup routes.
//! * [`constrained`]: exact QoS-constrained path search.
//! * [`maxflow`]: Dinic maximum flow over bandwidth capacities.
//! * [`admission`]: bandwidth reservations, congestion levels, preemption.
//! * [`reservations`]: the per-hop soft-state reservation table with its policing buckets.
//! * [`backbone`](mod@backbone): degree-capped minimum spanning backbone (keep/drop links).
//! * [`predict`]: Holt forecasts of load and signal, failure risk, route ranking, handoff.
//! * [`router`]: database, graph and table kept in step; the node's entry point.
pub mod admission;
pub mod backbone;
pub mod constrained;
pub mod graph;
mod heap;
pub mod lsdb;
pub mod maxflow;
pub mod policy;
pub mod predict;
pub mod reservations;
pub mod router;
mod sorted_map;
pub mod spf;
pub mod table;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod qos_property_tests;

pub use admission::{Admission, CongestionLevel, Flow, FlowId, Preemption, Refusal, TopologyOutcome};
pub use backbone::{DEFAULT_MAX_DEGREE, LinkDecision, backbone, drops_for};
pub use constrained::{ConstrainedSearch, QosConstraints, QosError, QosPath};
pub use graph::{Graph, LinkMetrics};
pub use lsdb::{Advert, InsertOutcome, LinkAdvert, LinkStateDb};
pub use maxflow::MaxFlow;
pub use policy::{PathCost, Policy};
pub use predict::{Holt, LinkPredictor, LinkTrend, RouteOutlook};
pub use reservations::{HopReservation, ReservationTable};
pub use router::Router;
pub use spf::Spf;
pub use table::{Route, RouteEntry, RouteStats, RoutingTable};
