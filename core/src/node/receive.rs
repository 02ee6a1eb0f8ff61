//! The receive path: link PDU → reassembly → frame validation → duplicate check → handling
//! by kind → delivery and relay scheduling.

use rand_core::RngCore;

use super::Node;
use super::outbox::DeliveryItem;
use crate::flood::Admission;
use crate::neighbour::LinkStatus;
use crate::time::duration_micros;
use crate::wire::frame::set_ttl_and_hops;
use crate::wire::link::LinkPdu;
use crate::wire::messages::{Announcement, BATTERY_UNKNOWN, Heartbeat, LinkAckEntry};
use crate::wire::reassembly::Reassembly;
use crate::wire::{Frame, Message, flags};
use crate::{Degradation, Destination, DropReason, Error, Event, Instant, LinkId, MessageId, NodeId};
use zerocopy::network_endian::U64;

impl Node {
    /// Bytes arrived on `link`: one link PDU exactly as the neighbour wrote it.
    ///
    /// Whatever the bytes are, this never fails because of them: malformed, duplicate or
    /// unwanted input is dropped and counted under [`crate::Metrics::drops`]. It fails only
    /// for API misuse (time going backwards, a link that is not up).
    pub fn handle_receive(&mut self, now: Instant, link: LinkId, bytes: &[u8]) -> Result<(), Error> {
        self.advance(now)?;
        if self.links.get(link).is_none() {
            return Err(Error::UnknownLink(link));
        }
        self.metrics.pdus_received += 1;
        self.metrics.bytes_received += bytes.len() as u64;
        match LinkPdu::new_checked(bytes, self.config.max_message_size) {
            Err(reason) => self.metrics.drop(reason),
            Ok(LinkPdu::Whole(frame)) => self.process_frame(now, link, frame),
            Ok(LinkPdu::Fragment(fragment)) => match self.reassembly.push(now, link, fragment) {
                Err(reason) => self.metrics.drop(reason),
                Ok(Reassembly::Pending) => {}
                Ok(Reassembly::PendingEvicted) => self.metrics.drop(DropReason::ReassemblyEvicted),
                Ok(Reassembly::Complete(buf)) => {
                    self.metrics.reassembled += 1;
                    self.process_frame(now, link, &buf);
                    self.reassembly.recycle(buf);
                }
            },
        }
        Ok(())
    }

    fn process_frame(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        let result = match self.authenticate(now, link, bytes) {
            Err(()) => return, // counted by the security layer
            Ok(None) => self.try_process_frame(now, link, bytes),
            Ok(Some(decrypted)) => {
                let r = self.try_process_frame(now, link, &decrypted);
                self.outbox.give_buf(decrypted);
                r
            }
        };
        if let Err(reason) = result {
            self.metrics.drop(reason);
        }
    }

