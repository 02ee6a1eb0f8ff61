//! Reservations along the path: what every node of a flow's path does with the hop-by-hop
//! `RoutingUpdate` messages (`wire/reservation.rs`), keeps in its table
//! ([`ReservationTable`]), polices, and tears down when a link breaks or nothing refreshes it.
//!
//! **Admission at a hop.** On `Reserve` a node checks its link to the next node of the
//! explicit path: it must be a confirmed neighbour (`NoLink`), the node's congestion level must
//! admit the flow's priority (`Congested`), and the link's capacity (its bandwidth in the
//! routing graph, as `routing::admission` and `routing::maxflow` model it; the link
//! estimator's before the link is in the graph) minus what the table already reserves
//! towards that node must cover the request (`InsufficientBandwidth`); the table must have
//! room (`TableFull`). Then it reserves tentatively and sends `Reserve` on, adding its link's
//! latency; else it sends `Refuse { at: itself, reason }` back. The destination checks the
//! summed latency (`Latency`), reserves and answers `Confirm`, which every hop on the way
//! back marks; `Refuse` removes the tentative state on its way back.
//!
//! **Soft state.** Every entry lapses `reservation_lifetime` after its last refresh: a
//! `Refresh` from the source (every `reservation_refresh`) or the flow's traffic through the
//! hop. A hop that lost the state re-admits a `Refresh` (a `Refresh` it cannot carry is
//! refused like a `Reserve`). Lost `Release` or `Teardown` messages therefore leak nothing.
//!
//! **Link loss.** A node whose link to the next node breaks drops the entry and sends
//! `Teardown { at: itself }` towards the source; one whose link to the previous node breaks
//! sends `Release` towards the destination.
//!
//! **Policing.** A hop forwarding a `GameData` frame flagged [`flags::FLOW`] charges it to
//! a confirmed reservation of its (origin, destination, priority): conforming frames go to
//! the reservation's next node (the data follows the reserved path), excess is dropped as
//! [`DropReason::Policed`].

use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32, U64};

use super::Node;
use crate::flow::{FlowEnd, FlowId, ReservationRefusal, admits};
use crate::routing::HopReservation;
use crate::time::duration_micros;
use crate::wire::reservation::{
    MAX_RESERVATION_PATH, ReservationHeader, ReservationMsg, ReservationOp, TEARDOWN_LINK_LOST,
};
use crate::wire::{Frame, Kind, flags};
use crate::{Destination, DropReason, Event, Instant, LinkId, NodeId, Priority};

/// What a reservation message carries besides its op, path and receiver.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    pub flow: FlowId,
    pub priority: Priority,
    pub bandwidth_kbps: u32,
    pub reason: u8,
    pub at: NodeId,
    pub max_latency_ms: u16,
    pub latency_ms: u16,
}

impl Fields {
    /// The flow fields of reservation `e`, with no reason, `at` or latency.
    pub(super) fn of(e: &HopReservation) -> Self {
        Fields {
            flow: e.flow,
            priority: e.priority,
            bandwidth_kbps: e.bandwidth_kbps,
            reason: 0,
            at: NodeId(0),
            max_latency_ms: 0,
            latency_ms: 0,
        }
    }
}

impl Node {
    /// A `RoutingUpdate` addressed to this node arrived from `origin` on `link`.
    pub(super) fn on_reservation(
        &mut self,
        now: Instant,
        link: LinkId,
        origin: NodeId,
        msg: ReservationMsg<'_>,
    ) -> Result<(), DropReason> {
        let op = msg.op();
        let hop = usize::from(msg.head.hop);
        let sender = if op.is_downstream() { msg.node(hop - 1) } else { msg.node(hop + 1) };
        let peer = self.links.get(link).map(|l| l.peer);
        if msg.node(hop) != self.config.node_id || origin != sender || peer != Some(origin) {
            return Err(DropReason::ReservationMisrouted);
        }
        let mut nodes = [NodeId(0); MAX_RESERVATION_PATH];
        for (i, n) in msg.path.iter().enumerate() {
            nodes[i] = NodeId(n.get());
        }
        let path = &nodes[..msg.path.len()];
        let h = msg.head;
        let f = Fields {
            flow: h.flow_id.get(),
            priority: Priority::from_bits(h.priority),
            bandwidth_kbps: h.bandwidth_kbps.get(),
            reason: h.reason,
            at: NodeId(h.at.get()),
            max_latency_ms: h.max_latency_ms.get(),
            latency_ms: h.latency_ms.get(),
        };
        let lifetime = now + self.config.reservation_lifetime;
        match op {
            ReservationOp::Reserve | ReservationOp::Refresh => self.on_reserve(now, op, path, hop, f),
            ReservationOp::Release => {
                // Idempotent: a hop that lost the state still passes it on.
                self.flows.table.remove(path[0], f.flow);
                if hop + 1 < path.len() {
                    self.send_reservation(ReservationOp::Release, path, hop + 1, f);
                }
                Ok(())
            }
            ReservationOp::Confirm => {
                let e = self.flows.table.get_mut(path[0], f.flow).ok_or(DropReason::UnknownReservation)?;
                e.confirmed = true;
                e.expires_at = lifetime;
                if hop == 0 {
                    self.flow_admitted(now, f.flow);
                } else {
                    self.send_reservation(ReservationOp::Confirm, path, hop - 1, f);
                }
                Ok(())
            }
            ReservationOp::Refuse | ReservationOp::Teardown => {
                self.flows.table.remove(path[0], f.flow).ok_or(DropReason::UnknownReservation)?;
                if hop > 0 {
                    self.send_reservation(op, path, hop - 1, f);
                } else if op == ReservationOp::Refuse {
                    let reason = ReservationRefusal::from_code(f.reason).expect("validated by the parser");
                    self.end_own_flow(f.flow, false);
                    let event = Event::FlowRefused { flow: f.flow, reason, at: f.at };
                    self.outbox.push_event(event, &mut self.metrics);
                } else {
                    let at = path.iter().position(|n| *n == f.at).expect("validated by the parser");
                    let to = path.get(at + 1).copied().unwrap_or(f.at);
                    if self.end_own_flow(f.flow, false) {
                        let reason = FlowEnd::LinkLost { from: f.at, to };
                        self.outbox.push_event(Event::FlowClosed { flow: f.flow, reason }, &mut self.metrics);
                    }
                }
                Ok(())
            }
        }
    }

