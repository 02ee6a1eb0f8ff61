//! Originating frames, relaying them, link acknowledgements and retransmissions, and
//! cutting frames into link PDUs.

use smallvec::SmallVec;
use zerocopy::network_endian::{U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

use super::Node;
use super::outbox::TxItem;
use crate::flood::PendingRelay;
use crate::neighbour::arq::{LinkArq, Unacked};
use crate::wire::link::Fragmenter;
use crate::wire::messages::{
    Announcement, BATTERY_UNKNOWN, Heartbeat, LinkAckEntry, LinkAckHeader, MAX_HEARTBEAT_NEIGHBOURS, MAX_LINK_ACKS,
};
use crate::wire::{FrameHeader, Kind, encode_frame};
use crate::{Destination, DropReason, Instant, LinkId, MessageId, NodeId, Priority};

impl Node {
    /// Encodes a multi-hop frame from this node and queues it on `only` or on every
    /// confirmed link. Returns `None` if it could not be queued anywhere.
    pub(super) fn originate(
        &mut self,
        kind: Kind,
        dst: Destination,
        priority: Priority,
        ttl: u8,
        body: &[&[u8]],
        only: Option<LinkId>,
    ) -> Option<MessageId> {
        let seq = self.take_seq()?;
        self.originate_with_seq(seq, kind, dst, priority, ttl, body, only)
    }

    /// [`Node::originate`] with a sequence number already taken.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn originate_with_seq(
        &mut self,
        seq: u32,
        kind: Kind,
        dst: Destination,
        priority: Priority,
        ttl: u8,
        body: &[&[u8]],
        only: Option<LinkId>,
    ) -> Option<MessageId> {
        let id = MessageId { origin: self.config.node_id, seq };
        let header = FrameHeader::new(kind, priority, ttl, self.config.node_id, dst, seq);
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, body);
        let queued = self.seal(&mut frame) && self.send_to_links(id, &frame, only);
        self.scratch = frame;
        self.metrics.frames_originated += 1;
        queued.then_some(id)
    }

    /// Sends a multi-hop frame reliably on link `only`, or on every confirmed link. Returns
    /// whether any link took it.
    pub(super) fn send_to_links(&mut self, id: MessageId, frame: &[u8], only: Option<LinkId>) -> bool {
        let mut queued = false;
        for i in 0..self.links.len() {
            let l = self.links.at(i);
            if l.is_confirmed() && only.is_none_or(|link| l.link == link) {
                queued |= self.send_reliably(i, id, frame);
            }
        }
        queued
    }

    /// Sends a relay whose jitter ran out, unless it is redundant.
    ///
    /// Targets are the confirmed links that did not deliver a copy. The relay is suppressed
    /// when at least `relay_suppression` other neighbours relayed it and every target is a
    /// known neighbour of one of them: such a relayer sent it to the target already (it sends
    /// to every link that did not send it a copy), so suppression never starves a node.
    pub(super) fn run_relay(&mut self, relay: PendingRelay) {
        let direct = match destination_of(&relay.frame) {
            Some(Destination::Node(n)) => self.links.link_to(n).map(|l| l.link),
            _ => None,
        };
        let relayers: SmallVec<[NodeId; 8]> = relay
            .heard_from
            .iter()
            .filter_map(|link| self.links.get(*link).map(|l| l.peer))
            .collect();
        let targets: SmallVec<[usize; 8]> = (0..self.links.len())
            .filter(|i| {
                let l = self.links.at(*i);
                l.is_confirmed() && !relay.heard_from.contains(&l.link) && direct.is_none_or(|d| d == l.link)
            })
            .collect();
        let threshold = self.config.relay_suppression;
        let covered = |i: &usize| relayers.iter().any(|r| self.links.at(*i).peer_neighbours.contains(r));
        let suppressed = targets.is_empty()
            || (threshold > 0 && relay.copies >= threshold && targets.iter().all(covered));
        if suppressed {
            self.metrics.relays_suppressed += 1;
        } else {
            for i in targets {
                self.send_reliably(i, relay.id, &relay.frame);
            }
            self.metrics.relayed += 1;
        }
        self.flood.relays.recycle(relay.frame);
    }

    /// Sends a heartbeat on link `i` and schedules the next one.
    pub(super) fn send_heartbeat(&mut self, now: Instant, i: usize, jitter: core::time::Duration) {
        let neighbours: SmallVec<[U64; MAX_HEARTBEAT_NEIGHBOURS]> = self
            .links
            .iter()
            .filter(|l| l.is_confirmed())
            .take(MAX_HEARTBEAT_NEIGHBOURS)
            .map(|l| U64::new(l.peer.0))
            .collect();
        let battery = self.battery.unwrap_or(BATTERY_UNKNOWN);
        let capabilities = self.config.capabilities;
        let heartbeat_interval = self.config.heartbeat_interval;
        let link = self.links.at_mut(i);
        let (seq, dst, echo_time, echo_delay) = link.next_heartbeat_fields(now);
        let body = Heartbeat {
            rx_quality: link.estimator.rx_quality(),
            battery,
            connections: neighbours.len() as u8,
            neighbour_count: neighbours.len() as u8,
            tx_time: U32::new(now.wire_micros()),
            echo_time: U32::new(echo_time),
            echo_delay: U32::new(echo_delay),
            capabilities: U16::new(capabilities),
            reserved2: U16::new(0),
        };
        link.schedule_heartbeat(now, heartbeat_interval, jitter);
        let header = FrameHeader::new(
            Kind::Heartbeat,
            Priority::Critical,
            1,
            self.config.node_id,
            Destination::from_node_id(dst),
            seq,
        );
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, &[body.as_bytes(), neighbours.as_bytes()]);
        if self.seal(&mut frame) && self.queue_frame(i, &frame) {
            self.metrics.heartbeats_sent += 1;
        }
        self.scratch = frame;
    }

    /// Sends the acknowledgements gathered for link `i`.
    pub(super) fn send_link_ack(&mut self, i: usize) {
        let link = self.links.at_mut(i);
        let entries: SmallVec<[LinkAckEntry; MAX_LINK_ACKS]> = link
            .arq
            .pending_acks
            .drain(..)
            .map(|id| LinkAckEntry { origin: U64::new(id.origin.0), seq: U32::new(id.seq) })
            .collect();
        link.arq.ack_due = None;
        if entries.is_empty() {
            return;
        }
        let head = LinkAckHeader { count: entries.len() as u8, reserved: [0; 3] };
        let dst = Destination::Node(link.peer);
        let header = FrameHeader::new(Kind::LinkAck, Priority::Critical, 1, self.config.node_id, dst, 0);
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, &[head.as_bytes(), entries.as_bytes()]);
        if self.seal(&mut frame) && self.queue_frame(i, &frame) {
            self.metrics.link_acks_sent += 1;
        }
        self.scratch = frame;
    }

    /// Retransmits or abandons the frames on link `i` whose acknowledgement is overdue.
    pub(super) fn retransmit_overdue(&mut self, now: Instant, i: usize) {
        let max_retries = self.config.link_retries;
        let ack_delay = self.config.link_ack_delay;
        let link = self.links.at(i);
        let rto = LinkArq::rto(link.estimator.rtt(), link.estimator.rtt_var(), ack_delay);
        let overdue = link.arq.unacked.iter().filter(|u| u.deadline <= now).count();
        for _ in 0..overdue {
            let link = self.links.at_mut(i);
            let Some(pos) = link.arq.unacked.iter().position(|u| u.deadline <= now) else { break };
            let mut u = link.arq.unacked.remove(pos).expect("position is in range");
            if u.retries >= max_retries {
                self.metrics.retransmits_abandoned += 1;
                self.outbox.give_buf(u.frame);
                continue;
            }
            u.retries += 1;
            u.deadline = now + rto * (1u32 << u.retries);
            self.metrics.retransmissions += 1;
            self.queue_frame(i, &u.frame);
            self.links.at_mut(i).arq.unacked.push_back(u);
        }
    }

    /// Floods this node's announcement.
    pub(super) fn announce(&mut self, now: Instant) {
        let body = Announcement {
            capabilities: U16::new(self.config.capabilities),
            battery: self.battery.unwrap_or(BATTERY_UNKNOWN),
            connections: u8::try_from(self.links.confirmed()).unwrap_or(u8::MAX),
            uptime_secs: U32::new(u32::try_from((now - self.started).as_secs()).unwrap_or(u32::MAX)),
            processing_power: U16::new(self.config.processing_power),
            reserved: U16::new(0),
        };
        let ttl = self.config.default_ttl;
        let (kind, prio) = (Kind::Announcement, Priority::Background);
        let _ = self.originate(kind, Destination::Broadcast, prio, ttl, &[body.as_bytes()], None);
    }

    /// Queues a multi-hop frame on link `i` and, with link ARQ on, keeps a copy until the
    /// neighbour acknowledges it.
    pub(super) fn send_reliably(&mut self, i: usize, id: MessageId, frame: &[u8]) -> bool {
        if !self.queue_frame(i, frame) {
            return false;
        }
        if self.config.link_arq {
            let now = self.now;
            let window = self.config.link_arq_window;
            let ack_delay = self.config.link_ack_delay;
            let mut copy = self.outbox.take_buf();
            copy.extend_from_slice(frame);
            let link = self.links.at_mut(i);
            let rto = LinkArq::rto(link.estimator.rtt(), link.estimator.rtt_var(), ack_delay);
            let evicted = if link.arq.unacked.len() >= window { link.arq.unacked.pop_front() } else { None };
            link.arq.unacked.push_back(Unacked { id, frame: copy, deadline: now + rto, retries: 0 });
            if let Some(old) = evicted {
                self.metrics.retransmits_abandoned += 1;
                self.outbox.give_buf(old.frame);
            }
        }
        true
    }

    /// Cuts `frame` into PDUs for link `i` and queues them all, or none if the transmit queue
    /// cannot take them all (counted). Returns whether it was queued.
    pub(super) fn queue_frame(&mut self, i: usize, frame: &[u8]) -> bool {
        let link = self.links.at_mut(i);
        let Some(plan) = Fragmenter::new(frame, usize::from(link.mtu)) else {
            self.metrics.drop(DropReason::Oversized);
            return false;
        };
        if !self.outbox.tx_room(plan.count()) {
            self.metrics.drop(DropReason::TransmitQueueFull);
            return false;
        }
        let msg_id = link.msg_id;
        if plan.count() > 1 {
            link.msg_id = link.msg_id.wrapping_add(1);
            self.metrics.fragments_sent += plan.count() as u64;
        }
        let link_id = link.link;
        for index in 0..plan.count() {
            let mut buf = self.outbox.take_buf();
            plan.write_pdu(frame, msg_id, index, &mut buf);
            self.metrics.pdus_sent += 1;
            self.metrics.bytes_sent += buf.len() as u64;
            self.outbox.tx.push_back(TxItem { link: link_id, buf });
        }
        self.ble_note_queued(i, frame);
        true
    }
}

/// The destination of an encoded or already validated frame.
pub(super) fn destination_of(frame: &[u8]) -> Option<Destination> {
    FrameHeader::ref_from_prefix(frame).ok().map(|(h, _)| h.destination())
}