    fn try_process_frame(&mut self, now: Instant, link: LinkId, bytes: &[u8]) -> Result<(), DropReason> {
        let frame = Frame::new_checked(bytes, self.config.max_message_size)?;
        let message = Message::parse(&frame)?;
        let header = frame.header();
        let origin = header.origin();
        if let Message::Heartbeat(hb, neighbours) = message {
            if origin == self.config.node_id {
                return Err(DropReason::OwnFrame);
            }
            return self.on_heartbeat(now, link, &frame, hb, neighbours);
        }
        let i = self.links.index(link).ok_or(DropReason::Misdirected)?;
        let state = self.links.at_mut(i);
        if !state.is_confirmed() {
            return Err(DropReason::LinkNotConfirmed);
        }
        // Link-local frames name their sender; relayed ones name only their origin.
        if !frame.kind().is_multi_hop() && origin != state.peer {
            return Err(DropReason::NeighbourMismatch);
        }
        state.heard(now);
        if let Message::LinkAck(entries) = message {
            return self.on_link_ack(i, &frame, entries);
        }
        if let Message::Resume(body) = message {
            if header.destination() != Destination::Node(self.config.node_id) {
                return Err(DropReason::Misdirected);
            }
            self.on_resume(now, body);
            return Ok(());
        }
        // Acknowledge every multi-hop frame, even one dropped below (our own frame back from
        // a cycle, a duplicate): otherwise the neighbour retransmits it for nothing.
        if self.config.link_arq {
            let due = now + self.config.link_ack_delay;
            if self.links.at_mut(i).arq.acknowledge(frame.message_id(), due) {
                self.send_link_ack(i);
            }
        }
        if origin == self.config.node_id {
            return Err(DropReason::OwnFrame);
        }
        if header.ttl == 0 {
            return Err(DropReason::ZeroTtl);
        }
        // Sent by its origin itself: a frame behind what this node holds of the origin means
        // that the neighbour restarted (`resume.rs`).
        let direct = (header.hops == 0 && origin == self.links.at(i).peer).then_some(i);
        match self.flood.admit(now, frame.message_id(), Some((link, header.ttl))) {
            Admission::New => {}
            Admission::Duplicate => return Err(DropReason::Duplicate),
            Admission::Stale => {
                if let Some(i) = direct {
                    self.send_resume(now, i);
                }
                return Err(DropReason::Stale);
            }
        }
        self.metrics.frames_accepted += 1;
        self.registry.observe(now, origin);
        let destination = header.destination();
        let for_me = match destination {
            Destination::Broadcast => true,
            Destination::Node(n) => n == self.config.node_id,
        };
        let to_me = destination == Destination::Node(self.config.node_id);
        let handled = match message {
            Message::Announcement(a) => {
                self.on_announcement(now, origin, a);
                true
            }
            Message::TopologyUpdate(head, entries) => {
                self.on_topology_update(now, origin, head.advert_version.get(), entries, direct);
                true
            }
            Message::GameData { msg_seq: Some(msg_seq), payload } if to_me => {
                let hops = header.hops.saturating_add(1);
                let flooded = header.flags & flags::FLOODED != 0;
                if self.acknowledge_message(origin, msg_seq, hops, flooded) {
                    self.deliver(&frame, payload, msg_seq);
                }
                true
            }
            Message::GameData { payload, .. } if for_me => {
                self.deliver(&frame, payload, header.seq.get());
                true
            }
            Message::Election(body, signature) if for_me => {
                self.on_election(now, link, origin, body, signature);
                true
            }
            Message::Session(session, body) if for_me => {
                self.on_session_frame(now, origin, session, body);
                true
            }
            Message::Ack(ack) if to_me => {
                self.on_ack(now, origin, ack.acked_seq.get());
                true
            }
            Message::RoutingUpdate(msg) if to_me => {
                if let Err(reason) = self.on_reservation(now, link, origin, msg) {
                    self.metrics.drop(reason);
                }
                true
            }
            Message::GameData { .. } | Message::Ack(_) => true,
            _ => false,
        };
        if !handled && for_me {
            self.metrics.drop(DropReason::Unhandled);
        }
        match destination {
            Destination::Broadcast => self.schedule_relay(now, link, &frame, bytes),
            Destination::Node(_) if to_me => {}
            Destination::Node(_) if header.flags & flags::FLOODED != 0 => {
                self.schedule_relay(now, link, &frame, bytes);
            }
            Destination::Node(_) => {
                if !self.forward(now, link, &frame, bytes) {
                    self.metrics.flood_fallbacks += 1;
                    self.schedule_relay(now, link, &frame, bytes);
                }
            }
        }
        Ok(())
    }

    fn on_link_ack(&mut self, i: usize, frame: &Frame<'_>, entries: &[LinkAckEntry]) -> Result<(), DropReason> {
        if frame.header().destination() != Destination::Node(self.config.node_id) {
            return Err(DropReason::Misdirected);
        }
        for e in entries {
            let id = MessageId { origin: NodeId(e.origin.get()), seq: e.seq.get() };
            if let Some(buf) = self.links.at_mut(i).arq.acknowledged(&id) {
                self.outbox.give_buf(buf);
            }
        }
        Ok(())
    }

    fn on_heartbeat(
        &mut self,
        now: Instant,
        link: LinkId,
        frame: &Frame<'_>,
        hb: &Heartbeat,
        neighbours: &[U64],
    ) -> Result<(), DropReason> {
        let me = self.config.node_id;
        let header = frame.header();
        let origin = header.origin();
        let state = self.links.get_mut(link).ok_or(DropReason::Misdirected)?;
        let outcome = state.on_heartbeat(now, me, header, hb, neighbours)?;
        let degraded_etx = self.config.degraded_etx;
        let etx = state.estimator.etx();
        let was_poor = state.degraded_quality;
        let status = state.status;
        if status != LinkStatus::Pending {
            if !was_poor && etx > degraded_etx {
                state.degraded_quality = true;
            } else if was_poor && etx < degraded_etx * 0.8 {
                state.degraded_quality = false;
            }
        }
        let now_poor = state.degraded_quality;
        self.metrics.heartbeats_received += 1;
        self.observe_load(link, now);
        let info = self.registry.observe(now, origin);
        info.battery = (hb.battery != BATTERY_UNKNOWN).then_some(hb.battery);
        info.connections = hb.connections;
        info.capabilities = hb.capabilities.get();
        self.router.set_battery(origin, routing_battery(hb.battery));
        if outcome.confirmed {
            self.neighbour_info_changed();
            self.advert_dirty = true;
            self.metrics.neighbours_up += 1;
            self.outbox.push_event(Event::NeighbourUp { node: origin, link }, &mut self.metrics);
            self.announce_for_new_link(now, origin);
        }
        if !was_poor && now_poor {
            let reason = Degradation::PoorQuality;
            self.outbox.push_event(Event::NeighbourDegraded { node: origin, link, reason }, &mut self.metrics);
        }
        if !now_poor && (outcome.recovered || was_poor) {
            self.outbox.push_event(Event::NeighbourRecovered { node: origin, link }, &mut self.metrics);
        }
        Ok(())
    }

