//! The heartbeat schedule: hellos per link, one round per node for the confirmed links, and
//! heartbeats left out on busy links.
//!
//! * **Hellos** (links in the hello phase) keep their own fast schedule per link
//!   (`LinkState::schedule_hello`): the handshake is as fast as the link allows.
//! * **Rounds**: every confirmed link is served by the node's heartbeat round, one wake-up
//!   every `heartbeat_interval` less a random jitter in `[0, heartbeat_jitter)` drawn per
//!   round from the node's seeded PRNG. A node with seven links wakes four times a second for
//!   its heartbeats, not 28.
//! * **Keep-alive**: a round leaves a link's heartbeat out when this node handed the runtime
//!   another frame for that link within the last interval (`LinkState::heartbeat_skippable`),
//!   as QUIC's keep-alives and BLE's empty PDUs do: any accepted frame restarts the
//!   neighbour's silence count. An explicit heartbeat still goes out at least every
//!   `heartbeat_max_quiet` intervals (RTT echoes, receive-ratio reports, battery and the
//!   two-hop neighbour list stay fresh), and at once when this node's neighbour information
//!   changed ([`Node::neighbour_info_changed`]).
//!
//! "Handed to the runtime" means popped by [`Node::poll_output`]: a frame refused by a full
//! transmit queue never counts. (What the runtime does with a PDU after that, the core cannot
//! see; a runtime that drops PDUs of a congested link drops heartbeats queued behind them
//! just the same.)

use super::Node;
use crate::Instant;

impl Node {
    /// Sends the hellos and the heartbeat round due at `now`.
    pub(super) fn send_due_heartbeats(&mut self, now: Instant) {
        let interval = self.config.heartbeat_interval;
        for _ in 0..self.links.len() {
            // Each hello reschedules its link, so at most one per link per call.
            let due = |l: &crate::neighbour::LinkState| !l.is_confirmed() && l.next_heartbeat <= now;
            let Some(i) = (0..self.links.len()).find(|i| due(self.links.at(*i))) else { break };
            let jitter = self.random_duration(self.config.heartbeat_jitter);
            self.send_heartbeat(now, i);
            self.links.at_mut(i).schedule_hello(now, interval, jitter);
        }
        if now >= self.next_heartbeat_round {
            self.heartbeat_round(now);
        }
    }

    /// One heartbeat round: a heartbeat on every confirmed link that is not kept busy by
    /// other frames, and the next round scheduled.
    fn heartbeat_round(&mut self, now: Instant) {
        let interval = self.config.heartbeat_interval;
        let jitter = self.random_duration(self.config.heartbeat_jitter);
        let next_round = now + interval.saturating_sub(jitter);
        self.next_heartbeat_round = next_round;
        let max_quiet = interval * u32::from(self.config.heartbeat_max_quiet);
        let min_gap = self.config.hello_interval;
        let mut served = false;
        for i in 0..self.links.len() {
            let link = self.links.at(i);
            if !link.is_confirmed() {
                continue;
            }
            served = true;
            // For `heartbeat_max_quiet` after the neighbour list changed, every round sends:
            // a lost heartbeat with the news is repaired at the next round, as before.
            let settled = self.neighbours_changed_at.is_none_or(|t| now - t >= max_quiet);
            if settled && link.heartbeat_skippable(now, next_round, interval, max_quiet) {
                self.metrics.heartbeats_skipped += 1;
            } else if link.heartbeat_forced && !link.answer_due && now - link.last_heartbeat_sent < min_gap {
                // Changes in quick succession (several links confirming at once): a link
                // that had a heartbeat less than a hello interval ago gets the news at the
                // next round, which keeps its heartbeats apart (a transport that reorders
                // close frames would turn them into a sequence gap, §7.3). A link confirmed
                // just now is answered at once, so that the neighbour confirms too.
            } else {
                self.send_heartbeat(now, i);
            }
        }
        if served {
            self.metrics.heartbeat_rounds += 1;
        }
    }

    /// This node's neighbour information changed (a link confirmed, lost or closed): every
    /// confirmed link gets a heartbeat at once, in a round held now, so that the neighbours'
    /// two-hop lists (relay pruning depends on them) are current, and the source trees'
    /// settling time restarts (`tree_relay.rs`). Whatever else comes to be carried in
    /// heartbeats and must reach the neighbours without delay calls this too.
    pub(super) fn neighbour_info_changed(&mut self) {
        self.tree.links_changed(self.now);
        for i in 0..self.links.len() {
            let link = self.links.at_mut(i);
            if link.is_confirmed() {
                link.heartbeat_forced = true;
            }
        }
        self.next_heartbeat_round = self.next_heartbeat_round.min(self.now);
        self.neighbours_changed_at = Some(self.now);
    }

    /// The earliest hello or round due, if any link is up (a node without confirmed links
    /// holds no rounds).
    pub(super) fn next_heartbeat_deadline(&self) -> Option<Instant> {
        let mut confirmed = false;
        let mut deadline = None::<Instant>;
        for l in self.links.iter() {
            if l.is_confirmed() {
                confirmed = true;
            } else {
                deadline = Some(deadline.map_or(l.next_heartbeat, |d| d.min(l.next_heartbeat)));
            }
        }
        if confirmed {
            let round = self.next_heartbeat_round;
            deadline = Some(deadline.map_or(round, |d| d.min(round)));
        }
        deadline
    }

    /// A frame other than a heartbeat left for `link` (handed to the runtime at `now`).
    pub(super) fn note_traffic_sent(&mut self, link: crate::LinkId, now: Instant) {
        if let Some(l) = self.links.get_mut(link) {
            l.last_traffic_sent = Some(now);
        }
    }
}