    /// `Reserve` or `Refresh` at `hop`: admit (or extend) and pass on, or refuse back. A
    /// flow this node holds along another path is misrouted.
    fn on_reserve(
        &mut self,
        now: Instant,
        op: ReservationOp,
        path: &[NodeId],
        hop: usize,
        f: Fields,
    ) -> Result<(), DropReason> {
        let me = self.config.node_id;
        let lifetime = now + self.config.reservation_lifetime;
        let last = hop + 1 == path.len();
        let refuse = |node: &mut Node, reason: ReservationRefusal| {
            let back = Fields { reason: reason.code(), at: me, max_latency_ms: 0, latency_ms: 0, ..f };
            node.send_reservation(ReservationOp::Refuse, path, hop - 1, back);
        };
        if let Some(e) = self.flows.table.get_mut(path[0], f.flow) {
            if e.path() != path {
                return Err(DropReason::ReservationMisrouted);
            }
            e.expires_at = lifetime; // a repeated Reserve or a Refresh
        } else if let Err(reason) = self.admit_hop(f.flow, path, hop, f.priority, f.bandwidth_kbps, lifetime) {
            refuse(self, reason);
            return Ok(());
        }
        if last {
            if f.max_latency_ms != 0 && f.latency_ms > f.max_latency_ms {
                self.flows.table.remove(path[0], f.flow);
                refuse(self, ReservationRefusal::Latency);
                return Ok(());
            }
            if let Some(e) = self.flows.table.get_mut(path[0], f.flow) {
                e.confirmed = true;
            }
            if op == ReservationOp::Reserve {
                let back = Fields { max_latency_ms: 0, latency_ms: 0, ..f };
                self.send_reservation(ReservationOp::Confirm, path, hop - 1, back);
            }
            return Ok(());
        }
        if op == ReservationOp::Refresh {
            // The source refreshes admitted flows only: state re-admitted here is confirmed.
            if let Some(e) = self.flows.table.get_mut(path[0], f.flow) {
                e.confirmed = true;
            }
        }
        let on = Fields { latency_ms: f.latency_ms.saturating_add(self.link_latency_ms(path[hop + 1])), ..f };
        self.send_reservation(op, path, hop + 1, on);
        Ok(())
    }

    /// Reserves `bandwidth_kbps` for flow `flow` of `path` at this node (index `hop`),
    /// tentatively, or says why not.
    pub(super) fn admit_hop(
        &mut self,
        flow: FlowId,
        path: &[NodeId],
        hop: usize,
        priority: Priority,
        bandwidth_kbps: u32,
        expires_at: Instant,
    ) -> Result<(), ReservationRefusal> {
        if let Some(&next) = path.get(hop + 1) {
            let i = self.links.index_of_peer(next).ok_or(ReservationRefusal::NoLink)?;
            if hop > 0 && !admits(self.congestion_level(), priority) {
                return Err(ReservationRefusal::Congested);
            }
            let me = self.config.node_id;
            let graph = self.router.graph();
            let capacity = match graph.edge_between(me, next) {
                Some(e) => u64::from(graph.metrics(e).bandwidth_kbps),
                None => u64::from(self.links.at(i).estimator.bandwidth_bps() / 1000),
            };
            if self.flows.table.reserved_towards(next) + u64::from(bandwidth_kbps) > capacity {
                return Err(ReservationRefusal::InsufficientBandwidth);
            }
        }
        let rate_bytes = u64::from(bandwidth_kbps) * 125 * duration_micros(self.config.reservation_burst) / 1_000_000;
        let burst = rate_bytes.max(self.config.max_message_size as u64);
        let r = HopReservation::new(flow, path, hop, priority, bandwidth_kbps, expires_at, burst);
        self.flows.table.insert(r).map_err(|_| ReservationRefusal::TableFull)
    }

