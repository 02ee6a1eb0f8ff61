//! QoS flows driven by the node: admission control, sending on a reserved path, release.
//!
//! **Planning at the source.** The *source* of a flow finds a constrained path in its own
//! topology view, bounds the request by the max-flow between itself and the destination over
//! the residual capacities of its ledger ([`Admission`], which books its own flows), and
//! checks its own first link against its reservation table. These local refusals are
//! immediate errors of [`Node::open_flow`].
//!
//! **Reservation along the path.** The flow is then *pending*: a `Reserve` travels the
//! explicit path hop by hop (`reservations.rs`), every node checking its link to the next
//! against its own table, which holds the reservations of *every* source through it. The
//! destination's `Confirm` coming back makes the flow admitted ([`Event::FlowAdmitted`]); a
//! hop's `Refuse` or no answer within `reservation_setup_timeout` ends it
//! ([`Event::FlowRefused`], naming the refusing node). So two sources whose flows share a
//! link do see each other there: the hop in front of it refuses what does not fit.
//!
//! **Which path the data takes.** Frames of an admitted flow carry the `FLOW` flag and leave
//! on the reserved path's first hop at the flow's priority; every hop holding the confirmed
//! reservation forwards them to its next node of the path (policed against the reserved
//! rate), so the data follow the reserved path.
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
//! ([`crate::Config::flow_idle_timeout`] without a send), preemption, or loss of a link of the
//! path (in the topology, of the first hop, or told by a hop's `Teardown`:
//! [`Event::FlowClosed`]). Each sends `Release` along the path when the first link is still
//! up; the hops' soft state expires anyway. Admitted flows are refreshed every
//! `reservation_refresh`.

use alloc::vec::Vec;

use crate::flow::{AdmissionError, FlowEnd, FlowId, FlowState, Preempted, QosViolation, ReservationRefusal, admits};
use crate::routing::{
    Admission, CongestionLevel, ConstrainedSearch, Flow, Preemption, QosConstraints, QosError, ReservationTable,
};
use crate::wire::reservation::{MAX_RESERVATION_PATH, ReservationOp};
use crate::wire::{Kind, flags};
use crate::{Config, Error, Event, Instant, MessageId, NodeId, Priority};

use super::Node;
use super::delivery::Attempt;
use super::reservations::Fields;

/// The flows this node opened (ledger, search buffers, next id, reservation state) and the
/// reservation table of every flow through this node.
#[derive(Debug)]
pub(super) struct Flows {
    ledger: Admission,
    search: ConstrainedSearch,
    next_id: FlowId,
    /// This node's own flows: pending or admitted, and when their next timer is due.
    own: Vec<OwnFlow>,
    /// Every reservation this node holds: its own flows at hop 0, transit, destination.
    pub(super) table: ReservationTable,
}

/// Reservation state of one of this node's own flows.
#[derive(Clone, Copy, Debug)]
struct OwnFlow {
    id: FlowId,
    admitted: bool,
    /// Pending: when it is refused for want of an answer; admitted: the next `Refresh`.
    due: Instant,
}

impl Flows {
    /// No flow yet; the table capped at `config.max_reservations` (both lists grow on
    /// demand, the own-flow list up to `config.max_flows`).
    pub(super) fn new(config: &Config) -> Self {
        Flows {
            ledger: Admission::default(),
            search: ConstrainedSearch::default(),
            next_id: 0,
            own: Vec::new(),
            table: ReservationTable::with_capacity(config.max_reservations),
        }
    }
}

