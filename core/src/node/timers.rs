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
        self.announce_if_due(now);
        self.sessions_timeout(now);
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
    ///
    /// Computed after every input (the drain's last output), so it is kept cheap: the
    /// silence deadline of a link in whole nanoseconds of `u64` rather than `Duration`
    /// arithmetic (the same value, see [`silence_deadline`]), each part folded in as it is
    /// computed rather than collected first.
    pub(super) fn next_deadline(&self) -> Instant {
        let interval = self.config.heartbeat_interval;
        let interval_ns = u64::try_from(interval.as_nanos()).ok();
        // The first silent interval changes nothing unless it makes the neighbour suspect.
        let first_counted = if self.config.suspect_after_missed > 1 { 2 } else { 1 };
        let mut deadline = self.next_announce;
        for l in self.links.iter() {
            if let Some(d) = l.arq.next_deadline() {
                deadline = deadline.min(d);
            }
            if l.is_confirmed() {
                let counted = (l.silent_intervals + 1).max(first_counted) - 1;
                deadline = deadline.min(silence_deadline(l.last_heard, interval, interval_ns, counted));
            }
        }
        let mut fold = |d: Option<Instant>| {
            if let Some(d) = d {
                deadline = deadline.min(d);
            }
        };
        fold(self.next_heartbeat_deadline());
        fold(self.flood.relays.next_deadline());
        fold(self.reassembly.next_deadline());
        fold(self.next_advert());
        fold(self.router.lsdb().next_expiry());
        fold(self.next_route_computation());
        fold(self.next_ack_deadline());
        fold(Some(self.election.next_deadline()));
        fold(self.next_flow_expiry());
        fold(self.ble_deadline());
        fold(self.next_session_deadline());
        deadline
    }

    /// A uniformly random duration in `[0, max)`.
    pub(super) fn random_duration(&mut self, max: Duration) -> Duration {
        let us = duration_micros(max);
        if us == 0 { Duration::ZERO } else { Duration::from_micros(self.rng.next_u64() % us) }
    }
}

/// When a confirmed link heard last at `last_heard`, with `silent` heartbeat intervals
/// already counted, misses its next one: `last_heard + interval × (silent + 1) + interval / 2`
/// (`interval_ns` is `interval` in nanoseconds when that fits a `u64`).
///
/// The same instant as that `Duration` expression, computed in `u64` nanoseconds when it
/// fits: `Duration` multiplication and halving are exact in nanoseconds (halving rounds the
/// nanoseconds down, as `ns / 2` does), and adding a `Duration` to an [`Instant`] truncates
/// it to whole microseconds (`ns / 1000`). Falls back to the expression itself otherwise.
fn silence_deadline(last_heard: Instant, interval: Duration, interval_ns: Option<u64>, silent: u32) -> Instant {
    let ns = interval_ns.and_then(|ns| ns.checked_mul(u64::from(silent) + 1)?.checked_add(ns / 2));
    match ns {
        Some(ns) => Instant::from_micros(last_heard.as_micros().saturating_add(ns / 1000)),
        None => last_heard + (interval * (silent + 1) + interval / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_deadline_is_the_duration_expression() {
        let intervals = [
            Duration::from_millis(250),
            Duration::from_micros(1),
            Duration::from_nanos(1_001),
            Duration::from_nanos(2_999),
            Duration::from_nanos(333_333_333),
            Duration::new(3, 999_999_999),
            Duration::from_secs(u64::MAX / 4),
        ];
        for interval in intervals {
            let interval_ns = u64::try_from(interval.as_nanos()).ok();
            for last in [0, 1, 999, 123_456_789, u64::MAX - 5] {
                for silent in [0u32, 1, 2, 7, 100] {
                    let last_heard = Instant::from_micros(last);
                    let Some(expected) = interval.checked_mul(silent + 1).and_then(|d| d.checked_add(interval / 2)) else {
                        continue; // the expression itself would overflow (panic) here
                    };
                    let got = silence_deadline(last_heard, interval, interval_ns, silent);
                    assert_eq!(got, last_heard + expected, "{interval:?} {last} {silent}");
                }
            }
        }
    }
}
