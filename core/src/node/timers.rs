//! Time passing: heartbeats (scheduled in `heartbeats.rs`), failure detection, relays,
//! reassembly expiry, announcements.

use core::time::Duration;

use rand_core::RngCore;

use super::Node;
use crate::neighbour::LinkStatus;
use crate::time::duration_micros;
use crate::{Degradation, DropReason, Error, Event, Instant, LossReason};

impl Node {
    /// Time passed. Call when the deadline of the last [`crate::Output::Timeout`] is reached
    /// (calling it early or more often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.advance(now)?;
        self.check_links(now);
        self.send_due_heartbeats(now);
        while let Some(relay) = self.flood.relays.pop_due(now) {
            self.run_relay(relay);
        }
        for i in 0..self.links.len() {
            if self.links.at(i).arq.ack_due.is_some_and(|due| due <= now) {
                self.send_link_ack(i);
            }
            self.retransmit_overdue(now, i);
        }
        for _ in 0..self.reassembly.expire(now) {
            self.metrics.drop(DropReason::ReassemblyTimeout);
        }
        self.expire_routes(now);
        self.advertise_if_due(now);
        self.refresh_routes();
        self.election_timeout(now);
        self.retry_overdue_acks(now);
        self.flows_tick(now);
        self.ble_timeout(now);
        if now >= self.next_announce {
            if self.links.confirmed() > 0 {
                self.announce(now);
                self.last_announce = now;
            }
            self.next_announce = now + self.config.announce_interval;
        }
        Ok(())
    }

    /// Accounts for silent heartbeat intervals on confirmed links: suspect, then lost.
    ///
    /// The first silent interval is not charged to the receive ratio: a neighbour whose busy
    /// link just fell quiet leaves up to two intervals between frames (its last frame within
    /// the interval before a round that left the heartbeat out, then the next round's
    /// heartbeat, `heartbeat_skippable`). A heartbeat that is really lost shows as a gap in
    /// the heartbeat sequence when the next one arrives; silence from the second interval on
    /// is charged as it passes.
    fn check_links(&mut self, now: Instant) {
        let interval = self.config.heartbeat_interval;
        let suspect_after = u32::from(self.config.suspect_after_missed);
        let lost_after = u32::from(self.config.lost_after_missed);
        let hello = self.config.hello_interval;
        for i in 0..self.links.len() {
            let state = self.links.at_mut(i);
            if !state.is_confirmed() {
                continue;
            }
            let missed = state.missed_intervals(now, interval);
            while state.silent_intervals < missed.min(lost_after) {
                if state.silent_intervals > 0 {
                    state.estimator.on_silence();
                }
                state.silent_intervals += 1;
            }
            let (node, link) = (state.peer, state.link);
            if missed >= lost_after {
                self.predictor.forget(self.config.node_id, node);
                self.advert_dirty = true;
                let mut arq = state.reset(now, hello);
                for buf in arq.clear() {
                    self.outbox.give_buf(buf);
                }
                self.neighbour_info_changed();
                self.metrics.neighbours_lost += 1;
                let reason = LossReason::MissedHeartbeats;
                self.outbox.push_event(Event::NeighbourLost { node, link, reason }, &mut self.metrics);
            } else if missed >= suspect_after && state.status == LinkStatus::Active {
                state.status = LinkStatus::Suspect;
                let reason = Degradation::MissedHeartbeats;
                self.outbox.push_event(Event::NeighbourDegraded { node, link, reason }, &mut self.metrics);
            }
        }
    }

    /// The earliest instant at which [`Node::handle_timeout`] has work.
    pub(super) fn next_deadline(&self) -> Instant {
        let interval = self.config.heartbeat_interval;
        // The first silent interval changes nothing unless it makes the neighbour suspect.
        let first_counted = if self.config.suspect_after_missed > 1 { 2 } else { 1 };
        let mut deadline = self.next_announce;
        for l in self.links.iter() {
            if let Some(d) = l.arq.next_deadline() {
                deadline = deadline.min(d);
            }
            if l.is_confirmed() {
                let silence = interval * (l.silent_intervals + 1).max(first_counted) + interval / 2;
                deadline = deadline.min(l.last_heard + silence);
            }
        }
        let due = [
            self.next_heartbeat_deadline(),
            self.flood.relays.next_deadline(),
            self.reassembly.next_deadline(),
            self.next_advert(),
            self.router.lsdb().next_expiry(),
            self.next_route_computation(),
            self.next_ack_deadline(),
            Some(self.election.next_deadline()),
            self.next_flow_expiry(),
            self.ble_deadline(),
        ];
        for d in due.into_iter().flatten() {
            deadline = deadline.min(d);
        }
        deadline
    }

    /// A uniformly random duration in `[0, max)`.
    pub(super) fn random_duration(&mut self, max: Duration) -> Duration {
        let us = duration_micros(max);
        if us == 0 { Duration::ZERO } else { Duration::from_micros(self.rng.next_u64() % us) }
    }
}