impl Node {
    /// Opens a QoS flow to `to` with constraints `c`: plans the path, reserves the first link
    /// here and sends `Reserve` along the path. The flow is pending until
    /// [`Event::FlowAdmitted`] or [`Event::FlowRefused`]; local refusals (congestion, the
    /// max-flow bound, no feasible path, this node's own table) are immediate errors naming
    /// their reason. See `flows.rs` for how reservations are kept and which path data take.
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
        if path.nodes.len() > MAX_RESERVATION_PATH {
            return Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Unreachable });
        }
        let mut id = self.flows.next_id.wrapping_add(1).max(1);
        while self.flows.ledger.flow(id).is_some() || self.flows.table.get(me, id).is_some() {
            id = id.wrapping_add(1).max(1);
        }
        let timeout = self.config.flow_idle_timeout;
        let preempted = self
            .flows
            .ledger
            .reserve(graph, id, c.priority, requested, &path.nodes, now, timeout)
            .map_err(|r| refusal(r, requested))?;
        self.flows.next_id = id;
        let lifetime = now + self.config.reservation_lifetime;
        if let Err(reason) = self.admit_hop(id, &path.nodes, 0, c.priority, c.min_bandwidth_kbps, lifetime) {
            self.flows.ledger.release(id);
            self.tell_preempted(&preempted);
            return Err(AdmissionError::Refused { reason });
        }
        let due = now + self.config.reservation_setup_timeout;
        self.flows.own.push(OwnFlow { id, admitted: false, due });
        let f = Fields {
            flow: id,
            priority: c.priority,
            bandwidth_kbps: c.min_bandwidth_kbps,
            reason: 0,
            at: NodeId(0),
            max_latency_ms: c.max_latency_ms.map_or(0, |l| l.clamp(1, u32::from(u16::MAX)) as u16),
            latency_ms: self.link_latency_ms(path.nodes[1]),
        };
        self.send_reservation(ReservationOp::Reserve, &path.nodes, 1, f);
        self.tell_preempted(&preempted);
        Ok(id)
    }

    /// Sends `payload` on admitted flow `flow`: to its destination at the flow's priority,
    /// through the reserved path's first hop. Each send keeps the flow from idling out. A
    /// pending flow gives [`Error::FlowPending`]. If the first hop's link is gone the flow is
    /// released ([`Event::FlowClosed`]) and [`Error::UnknownFlow`] returned.
    pub fn send_on_flow(&mut self, now: Instant, flow: FlowId, payload: &[u8]) -> Result<MessageId, Error> {
        self.advance(now)?;
        let f = self.flows.ledger.flow(flow).ok_or(Error::UnknownFlow(flow))?;
        let (hop, to, priority) = (f.path[1], f.path[f.path.len() - 1], f.priority);
        if self.flows.own.iter().any(|o| o.id == flow && !o.admitted) {
            return Err(Error::FlowPending(flow));
        }
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
            .send_unicast(seq, Kind::GameData, to, priority, ttl, &[payload], flags::FLOW, Attempt::Via(link))
            .ok_or(Error::QueueFull(crate::Queue::Transmit))?;
        self.flows.ledger.refresh(flow, now);
        Ok(id)
    }

    /// Closes flow `flow` (pending or admitted): releases its reservation here and sends
    /// `Release` along its path.
    pub fn close_flow(&mut self, now: Instant, flow: FlowId) -> Result<(), Error> {
        self.advance(now)?;
        if self.end_own_flow(flow, true) { Ok(()) } else { Err(Error::UnknownFlow(flow)) }
    }

    /// Where the reservation of this node's flow `flow` stands (`None`: not open).
    pub fn flow_state(&self, flow: FlowId) -> Option<FlowState> {
        let o = self.flows.own.iter().find(|o| o.id == flow)?;
        Some(if o.admitted { FlowState::Admitted } else { FlowState::Pending })
    }

    /// Every reservation this node holds along the paths through it (its own flows, the
    /// flows it relays, the flows it receives).
    pub fn reservations(&self) -> &ReservationTable {
        &self.flows.table
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
        self.reservations_tick(now);
        if self.flows.ledger.flows().next().is_none() {
            return;
        }
        for flow in self.flows.ledger.expire(now) {
            self.end_own_flow(flow, true);
            let event = Event::FlowClosed { flow, reason: FlowEnd::IdleTimeout };
            self.outbox.push_event(event, &mut self.metrics);
        }
        self.own_flow_timers(now);
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
                self.end_own_flow(flow, true);
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

    /// When flows or reservations next have timer work: idle expiry, setup timeout,
    /// refresh, soft-state expiry.
    pub(super) fn next_flow_expiry(&self) -> Option<Instant> {
        let idle = self.flows.ledger.flows().map(|f| f.expires_at).min();
        let own = self.flows.own.iter().map(|o| o.due).min();
        [idle, own, self.next_reservation_expiry()].into_iter().flatten().min()
    }

    /// Setup timeouts of pending flows and refreshes of admitted ones.
    fn own_flow_timers(&mut self, now: Instant) {
        let me = self.config.node_id;
        while let Some(k) = self.flows.own.iter().position(|o| o.due <= now) {
            let o = self.flows.own[k];
            if !o.admitted {
                self.end_own_flow(o.id, true);
                let event = Event::FlowRefused { flow: o.id, reason: ReservationRefusal::Timeout, at: me };
                self.outbox.push_event(event, &mut self.metrics);
                continue;
            }
            self.flows.own[k].due = now + self.config.reservation_refresh;
            let lifetime = now + self.config.reservation_lifetime;
            let Some(e) = self.flows.table.get_mut(me, o.id) else { continue };
            e.expires_at = lifetime;
            let e = *e;
            let Some(next) = e.next() else { continue };
            let f = Fields { latency_ms: self.link_latency_ms(next), ..Fields::of(&e) };
            self.send_reservation(ReservationOp::Refresh, e.path(), 1, f);
        }
    }

    /// The destination confirmed flow `flow`: admitted, refreshed from now on.
    pub(super) fn flow_admitted(&mut self, now: Instant, flow: FlowId) {
        let refresh = now + self.config.reservation_refresh;
        if let Some(o) = self.flows.own.iter_mut().find(|o| o.id == flow && !o.admitted) {
            o.admitted = true;
            o.due = refresh;
            self.outbox.push_event(Event::FlowAdmitted { flow }, &mut self.metrics);
        }
    }

    /// Forgets this node's flow `flow` everywhere here (ledger, own list, table); with
    /// `release`, sends `Release` along its path. Returns whether the flow was open.
    pub(super) fn end_own_flow(&mut self, flow: FlowId, release: bool) -> bool {
        let in_ledger = self.flows.ledger.release(flow);
        let before = self.flows.own.len();
        self.flows.own.retain(|o| o.id != flow);
        let owned = self.flows.own.len() != before;
        if let Some(e) = self.flows.table.remove(self.config.node_id, flow) {
            if release && e.next().is_some() {
                self.send_reservation(ReservationOp::Release, e.path(), 1, Fields::of(&e));
            }
        }
        in_ledger || owned
    }

    fn end_flow(&mut self, flow: FlowId, reason: FlowEnd) {
        if self.end_own_flow(flow, true) {
            self.outbox.push_event(Event::FlowClosed { flow, reason }, &mut self.metrics);
        }
    }

    fn tell_preempted(&mut self, preempted: &[Preemption]) {
        for p in preempted {
            self.end_own_flow(p.flow, true);
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
