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
    BATTERY_UNKNOWN, Heartbeat, LinkAckEntry, LinkAckHeader, MAX_HEARTBEAT_NEIGHBOURS, MAX_LINK_ACKS,
};
use crate::wire::{FrameHeader, Kind, encode_frame, flags};
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

    /// Sends a relay whose jitter ran out to the neighbours that may still lack it.
    ///
    /// **Targets** are the confirmed links that did not deliver a copy (for a frame addressed
    /// to a direct neighbour, only that neighbour's link). With `relay_suppression` = k > 0,
    /// a target Y is **pruned** (neighbour-coverage self-pruning, Lim & Kim 2001) when at
    /// least k *covering* neighbours H each
    ///
    /// * sent us a copy of this flood before our jitter ran out (the first copy's sender
    ///   included) with at least the TTL our relay would carry, and
    /// * are Y's neighbour by both heartbeats: H's last heartbeat lists Y (H's link to Y is
    ///   confirmed at H, so H sends there) and Y's lists H (Y accepts frames from H), and
    /// * added no neighbour to its list since our first copy arrived
    ///   (`LinkState::peer_neighbours_grew_at`): links are FIFO, so H sent its copy after the
    ///   heartbeat listing Y, i.e. after confirming Y, and so sent it to Y too. (A copy sent
    ///   before H confirmed Y never went to Y, however H's later heartbeats list Y.)
    ///
    /// Only flood copies count: a broadcast, or a unicast frame flagged as flooded. A unicast
    /// frame that fell back to flooding here may have reached us hop by hop, from a neighbour
    /// that sent it to us alone, so nothing covers it.
    ///
    /// Why this never starves a node (given accurate two-hop lists): relay decisions are made
    /// in time order. A node prunes Y only because of a covering H whose copy it received,
    /// so H decided earlier; H sent to Y unless Y delivered a copy to H (Y has it) or H itself
    /// pruned Y because of an even earlier relayer H'. The chain is finite and ends at a node
    /// that sent to Y (the origin sends to every link), with a TTL no lower than ours at each
    /// step. Knowledge is only ever used as evidence of presence: a neighbour whose heartbeat
    /// list is unknown covers nothing, and a truncated list (`LinkState::peer_neighbours`
    /// keeps 8) only names real neighbours, so it covers less, never wrongly. A stale list
    /// (a link lost since the last heartbeat, ≤ one heartbeat interval) is the remaining
    /// risk, as it was for the counter-based suppression this replaces; k = 2 asks for two
    /// independent coverers. `0` disables pruning (every target gets the frame).
    ///
    /// A relay left without targets is **suppressed** (`metrics.relays_suppressed`); pruned
    /// targets are counted in `metrics.relay_targets_pruned`.
    ///
    /// With `Config::relay_tree`, a flood copy goes along the origin's source tree instead
    /// when this node's view is settled and the copy came from a tree parent
    /// (`node::tree_relay`); otherwise it is relayed as above, a copy from a tree parent
    /// not counting as covering.
    pub(super) fn run_relay(&mut self, relay: PendingRelay) {
        let header = FrameHeader::ref_from_prefix(&relay.frame[..]).ok().map(|(h, _)| h);
        let destination = header.map(|h| h.destination());
        let direct = match destination {
            Some(Destination::Node(n)) => self.links.link_to(n).map(|l| l.link),
            _ => None,
        };
        let flood_copy = match (destination, header) {
            (Some(Destination::Broadcast), _) => true,
            (Some(Destination::Node(_)), Some(h)) => h.flags & flags::FLOODED != 0,
            _ => false,
        };
        let tree = header.is_some_and(super::tree_relay::tree_candidate);
        let relay = if tree && direct.is_none() && self.config.relay_tree > 0 {
            match self.run_tree_relay(relay) {
                Ok(()) => return,
                Err(relay) => relay,
            }
        } else {
            relay
        };
        let k = usize::from(self.config.relay_suppression);

        // Link indices of the neighbours whose copies cover (see above).
        let coverers: SmallVec<[usize; 8]> = if k == 0 || !flood_copy {
            SmallVec::new()
        } else {
            relay
                .heard_from
                .iter()
                .enumerate()
                .filter(|(bit, _)| relay.covering & (1 << bit) != 0)
                .filter_map(|(_, link)| self.links.index(*link))
                .filter(|j| self.links.at(*j).peer_neighbours_grew_at < relay.received)
                .collect()
        };
        let mut sent = false;
        let mut pruned = 0u64;
        for i in 0..self.links.len() {
            let l = self.links.at(i);
            if !l.is_confirmed() || relay.heard_from.contains(&l.link) || direct.is_some_and(|d| d != l.link) {
                continue;
            }
            let covered_by = |j: &&usize| {
                let h = self.links.at(**j);
                h.peer_neighbours.contains(&l.peer) && l.peer_neighbours.contains(&h.peer)
            };
            let mut covering: SmallVec<[NodeId; 8]> = coverers.iter().filter(covered_by).map(|j| self.links.at(*j).peer).collect();
            let target = l.peer;
            if self.config.relay_tree > 0 {
                // Under source-tree relaying a copy from a tree parent of this node may have
                // gone to that parent's tree children only.
                covering.retain(|h| self.tree_allows_coverage(relay.id.origin, *h, target));
            }
            if k > 0 && covering.len() >= k {
                pruned += 1;
                continue;
            }
            self.send_reliably(i, relay.id, &relay.frame);
            sent = true;
        }
        self.metrics.relay_targets_pruned += pruned;
        if sent {
            self.metrics.relayed += 1;
        } else {
            self.metrics.relays_suppressed += 1;
        }
        self.flood.relays.recycle(relay.frame);
    }

    /// Sends a heartbeat on link `i` (the caller schedules the next one, `heartbeats.rs`).
    pub(super) fn send_heartbeat(&mut self, now: Instant, i: usize) {
        let neighbours: SmallVec<[U64; MAX_HEARTBEAT_NEIGHBOURS]> = self
            .links
            .iter()
            .filter(|l| l.is_confirmed())
            .take(MAX_HEARTBEAT_NEIGHBOURS)
            .map(|l| U64::new(l.peer.0))
            .collect();
        let battery = self.battery.unwrap_or(BATTERY_UNKNOWN);
        let capabilities = self.config.capabilities;
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
        if self.seal(&mut frame) && self.queue_pdus(i, &frame, true) {
            self.links.at_mut(i).heartbeat_sent(now);
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
        let overdue = link.arq.unacked.iter().filter(|u| u.deadline <= now).count();
        if overdue == 0 {
            return; // the common case, on every timer tick for every link
        }
        let rto = LinkArq::rto(link.estimator.rtt(), link.estimator.rtt_var(), ack_delay);
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
            u.deadline = now + rto * (1u32 << u.retries.min(crate::config::MAX_RTO_BACKOFF_SHIFT));
            self.metrics.retransmissions += 1;
            self.queue_frame(i, &u.frame);
            self.links.at_mut(i).arq.unacked.push_back(u);
        }
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
        self.queue_pdus(i, frame, false)
    }

    /// [`Node::queue_frame`], the PDUs marked as a heartbeat's or not.
    fn queue_pdus(&mut self, i: usize, frame: &[u8], heartbeat: bool) -> bool {
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
            self.outbox.tx.push_back(TxItem { link: link_id, heartbeat, buf });
        }
        self.ble_note_queued(i, frame);
        true
    }
}

/// The destination of an encoded or already validated frame.
pub(super) fn destination_of(frame: &[u8]) -> Option<Destination> {
    FrameHeader::ref_from_prefix(frame).ok().map(|(h, _)| h.destination())
}
