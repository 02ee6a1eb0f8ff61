//! Gap repair: a member asks for what it misses (negative acknowledgement); whoever holds
//! the entries in its log sends them again.

use super::{Session, SessionAction, SessionMessage};
use crate::{Instant, NodeId};

impl Session {
    /// `from` misses entries `first..to`: send back those the log holds, at most
    /// [`super::SessionConfig::max_repair`]. The sequencer told of a gap no one can repair
    /// (older than its log, and older than its epoch's start, below which a member takes
    /// entries from the sequencer only) tells the member to start over: it catches up from
    /// a snapshot (`handle_snapshot.rs`).
    pub(super) fn on_nack(&mut self, _now: Instant, from: NodeId, first: u64, to: u64) {
        if first >= to {
            return;
        }
        if let Some(seq) = self.sequencer.as_ref().filter(|s| s.phase == super::state::Phase::Active) {
            let below_log = self.log.first().is_none_or(|f| first < f);
            if below_log && self.epoch_start.is_some_and(|s| first < s) && from != self.me {
                let message = SessionMessage::Rebase { epoch: seq.epoch, fork: None, last: seq.next_index - 1 };
                self.metrics.repair_unavailable += to - first;
                self.actions.push_back(SessionAction::Send { to: from, message });
                return;
            }
        }
        let wanted = (to - first).min(self.config.max_repair as u64);
        let mut sent = 0;
        for entry in self.log.range(first, first + wanted) {
            self.actions.push_back(SessionAction::Send { to: from, message: SessionMessage::Entry(entry.clone()) });
            sent += 1;
        }
        self.metrics.repaired += sent;
        self.metrics.repair_unavailable += wanted - sent;
    }

    /// Asks for the missing entries once the gap is old enough, then again every
    /// [`super::SessionConfig::repair_retry`] while it stays open: the sequencer first, then
    /// the other players and earlier sequencers in turn, alternating with the sequencer (a
    /// sequencer that joined after the missing entries does not hold them; an earlier player
    /// or sequencer does).
    pub(super) fn repair_gap(&mut self, now: Instant) {
        let Some((since, asked)) = self.gap else { return };
        let due = match asked {
            None => since + self.config.repair_delay,
            Some(at) => at + self.config.repair_retry,
        };
        if now < due {
            return;
        }
        self.gap = Some((since, Some(now)));
        let Some(sequencer) = self.sequencer_node().filter(|&s| s != self.me && self.next != 0) else { return };
        let asks = self.gap_asks;
        self.gap_asks = asks.wrapping_add(1);
        // Players, and the sequencers that placed the entries held beyond the gap (an earlier
        // sequencer keeps its log when the election moves on).
        let mut others: alloc::vec::Vec<NodeId> = self.players.keys().copied().collect();
        others.extend(self.ahead.values().map(|e| e.epoch.sequencer));
        others.sort_unstable();
        others.dedup();
        others.retain(|&p| p != self.me && p != sequencer);
        let to = if asks % 2 == 0 || others.is_empty() { sequencer } else { others[(asks / 2) as usize % others.len()] };
        let end = self.ahead.keys().next().copied().unwrap_or(self.known_last + 1);
        if end <= self.next {
            self.gap = None;
            return;
        }
        self.metrics.nacks_sent += 1;
        self.actions.push_back(SessionAction::Send { to, message: SessionMessage::Nack { from: self.next, to: end } });
    }
}
