//! QoS flows as the application sees them: why a flow was refused, why it ended, the local
//! congestion level, and the link-management advice of the backbone.
//!
//! A flow is opened with [`crate::Node::open_flow`] (pending until every node of its path
//! holds the reservation: [`crate::Event::FlowAdmitted`], or [`crate::Event::FlowRefused`]
//! naming the refusing node and a [`ReservationRefusal`]), used with
//! [`crate::Node::send_on_flow`] and ended with [`crate::Node::close_flow`]; the node ends it
//! by itself on idle timeout, on the loss of a link of its path, or by preemption under
//! critical congestion, and says so with [`crate::Event::FlowClosed`] or
//! [`crate::Event::FlowPreempted`].

use crate::routing::CongestionLevel;
use crate::{Error, NodeId, Priority};

pub use crate::routing::FlowId;

/// The constraint that no path of the node's view satisfies (with the others relaxed, each
/// alone is checked in this order: bandwidth, latency, reliability).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum QosViolation {
    /// The destination is not in this node's routing graph (no route at all).
    Unreachable,
    /// No single path has the bandwidth free on every link (the max-flow bound may be met
    /// by several paths together, but a flow takes one).
    Bandwidth,
    /// The fastest path with enough bandwidth takes `best_ms`.
    Latency {
        /// Latency of the fastest path that has the bandwidth, milliseconds.
        best_ms: u64,
    },
    /// The most reliable path with enough bandwidth delivers with probability `best`.
    Reliability {
        /// Delivery probability of the most reliable path that has the bandwidth.
        best: f64,
    },
    /// Each constraint alone can be met, but no path meets them together.
    Combination,
}

/// Why [`crate::Node::open_flow`] refused a flow.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum AdmissionError {
    /// API misuse (time going backwards, invalid destination).
    Api(Error),
    /// The request asks for no bandwidth; a reservation needs some.
    ZeroBandwidth,
    /// `max_flows` flows are already open.
    TooManyFlows {
        /// The cap ([`crate::Config::max_flows`]).
        max: usize,
    },
    /// The node is congested at `level`, which admits no new flow of this priority
    /// (medium refuses background, high admits only critical and high, critical only
    /// critical).
    Congested {
        /// The congested node (this node, or a node of the path for a reservation that
        /// would make it critical).
        node: NodeId,
        /// Its level.
        level: CongestionLevel,
    },
    /// The max-flow between this node and the destination, over residual capacities, is
    /// below the requested bandwidth: no routing could carry it.
    InsufficientCapacity {
        /// The max-flow bound, kbit/s.
        max_flow: u64,
        /// The request, kbit/s.
        requested: u64,
    },
    /// No path satisfies the constraints.
    NoFeasiblePath {
        /// Which constraint fails.
        violated: QosViolation,
    },
    /// The constrained search hit its work cap before an answer.
    SearchLimit,
    /// This node's own reservation table refused the first link of the path (other flows
    /// through this node hold its bandwidth, or the table is full).
    Refused {
        /// Why.
        reason: ReservationRefusal,
    },
}

/// Why a flow ended without the application closing it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum FlowEnd {
    /// Nothing was sent on it for [`crate::Config::flow_idle_timeout`].
    IdleTimeout,
    /// The link `from — to` of its path disappeared from the topology.
    LinkLost {
        /// One end of the lost link (the end nearer the source).
        from: NodeId,
        /// The other end.
        to: NodeId,
    },
}

/// Why a node of the path refused a flow's reservation ([`crate::Event::FlowRefused`]).
/// The wire code (`RoutingUpdate` `reason` of a `Refuse`) is [`ReservationRefusal::code`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ReservationRefusal {
    /// The refusing node's link to the next hop lacks the bandwidth (its capacity minus the
    /// reservations it already holds on that link).
    InsufficientBandwidth,
    /// The refusing node's reservation table is full ([`crate::Config::max_reservations`]).
    TableFull,
    /// The refusing node has no confirmed link to the next node of the path.
    NoLink,
    /// The refusing node is congested at a level that admits no new flow of this priority.
    Congested,
    /// The destination found the path's summed link latency above the flow's bound.
    Latency,
    /// No answer came back within [`crate::Config::reservation_setup_timeout`] (reported by
    /// the source itself, never sent).
    Timeout,
}

impl ReservationRefusal {
    /// The wire code, `1 ..= 6`.
    pub const fn code(self) -> u8 {
        match self {
            ReservationRefusal::InsufficientBandwidth => 1,
            ReservationRefusal::TableFull => 2,
            ReservationRefusal::NoLink => 3,
            ReservationRefusal::Congested => 4,
            ReservationRefusal::Latency => 5,
            ReservationRefusal::Timeout => 6,
        }
    }

    /// Parses a wire code.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => ReservationRefusal::InsufficientBandwidth,
            2 => ReservationRefusal::TableFull,
            3 => ReservationRefusal::NoLink,
            4 => ReservationRefusal::Congested,
            5 => ReservationRefusal::Latency,
            6 => ReservationRefusal::Timeout,
            _ => return None,
        })
    }
}

/// Where a flow's reservation stands ([`crate::Node::flow_state`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum FlowState {
    /// `Reserve` sent along the path; waiting for `Confirm` or `Refuse`.
    Pending,
    /// Every node of the path holds the reservation ([`crate::Event::FlowAdmitted`]).
    Admitted,
}

/// Why a flow was preempted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Preempted {
    /// Priority of the preempted flow (never critical).
    pub priority: Priority,
    /// The node found critically congested.
    pub node: NodeId,
    /// Its level (always [`CongestionLevel::Critical`] today).
    pub level: CongestionLevel,
}

/// Link-management advice of the degree-capped backbone ([`crate::Config::max_connections`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum LinkAdvice {
    /// Disconnect from the peer: the link is not in the backbone and this node holds more
    /// than `max_connections` links. The mesh stays connected through the backbone.
    Drop,
    /// An earlier [`LinkAdvice::Drop`] is withdrawn: keep (or reconnect) the link.
    Keep,
}

/// Whether a new flow of `priority` is admitted at congestion `level` (adaptive QoS).
pub fn admits(level: CongestionLevel, priority: Priority) -> bool {
    match level {
        CongestionLevel::Low => true,
        CongestionLevel::Medium => priority != Priority::Background,
        CongestionLevel::High => priority <= Priority::High,
        CongestionLevel::Critical => priority == Priority::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_narrows_as_congestion_rises() {
        let admitted = |l| Priority::ALL.iter().filter(|p| admits(l, **p)).count();
        assert_eq!(admitted(CongestionLevel::Low), 4);
        assert_eq!(admitted(CongestionLevel::Medium), 3);
        assert_eq!(admitted(CongestionLevel::High), 2);
        assert_eq!(admitted(CongestionLevel::Critical), 1);
        assert!(admits(CongestionLevel::Critical, Priority::Critical));
        assert!(!admits(CongestionLevel::High, Priority::Normal));
        assert!(!admits(CongestionLevel::Medium, Priority::Background));
    }
}
