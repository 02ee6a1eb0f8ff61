//! QoS flows driven by the node: admission control, sending on a reserved path, release.
//!
//! **Who keeps the reservations.** The *source* of a flow keeps the ledger
//! ([`Admission`]): it finds a constrained path in its own topology view, bounds the request by
//! the max-flow between itself and the destination over residual capacities, and reserves
//! the bandwidth on every link of the path in its ledger. Nothing is sent on the wire to
//! reserve. Limitation: two sources do not see each other's reservations, so capacity can be
//! over-committed by concurrent flows of different sources (each source's own flows never
//! over-commit its view); the measured congestion of the relays (queue occupancy, carried in
//! the adverts' congestion field and priced by the policies) is what protects them.
//!
//! **Which path the data takes.** Frames of a flow leave on the reserved path's first hop
//! at the flow's priority; later hops forward by their own routes for that priority. The
//! reserved path and the relays' routes coincide when the constrained path is also the
//! policy's best path (always for paths of at most two links); otherwise the frames take the
//! relays' routes while the ledger holds the reserved path.
//!
//! **Adaptive QoS.** The node's congestion level is the higher of its transmit-queue
//! occupancy and the reserved share of its own links in the ledger (thresholds of
//! [`CongestionLevel::of`]). Link-ARQ occupancy is not counted: a burst of one window fills
//! it at once, and it already reaches routing as the adverts' per-link congestion. New flows are
//! admitted by [`crate::flow::admits`]; at critical, every non-critical flow is preempted
//! ([`Event::FlowPreempted`]). The ledger itself preempts non-critical flows when a critical
//! flow or a capacity drop makes a node of a path critical.
//!
//! **Release.** [`Node::close_flow`] (no event), idle timeout
//! ([`crate::Config::flow_idle_timeout`] without a send), or loss of a link of the path in the
//! topology or of the first hop's link ([`Event::FlowClosed`]).

use alloc::vec::Vec;

use crate::flow::{AdmissionError, FlowEnd, FlowId, Preempted, QosViolation, admits};
use crate::routing::{Admission, CongestionLevel, ConstrainedSearch, Flow, Preemption, QosConstraints, QosError};
use crate::wire::Kind;
use crate::{Error, Event, Instant, MessageId, NodeId, Priority};

use super::Node;
use super::delivery::Attempt;

/// The flows this node opened: the ledger, the search buffers, the next id.
#[derive(Debug, Default)]
pub(super) struct Flows {
    ledger: Admission,
    search: ConstrainedSearch,
    next_id: FlowId,
}