    /// Latency of this node's link to `next` in its routing graph, milliseconds (0 unknown).
    pub(super) fn link_latency_ms(&self, next: NodeId) -> u16 {
        let graph = self.router.graph();
        graph.edge_between(self.config.node_id, next).map_or(0, |e| graph.metrics(e).latency_ms)
    }

    /// Sends reservation message `op` for the flow of `path` to the node at index `to`, if
    /// it is a confirmed neighbour. Returns whether it was queued.
    pub(super) fn send_reservation(&mut self, op: ReservationOp, path: &[NodeId], to: usize, f: Fields) -> bool {
        let Some(i) = self.links.index_of_peer(path[to]) else { return false };
        let link = self.links.at(i).link;
        let head = ReservationHeader {
            op: op as u8,
            reason: f.reason,
            priority: f.priority as u8,
            path_len: path.len() as u8,
            hop: to as u8,
            reserved: 0,
            max_latency_ms: U16::new(f.max_latency_ms),
            flow_id: U32::new(f.flow),
            bandwidth_kbps: U32::new(f.bandwidth_kbps),
            latency_ms: U16::new(f.latency_ms),
            reserved2: U16::new(0),
            at: U64::new(f.at.0),
        };
        let mut ids = [U64::new(0); MAX_RESERVATION_PATH];
        for (slot, n) in ids.iter_mut().zip(path) {
            *slot = U64::new(n.0);
        }
        let body = [head.as_bytes(), ids[..path.len()].as_bytes()];
        let dst = Destination::Node(path[to]);
        let sent = self.originate(Kind::RoutingUpdate, dst, Priority::Critical, 1, &body, Some(link)).is_some();
        if sent {
            self.metrics.reservation_messages += 1;
        }
        sent
    }

    /// Timer work of the table: soft-state expiry and reservations over links that broke.
    pub(super) fn reservations_tick(&mut self, now: Instant) {
        while let Some(e) = self.flows.table.pop_expired(now) {
            self.metrics.reservations_expired += 1;
            if e.hop == 0 && self.end_own_flow(e.flow, false) {
                let event = Event::FlowClosed { flow: e.flow, reason: FlowEnd::IdleTimeout };
                self.outbox.push_event(event, &mut self.metrics);
            }
        }
        self.reservations_on_links();
    }

    /// Drops the reservations whose previous or next node is no longer a confirmed
    /// neighbour and tells the rest of the path.
    pub(super) fn reservations_on_links(&mut self) {
        let me = self.config.node_id;
        loop {
            let links = &self.links;
            let Some(e) = self.flows.table.pop_detached(|n| links.index_of_peer(n).is_some()) else { break };
            let mut nodes = [NodeId(0); MAX_RESERVATION_PATH];
            nodes[..e.path().len()].copy_from_slice(e.path());
            let path = &nodes[..e.path().len()];
            let hop = usize::from(e.hop);
            let up = |n: NodeId| self.links.index_of_peer(n).is_some();
            let (prev_up, next_up) = (e.prev().is_some_and(up), e.next().is_some_and(up));
            let f = Fields::of(&e);
            if hop == 0 {
                let to = e.next().unwrap_or(me);
                if self.end_own_flow(e.flow, false) {
                    let reason = FlowEnd::LinkLost { from: me, to };
                    self.outbox.push_event(Event::FlowClosed { flow: e.flow, reason }, &mut self.metrics);
                }
                continue;
            }
            if e.next().is_some() && !next_up && prev_up {
                let down = Fields { reason: TEARDOWN_LINK_LOST, at: me, ..f };
                self.send_reservation(ReservationOp::Teardown, path, hop - 1, down);
            }
            if !prev_up && next_up {
                self.send_reservation(ReservationOp::Release, path, hop + 1, f);
            }
        }
    }

    /// A flow frame to forward: the link of the reservation it conforms to, `Err` if it
    /// exceeds its reservation (to be dropped), `Ok(None)` if no reservation here covers it.
    pub(super) fn police_flow_frame(&mut self, now: Instant, frame: &Frame<'_>, len: usize) -> Result<Option<usize>, ()> {
        let header = frame.header();
        if header.flags & flags::FLOW == 0 || frame.kind() != Kind::GameData {
            return Ok(None);
        }
        let Destination::Node(dest) = header.destination() else { return Ok(None) };
        let expires = now + self.config.reservation_lifetime;
        match self.flows.table.police(now, header.origin(), dest, header.priority(), len, expires) {
            None => Ok(None),
            Some(None) => {
                self.metrics.drop(DropReason::Policed);
                Err(())
            }
            Some(Some(next)) => Ok(self.links.index_of_peer(next)),
        }
    }

    /// When the table next has timer work.
    pub(super) fn next_reservation_expiry(&self) -> Option<Instant> {
        self.flows.table.next_expiry()
    }
}
