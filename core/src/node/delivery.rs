//! End-to-end delivery of acknowledged unicast messages.
//!
//! The origin keeps each message it asked an acknowledgement for (at most
//! `max_pending_acks`). If none comes within `ack_timeout` (doubling per attempt), it sends
//! the message again as a **new frame** (new `seq`, same `msg_seq`): first along the backup
//! route, then by flooding. Relays that dropped an earlier attempt as a duplicate forward
//! the new frame. After `ack_retries` retries the message is reported failed.
//!
//! The destination delivers a message once per `(origin, msg_seq)` (a small cache of
//! recently delivered message numbers) and acknowledges every attempt, so a lost
//! acknowledgement is repaired by the next retry.

use alloc::vec::Vec;

use zerocopy::IntoBytes;
use zerocopy::network_endian::U32;

use super::Node;
use crate::wire::messages::{AckBody, E2eHeader};
use crate::wire::{FrameHeader, Kind, encode_frame, flags};
use crate::{Destination, Event, Instant, MessageId, NodeId, Priority};

/// One acknowledged message waiting for its acknowledgement.
#[derive(Debug)]
pub(super) struct PendingAck {
    msg: MessageId,
    to: NodeId,
    /// The next hop the first attempt went through (not the destination itself).
    via: Option<NodeId>,
    priority: Priority,
    ttl: u8,
    first_sent: Instant,
    deadline: Instant,
    attempts: u8,
    payload: Vec<u8>,
}

impl Node {
    /// Sends an acknowledged message: tracks it and sends the first attempt. `None` if
    /// nothing could be queued.
    pub(super) fn send_acknowledged(&mut self, to: NodeId, payload: &[u8], priority: Priority, ttl: u8) -> Option<MessageId> {
        let now = self.now;
        let msg_seq = self.take_seq()?; // the first attempt's frame seq is the message number
        let msg = MessageId { origin: self.config.node_id, seq: msg_seq };
        self.send_attempt(msg_seq, msg, to, priority, ttl, payload, Attempt::Route)?;
        let via = self.next_hop(to, priority).filter(|hop| *hop != to);
        let mut buf = self.outbox.take_buf();
        buf.extend_from_slice(payload);
        let deadline = now + self.config.ack_timeout;
        let pending = PendingAck { msg, to, via, priority, ttl, first_sent: now, deadline, attempts: 1, payload: buf };
        if self.pending_acks.len() == self.pending_acks.capacity() {
            // Grown on demand, never beyond `max_pending_acks` (`can_track_ack` was checked).
            let room = self.config.max_pending_acks.saturating_sub(self.pending_acks.len());
            self.pending_acks.reserve_exact(self.pending_acks.len().max(4).min(room.max(1)));
        }
        self.pending_acks.push(pending);
        self.metrics.delivery[priority as usize].sent += 1;
        Some(msg)
    }

    /// Whether another acknowledged message can be tracked.
    pub(super) fn can_track_ack(&self) -> bool {
        self.pending_acks.len() < self.config.max_pending_acks
    }

    /// An acknowledgement from `from` for message `msg_seq` arrived.
    pub(super) fn on_ack(&mut self, now: Instant, from: NodeId, msg_seq: u32) {
        let Some(i) = self.pending_acks.iter().position(|p| p.to == from && p.msg.seq == msg_seq) else { return };
        let p = self.pending_acks.swap_remove(i);
        let latency = now - p.first_sent;
        let stats = &mut self.metrics.delivery[p.priority as usize];
        stats.delivered += 1;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        stats.latency_sum_us = stats.latency_sum_us.saturating_add(us);
        stats.latency_max_us = stats.latency_max_us.max(us);
        self.router.record_success(p.to, p.priority, now);
        if let (Some(via), 1) = (p.via, p.attempts) {
            self.judge(via, crate::security::Behaviour::RelayConfirmed, now);
        }
        let event = Event::Delivered { id: p.msg, to: p.to, latency, attempts: p.attempts };
        self.outbox.push_event(event, &mut self.metrics);
        self.outbox.give_buf(p.payload);
    }

    /// This node received acknowledged message `msg_seq` from `origin`: acknowledge it, and
    /// tell whether it is new (to be delivered) or a retry of one already delivered. The
    /// acknowledgement is flooded when the message came flooded or was a retry (earlier
    /// acknowledgements may have died on the route), else routed.
    pub(super) fn acknowledge_message(&mut self, origin: NodeId, msg_seq: u32, hops: u8, flooded: bool) -> bool {
        let fresh = self.e2e_seen.insert(MessageId { origin, seq: msg_seq });
        let body = AckBody { acked_seq: U32::new(msg_seq), hops, reserved: [0; 3] };
        let ttl = self.config.default_ttl;
        let how = if fresh && !flooded { Attempt::Route } else { Attempt::Flood };
        let sent = self.take_seq().and_then(|seq| {
            self.send_unicast(seq, Kind::Ack, origin, Priority::Critical, ttl, &[body.as_bytes()], 0, how)
        });
        if sent.is_some() {
            self.metrics.acks_sent += 1;
        }
        fresh
    }