impl Node {
    /// Opens a QoS flow to `to` with constraints `c` (see `flows.rs` for how the reservation
    /// is kept and which path the data takes). Refusals name their reason.
    pub fn open_flow(&mut self, now: Instant, to: NodeId, c: QosConstraints) -> Result<FlowId, AdmissionError> {
        self.advance(now).map_err(AdmissionError::Api)?;
        let me = self.config.node_id;
        if !to.is_unicast() || to == me {
            return Err(AdmissionError::Api(Error::InvalidDestination(to)));
        }
        if c.min_bandwidth_kbps == 0 {
            return Err(AdmissionError::ZeroBandwidth);
        }
        let max = self.config.max_flows;
        if self.flows.ledger.flows().count() >= max {
            return Err(AdmissionError::TooManyFlows { max });
        }
        self.refresh_routes();
        let level = self.congestion_level();
        if !admits(level, c.priority) {
            return Err(AdmissionError::Congested { node: me, level });
        }
        let graph = self.router.graph();
        if graph.index_of(me).is_none() || graph.index_of(to).is_none() {
            return Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Unreachable });
        }
        let requested = u64::from(c.min_bandwidth_kbps);
        let max_flow = self.flows.ledger.max_flow(graph, me, to);
        if max_flow < requested {
            return Err(AdmissionError::InsufficientCapacity { max_flow, requested });
        }
        let available = self.flows.ledger.available(graph);
        let path = match self.flows.search.find(graph, me, to, &c, Some(&available)) {
            Ok(p) => p,
            Err(QosError::WorkLimit) => return Err(AdmissionError::SearchLimit),
            Err(QosError::Infeasible) => {
                let violated = diagnose(&mut self.flows.search, graph, me, to, &c, &available);
                return Err(AdmissionError::NoFeasiblePath { violated });
            }
            Err(QosError::UnknownNode | QosError::SameNode) => {
                return Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Unreachable });
            }
        };
        let mut id = self.flows.next_id.wrapping_add(1).max(1);
        while self.flows.ledger.flow(id).is_some() {
            id = id.wrapping_add(1).max(1);
        }
        let timeout = self.config.flow_idle_timeout;
        let preempted = self
            .flows
            .ledger
            .reserve(graph, id, c.priority, requested, &path.nodes, now, timeout)
            .map_err(|r| refusal(r, requested))?;
        self.flows.next_id = id;
        self.tell_preempted(&preempted);
        Ok(id)
    }

    /// Sends `payload` on flow `flow`: to its destination at the flow's priority, through
    /// the reserved path's first hop. Each send keeps the flow from idling out. If the first
    /// hop's link is gone the flow is released ([`Event::FlowClosed`]) and
    /// [`Error::UnknownFlow`] returned.
    pub fn send_on_flow(&mut self, now: Instant, flow: FlowId, payload: &[u8]) -> Result<MessageId, Error> {
        self.advance(now)?;
        let f = self.flows.ledger.flow(flow).ok_or(Error::UnknownFlow(flow))?;
        let (hop, to, priority) = (f.path[1], f.path[f.path.len() - 1], f.priority);
        let max = self.config.max_payload().saturating_sub(self.security_overhead());
        if payload.len() > max {
            return Err(Error::PayloadTooLarge { len: payload.len(), max });
        }
        if !self.can_encrypt_to(to) {
            return Err(Error::UnknownPeerKey(to));
        }
        let Some(link) = self.links.index_of_peer(hop) else {
            self.end_flow(flow, FlowEnd::LinkLost { from: self.config.node_id, to: hop });
            return Err(Error::UnknownFlow(flow));
        };
        let seq = self.take_seq().ok_or(Error::SequenceExhausted)?;
        let ttl = self.config.default_ttl;
        let id = self
            .send_unicast(seq, Kind::GameData, to, priority, ttl, &[payload], 0, Attempt::Via(link))
            .ok_or(Error::QueueFull(crate::Queue::Transmit))?;
        self.flows.ledger.refresh(flow, now);
        Ok(id)
    }

    /// Closes flow `flow` and releases its reservation.
    pub fn close_flow(&mut self, now: Instant, flow: FlowId) -> Result<(), Error> {
        self.advance(now)?;
        if self.flows.ledger.release(flow) { Ok(()) } else { Err(Error::UnknownFlow(flow)) }
    }

    /// The open flow `flow`: path, priority, reserved bandwidth, expiry.
    pub fn flow(&self, flow: FlowId) -> Option<&Flow> {
        self.flows.ledger.flow(flow)
    }

    /// Every open flow, by ascending id.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> + '_ {
        self.flows.ledger.flows()
    }

    /// The reservation ledger of this node's flows (reserved bandwidth per link, max-flow).
    pub fn flow_ledger(&self) -> &Admission {
        &self.flows.ledger
    }

    /// This node's congestion level: the higher of its transmit-queue occupancy and the
    /// reserved share of its links (see `flows.rs`).
    pub fn congestion_level(&self) -> CongestionLevel {
        let queue = CongestionLevel::of(self.outbox.tx.len() as u64, self.config.transmit_queue as u64);
        let ledger = self.flows.ledger.congestion(self.router.graph(), self.config.node_id);
        queue.max(ledger)
    }

    /// Timer work: idle flows expire; at critical congestion non-critical flows are preempted.
    pub(super) fn flows_tick(&mut self, now: Instant) {
        if self.flows.ledger.flows().next().is_none() {
            return;
        }
        for flow in self.flows.ledger.expire(now) {
            let event = Event::FlowClosed { flow, reason: FlowEnd::IdleTimeout };
            self.outbox.push_event(event, &mut self.metrics);
        }
        let level = self.congestion_level();
        if level == CongestionLevel::Critical {
            let victims: Vec<(FlowId, Priority)> = self
                .flows
                .ledger
                .flows()
                .filter(|f| f.priority != Priority::Critical)
                .map(|f| (f.id, f.priority))
                .collect();
            let node = self.config.node_id;
            for (flow, priority) in victims {
                self.flows.ledger.release(flow);
                let by = Preempted { priority, node, level };
                self.outbox.push_event(Event::FlowPreempted { flow, by }, &mut self.metrics);
            }
        }
    }

    /// The topology changed: flows over a vanished link are released, then those the
    /// shrunken capacity no longer carries are preempted.
    pub(super) fn flows_on_topology(&mut self) {
        if self.flows.ledger.flows().next().is_none() {
            return;
        }
        let graph = self.router.graph();
        let lost: Vec<(FlowId, NodeId, NodeId)> = self
            .flows
            .ledger
            .flows()
            .filter_map(|f| {
                let w = f.path.windows(2).find(|w| graph.edge_between(w[0], w[1]).is_none())?;
                Some((f.id, w[0], w[1]))
            })
            .collect();
        for (flow, from, to) in lost {
            self.end_flow(flow, FlowEnd::LinkLost { from, to });
        }
        let outcome = self.flows.ledger.on_topology(self.router.graph());
        self.tell_preempted(&outcome.preempted);
    }

    /// When the next flow idles out.
    pub(super) fn next_flow_expiry(&self) -> Option<Instant> {
        self.flows.ledger.flows().map(|f| f.expires_at).min()
    }

    fn end_flow(&mut self, flow: FlowId, reason: FlowEnd) {
        if self.flows.ledger.release(flow) {
            self.outbox.push_event(Event::FlowClosed { flow, reason }, &mut self.metrics);
        }
    }

    fn tell_preempted(&mut self, preempted: &[Preemption]) {
        for p in preempted {
            let by = Preempted { priority: p.priority, node: p.node, level: CongestionLevel::Critical };
            self.outbox.push_event(Event::FlowPreempted { flow: p.flow, by }, &mut self.metrics);
        }
    }
}

