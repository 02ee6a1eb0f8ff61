//! Originating frames, relaying them, and cutting them into link PDUs.

use smallvec::SmallVec;

use super::Node;
use super::outbox::TxItem;
use crate::wire::link::Fragmenter;
use crate::wire::messages::{Announcement, BATTERY_UNKNOWN, Heartbeat};
use crate::wire::{FrameHeader, Kind, encode_frame};
use crate::{Destination, DropReason, Instant, LinkId, MessageId, Priority};
use zerocopy::{FromBytes, IntoBytes};
use zerocopy::network_endian::{U16, U32};

impl Node {
    /// Encodes a frame from this node and queues it on `only` or on every confirmed link.
    /// Returns `None` if it could not be queued anywhere (transmit queue full).
    pub(super) fn originate(
        &mut self,
        kind: Kind,
        dst: Destination,
        priority: Priority,
        ttl: u8,
        body: &[&[u8]],
        only: Option<LinkId>,
    ) -> Option<MessageId> {
        let seq = self.next_seq();
        let header = FrameHeader::new(kind, priority, ttl, self.config.node_id, dst, seq);
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, body);
        let mut queued = false;
        for i in 0..self.links.len() {
            let l = self.links.at(i);
            let wanted = match only {
                Some(link) => l.link == link,
                None => l.is_confirmed(),
            };
            if wanted {
                queued |= self.queue_frame(i, &frame);
            }
        }
        self.scratch = frame;
        self.metrics.frames_originated += 1;
        queued.then_some(MessageId { origin: self.config.node_id, seq })
    }

    /// Sends a relay whose jitter ran out, unless enough copies were heard meanwhile.
    pub(super) fn run_relay(&mut self, relay: crate::flood::PendingRelay) {
        let suppression = self.config.relay_suppression;
        let dst = destination_of(&relay.frame);
        // Towards a unicast destination that is our neighbour, only its link matters.
        let direct = match dst {
            Some(Destination::Node(n)) => self.links.link_to(n).map(|l| l.link),
            _ => None,
        };
        let targets: SmallVec<[usize; 8]> = (0..self.links.len())
            .filter(|i| {
                let l = self.links.at(*i);
                l.is_confirmed()
                    && !relay.heard_from.contains(&l.link)
                    && direct.is_none_or(|d| d == l.link)
            })
            .collect();
        if targets.is_empty() || (suppression > 0 && relay.copies >= suppression) {
            self.metrics.relays_suppressed += 1;
        } else {
            for i in targets {
                self.queue_frame(i, &relay.frame);
            }
            self.metrics.relayed += 1;
        }
        self.flood.relays.recycle(relay.frame);
    }

    /// Sends a heartbeat on link `i` and schedules the next one.
    pub(super) fn send_heartbeat(&mut self, now: Instant, i: usize, jitter: core::time::Duration) {
        let connections = u8::try_from(self.links.confirmed()).unwrap_or(u8::MAX);
        let battery = self.battery.unwrap_or(BATTERY_UNKNOWN);
        let capabilities = self.config.capabilities;
        let heartbeat_interval = self.config.heartbeat_interval;
        let link = self.links.at_mut(i);
        let (seq, dst, echo_time, echo_delay) = link.next_heartbeat_fields(now);
        let body = Heartbeat {
            rx_quality: link.estimator.rx_quality(),
            battery,
            connections,
            reserved: 0,
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
            crate::Destination::from_node_id(dst),
            seq,
        );
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, &[body.as_bytes()]);
        if self.queue_frame(i, &frame) {
            self.metrics.heartbeats_sent += 1;
        }
        self.scratch = frame;
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
        let _ = self.originate(Kind::Announcement, Destination::Broadcast, Priority::Background, ttl, &[body.as_bytes()], None);
    }

    /// Cuts `frame` into PDUs for link `i` and queues them all, or none if the transmit queue
    /// cannot take them all (counted). Returns whether it was queued.
    fn queue_frame(&mut self, i: usize, frame: &[u8]) -> bool {
        let link = self.links.at_mut(i);
        let Some(plan) = Fragmenter::new(frame.len(), usize::from(link.mtu)) else {
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
        true
    }
}

/// The destination of an already validated frame.
fn destination_of(frame: &[u8]) -> Option<Destination> {
    FrameHeader::ref_from_prefix(frame).ok().map(|(h, _)| h.destination())
}