    fn on_announcement(&mut self, now: Instant, origin: NodeId, a: &Announcement) {
        let info = self.registry.observe(now, origin);
        // Uptime never goes back within one run of a node, and a node is not heard of before
        // it starts: a lower uptime than the last one, or frames accepted from the origin
        // more than `RESTART_SLACK` before the start its uptime gives, mean that it restarted
        // with an empty routing database. Like a node that joined this node's view it needs
        // this node's advert, flooded `advert_min_gap` from now (`resume.rs`).
        let uptime = a.uptime_secs.get();
        let known_for = now - info.first_seen;
        let restarted = uptime < info.uptime_secs
            || known_for > core::time::Duration::from_secs(u64::from(uptime)) + super::resume::RESTART_SLACK;
        info.capabilities = a.capabilities.get();
        info.battery = (a.battery != BATTERY_UNKNOWN).then_some(a.battery);
        info.connections = a.connections;
        info.uptime_secs = a.uptime_secs.get();
        info.processing_power = a.processing_power.get();
        self.router.set_battery(origin, routing_battery(a.battery));
        if restarted {
            self.advert_wanted = Some(self.advert_wanted.map_or(now, |w| w.min(now)));
        }
    }

    /// Hands a payload to the application; `seq` is the frame's, or for an acknowledged
    /// message its message number.
    fn deliver(&mut self, frame: &Frame<'_>, payload: &[u8], seq: u32) {
        let header = frame.header();
        let mut buf = self.outbox.take_buf();
        buf.extend_from_slice(payload);
        let item = DeliveryItem {
            origin: header.origin(),
            destination: header.destination(),
            seq,
            priority: header.priority(),
            hops: header.hops.saturating_add(1),
            buf,
        };
        // A full queue is counted as a drop inside `push_delivery`.
        let _ = self.outbox.push_delivery(item, &mut self.metrics);
    }

    /// Keeps a copy of a new multi-hop frame to relay after a random delay, TTL permitting.
    fn schedule_relay(&mut self, now: Instant, from: LinkId, frame: &Frame<'_>, bytes: &[u8]) {
        let header = frame.header();
        let ttl = header.ttl.min(self.config.max_ttl);
        if ttl <= 1 {
            self.metrics.ttl_expired += 1;
            return;
        }
        let jitter_us = duration_micros(self.config.relay_jitter);
        let peer = self.links.get(from).map(|l| l.peer);
        let along_tree =
            super::tree_relay::tree_candidate(header) && peer.is_some_and(|p| self.relays_along_tree(header.origin(), p));
        let delay = if jitter_us == 0 || along_tree { 0 } else { self.rng.next_u64() % (jitter_us + 1) };
        let due = Instant::from_micros(now.as_micros().saturating_add(delay));
        match self.flood.relays.schedule(frame.message_id(), now, due, Some(from), ttl - 1, bytes) {
            Ok(copy) => set_ttl_and_hops(copy, ttl - 1, header.hops.saturating_add(1)),
            Err(reason) => return self.metrics.drop(reason),
        }
        // Along the tree there is nothing to wait for: relay now rather than at a timeout.
        if along_tree {
            if let Some(relay) = self.flood.relays.take(&frame.message_id()) {
                self.run_relay(relay);
            }
        }
    }
}

/// A battery reading as routing uses it: in 10 % steps, so that drift does not recompute
/// every table (energy is one of the routing metrics).
fn routing_battery(wire: u8) -> Option<u8> {
    (wire != BATTERY_UNKNOWN).then_some(wire / 10 * 10)
}