/// Which constraint makes the search infeasible: each is tried alone with the bandwidth.
fn diagnose(
    search: &mut ConstrainedSearch,
    graph: &crate::routing::Graph,
    me: NodeId,
    to: NodeId,
    c: &QosConstraints,
    available: &[u32],
) -> QosViolation {
    let bandwidth_only = QosConstraints { min_bandwidth_kbps: c.min_bandwidth_kbps, ..QosConstraints::new(Priority::Normal) };
    let Ok(fastest) = search.find(graph, me, to, &bandwidth_only, Some(available)) else {
        return QosViolation::Bandwidth;
    };
    if c.max_latency_ms.is_some_and(|max| fastest.latency_ms > u64::from(max)) {
        return QosViolation::Latency { best_ms: fastest.latency_ms };
    }
    if let Some(required) = c.required_reliability() {
        let reliable = QosConstraints { priority: Priority::Critical, ..bandwidth_only };
        if let Ok(best) = search.find(graph, me, to, &reliable, Some(available)) {
            if best.unreliability > crate::routing::graph::unreliability_micros(required) {
                return QosViolation::Reliability { best: best.reliability };
            }
        }
    }
    QosViolation::Combination
}

/// A ledger refusal as the application sees it.
fn refusal(r: crate::routing::Refusal, requested: u64) -> AdmissionError {
    use crate::routing::Refusal;
    match r {
        Refusal::ExceedsMaxFlow { max_flow } => AdmissionError::InsufficientCapacity { max_flow, requested },
        Refusal::Congested { node } => AdmissionError::Congested { node, level: CongestionLevel::Critical },
        Refusal::ZeroBandwidth => AdmissionError::ZeroBandwidth,
        // The path came from a search over the same graph and residuals: these mean the
        // view changed under it, i.e. no feasible path now.
        Refusal::DuplicateFlow | Refusal::InvalidPath | Refusal::LinkDown { .. } | Refusal::InsufficientBandwidth { .. } => {
            AdmissionError::NoFeasiblePath { violated: QosViolation::Bandwidth }
        }
    }
}