    /// Retries or gives up the messages whose acknowledgement is overdue.
    pub(super) fn retry_overdue_acks(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending_acks.len() {
            if self.pending_acks[i].deadline > now {
                i += 1;
                continue;
            }
            let p = &self.pending_acks[i];
            if p.attempts > self.config.ack_retries {
                let p = self.pending_acks.swap_remove(i);
                self.metrics.delivery[p.priority as usize].failed += 1;
                self.router.record_failure(p.to, p.priority, now);
                self.outbox.push_event(Event::DeliveryFailed { id: p.msg, to: p.to }, &mut self.metrics);
                self.outbox.give_buf(p.payload);
                continue;
            }
            let how = if p.attempts == 1 { Attempt::Backup } else { Attempt::Flood };
            let (msg, to, priority, ttl, via, first) = (p.msg, p.to, p.priority, p.ttl, p.via, p.attempts == 1);
            if let (Some(via), true) = (via, first) {
                // Circumstantial: the next hop may have dropped it, or a link further on.
                self.judge(via, crate::security::Behaviour::RelayWithheld, now);
            }
            let payload = core::mem::take(&mut self.pending_acks[i].payload);
            if let Some(seq) = self.take_seq() {
                let _ = self.send_attempt(seq, msg, to, priority, ttl, &payload, how);
            }
            let p = &mut self.pending_acks[i];
            p.payload = payload;
            p.attempts += 1;
            p.deadline = now + self.config.ack_timeout * (1u32 << (p.attempts - 1).min(8));
            self.metrics.delivery[priority as usize].retries += 1;
            i += 1;
        }
    }

    /// When the next acknowledgement is overdue.
    pub(super) fn next_ack_deadline(&self) -> Option<Instant> {
        self.pending_acks.iter().map(|p| p.deadline).min()
    }

    /// Sends one attempt of an acknowledged message.
    #[allow(clippy::too_many_arguments)]
    fn send_attempt(
        &mut self,
        seq: u32,
        msg: MessageId,
        to: NodeId,
        priority: Priority,
        ttl: u8,
        payload: &[u8],
        how: Attempt,
    ) -> Option<MessageId> {
        let head = E2eHeader { msg_seq: U32::new(msg.seq) };
        let body = [head.as_bytes(), payload];
        self.send_unicast(seq, Kind::GameData, to, priority, ttl, &body, flags::ACK_REQUESTED, how)
    }

    /// Originates a unicast frame with sequence number `seq` towards `to`: on the direct
    /// link if it is a neighbour, else along the route `how` asks for, else (or when asked)
    /// flooded. Game data is encrypted on a secured node. Returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_unicast(
        &mut self,
        seq: u32,
        kind: Kind,
        to: NodeId,
        priority: Priority,
        ttl: u8,
        body: &[&[u8]],
        extra_flags: u8,
        how: Attempt,
    ) -> Option<MessageId> {
        self.refresh_routes();
        let direct = self.links.index_of_peer(to);
        let routed = match how {
            Attempt::Route => direct.or_else(|| self.route_link(to, priority, None)),
            Attempt::Backup => self.backup_link(to, priority).or(direct),
            Attempt::Via(i) => Some(i),
            Attempt::Flood => None,
        };
        if routed.is_none() && how != Attempt::Flood && kind == Kind::GameData {
            self.metrics.flood_fallbacks += 1;
        }
        let only = routed.map(|i| self.links.at(i).link);
        let mut header = FrameHeader::new(kind, priority, ttl, self.config.node_id, Destination::Node(to), seq);
        header.flags |= extra_flags;
        if how == Attempt::Flood {
            header.flags |= flags::FLOODED;
        }
        let mut frame = core::mem::take(&mut self.scratch);
        // Encrypted game data carries its authentication tag at the end of the body.
        const SPARE: [u8; super::secure::E2E_TAG] = [0; super::secure::E2E_TAG];
        let spare: &[u8] = if kind == Kind::GameData && self.encrypts() { &SPARE } else { &[] };
        let parts: smallvec::SmallVec<[&[u8]; 4]> = body.iter().copied().chain([spare]).collect();
        encode_frame(&mut frame, &header, &parts);
        let id = MessageId { origin: self.config.node_id, seq };
        let queued = self.seal(&mut frame) && self.send_to_links(id, &frame, only);
        self.scratch = frame;
        self.metrics.frames_originated += 1;
        if routed.is_some() {
            self.router.record_use(to, priority, self.now);
        }
        queued.then_some(id)
    }

    /// The backup route's link towards `to`, if any.
    fn backup_link(&self, to: NodeId, priority: Priority) -> Option<usize> {
        let backup = self.router.route(to, priority)?.backup?;
        self.links.index_of_peer(backup.next_hop)
    }
}

/// How an attempt travels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Attempt {
    /// Direct link or primary route; flooded when there is none.
    Route,
    /// The backup route (its first hop differs from the primary's).
    Backup,
    /// The confirmed link at this index (a flow's first hop).
    Via(usize),
    /// Flooded.
    Flood,
}
