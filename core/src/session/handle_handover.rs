//! Taking over the stream: a node the election names coordinator first learns how far the
//! members delivered, fetches what any of them delivered that it lacks, and only then places
//! new entries, from the index after them (Viewstamped Replication's view change, with the
//! members' delivered positions as the logs to compare).
//!
//! 1. **Ask.** `StateRequest { epoch }` to the partition; the players it knows are waited for,
//!    for at most [`super::SessionConfig::recovery_timeout`].
//! 2. **Compare.** Each member answers `StateReply { delivered, runs }`; the history to
//!    adopt is the one whose last entry has the highest epoch, the longest of those
//!    (`handle_merge.rs`).
//! 3. **Fetch.** Entries up to that index that the new sequencer lacks are asked of that
//!    member (negative acknowledgement, served from its log) and delivered in order here;
//!    if the new sequencer's own history forked from it, it first undoes its own entries
//!    after the fork.
//! 4. **Begin.** `Begin { epoch, start }`: the new epoch places from `start`. Members accept
//!    older epochs' entries below `start` only, so a delayed copy of an entry the old
//!    sequencer placed but no member delivered cannot take an index the new one reuses.
//!
//! Within one history (no partition), an event that any member answering in step 2 had
//! delivered is kept at its index, in order. A member whose history lost (a merge), or that
//! did not answer and delivered further, finds out from the new entries or from `Begin` and
//! rebases (`handle_merge.rs`).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::state::{Best, Phase, Sequencer};
use super::{EntryBody, Epoch, Session, SessionAction, SessionMessage};
use crate::{Instant, NodeId};

impl Session {
    /// The election named this node: ask the members before placing anything.
    pub(super) fn start_handover(&mut self, now: Instant, epoch: Epoch) {
        let waiting: BTreeSet<NodeId> = self.players.keys().copied().filter(|&p| p != self.me).collect();
        let best = Best { from: self.me, delivered: self.delivered(), players: self.player_count(), runs: self.history_runs() };
        let until = now + self.config.recovery_timeout;
        let phase = Phase::Recovering { until, waiting, best };
        self.sequencer = Some(Sequencer { epoch, phase, next_index: 0, placed: Default::default(), tip_at: until, missing: Default::default(), replies: Vec::new() });
        self.actions.push_back(SessionAction::Broadcast(SessionMessage::StateRequest { epoch }));
    }

    /// Member: a new sequencer asks how far this node delivered. Answered for the epoch the
    /// election named here, or a newer one it has not named yet (the request may come
    /// first).
    pub(super) fn on_state_request(&mut self, from: NodeId, epoch: Epoch) {
        if from == self.me || epoch.sequencer != from || self.epoch.is_some_and(|e| e > epoch) {
            return;
        }
        let message = self.state_reply(epoch);
        self.actions.push_back(SessionAction::Send { to: from, message });
    }

    /// Sequencer: `from` delivered up to `delivered`, a history of `runs`. While taking
    /// over, one more history to compare; once placing, a member that found its history
    /// forked (`handle_merge.rs`).
    pub(super) fn on_state_reply(
        &mut self,
        now: Instant,
        from: NodeId,
        epoch: Epoch,
        delivered: u64,
        players: u16,
        runs: Vec<(Epoch, u64)>,
    ) {
        let Some(seq) = self.sequencer.as_mut().filter(|s| s.epoch == epoch) else { return };
        let max = self.config.max_players;
        let Phase::Recovering { waiting, best, .. } = &mut seq.phase else {
            return self.answer_fork(from, delivered, &runs);
        };
        waiting.remove(&from);
        let reply = Best { from, delivered, players, runs };
        if reply.beats(best) {
            *best = reply.clone();
        }
        if seq.replies.len() < max && seq.replies.iter().all(|r| r.from != from) {
            seq.replies.push(reply);
        }
        if waiting.is_empty() {
            self.end_recovery(now);
        }
    }

    /// Runs the hand-over's clock.
    pub(super) fn handover_timeout(&mut self, now: Instant) {
        let Some(seq) = &self.sequencer else { return };
        match seq.phase {
            Phase::Recovering { until, .. } if until <= now => self.end_recovery(now),
            Phase::Fetching { until, target, last, .. } if until <= now => {
                self.metrics.handovers_incomplete += 1;
                if self.delivered() < target {
                    self.tail = last; // the new entries follow the adopted history's last
                }
                self.begin(now, target + 1);
            }
            _ => {}
        }
    }

    /// The replies are in (or the time is up): adopt the winning history (fetching what
    /// this node lacks of it, after undoing its own entries past a fork), or begin.
    fn end_recovery(&mut self, now: Instant) {
        let Some(Phase::Recovering { best, .. }) = self.sequencer.as_ref().map(|s| s.phase.clone()) else { return };
        if best.from == self.me {
            let start = self.next.max(1);
            return self.begin(now, start);
        }
        let (from, target, last) = (best.from, best.delivered, best.last_epoch());
        let mine = self.delivered();
        let theirs = super::Log::epoch_in(&best.runs, target, mine);
        // Unless this history is a prefix of the winner's (or too old to compare), it forked.
        let prefix = self.next == 0 || theirs == self.tail || (theirs.is_none() && mine <= target);
        if !prefix {
            match self.log.fork_with(&best.runs, target) {
                Some(fork) if self.can_undo_to(fork) => self.rebase_to(now, fork),
                // Forked too long ago to undo: the history starts afresh from the winner's.
                _ => self.forget_history(),
            }
        }
        let until = now + self.config.recovery_timeout;
        if self.next == 0 {
            // No history here: fetch what a log as long as this one's can still hold.
            self.next = target.saturating_sub(self.config.log_entries as u64 - 1).max(1);
        }
        if target < self.next {
            return self.begin(now, self.next);
        }
        let asked_to = self.ask_fetch(from, target);
        if let Some(seq) = self.sequencer.as_mut() {
            seq.phase = Phase::Fetching { from, target, last, asked_to, until };
        }
    }

    /// A new sequencer forgets a history it cannot undo to the winner's fork.
    fn forget_history(&mut self) {
        self.metrics.undone += self.log.len() as u64;
        self.log.clear();
        self.next = 0;
        self.tail = None;
    }

    /// Asks `from` for the next round of entries up to `target`; returns one past the last
    /// index asked for.
    fn ask_fetch(&mut self, from: NodeId, target: u64) -> u64 {
        let first = self.next.max(1);
        let to = (target + 1).min(first + self.config.max_repair as u64);
        self.metrics.nacks_sent += 1;
        self.actions.push_back(SessionAction::Send { to: from, message: SessionMessage::Nack { from: first, to } });
        to
    }

    /// New sequencer, fetching: an entry arrived and was delivered here; ask for the next
    /// round, or begin once everything is in.
    pub(super) fn fetched(&mut self, now: Instant) {
        let Some(seq) = &self.sequencer else { return };
        let Phase::Fetching { from, target, last, asked_to, until } = seq.phase else { return };
        if self.delivered() >= target {
            self.begin(now, target + 1);
        } else if self.next >= asked_to {
            let asked_to = self.ask_fetch(from, target);
            if let Some(seq) = self.sequencer.as_mut() {
                seq.phase = Phase::Fetching { from, target, last, asked_to, until };
            }
        }
    }

    /// Places from `start` on: after everything a member reported delivered. Entries below it
    /// this node could not fetch are skipped here (counted as an incomplete hand-over).
    fn begin(&mut self, now: Instant, start: u64) {
        let start = start.max(self.next).max(1);
        let Some(seq) = self.sequencer.as_mut() else { return };
        seq.phase = Phase::Active;
        seq.next_index = start;
        seq.tip_at = now + self.config.tip_interval;
        let epoch = seq.epoch;
        self.next = start;
        self.known_last = self.known_last.max(start - 1);
        self.epoch_start = Some(start);
        self.ahead.clear();
        self.gap = None;
        self.metrics.handovers += 1;
        // Submits already in the history are not placed again when their submitters retry.
        let Some(seq) = self.sequencer.as_mut() else { return };
        for e in self.log.range(0, start) {
            if let EntryBody::Event { submitter, submit, .. } = &e.body {
                seq.placed.entry(*submitter).or_default().insert(*submit);
            }
        }
        let replies = core::mem::take(&mut seq.replies);
        self.actions.push_back(SessionAction::Broadcast(SessionMessage::Begin { epoch, start }));
        // Members whose history forked from the adopted one rebase at once (those that did
        // not answer find out from the stream: `handle_merge.rs`).
        for r in replies.iter().filter(|r| r.from != self.me) {
            if let Some(fork) = self.fork_of(&r.runs, r.delivered) {
                let message = SessionMessage::Rebase { epoch, fork, last: start - 1 };
                self.actions.push_back(SessionAction::Send { to: r.from, message });
            }
        }
    }

    /// Member: the followed epoch places from `start`.
    pub(super) fn on_begin(&mut self, now: Instant, epoch: Epoch, start: u64) {
        if self.epoch != Some(epoch) || self.sequencer.is_some() {
            return;
        }
        self.epoch_start = Some(start);
        // It delivered entries of another epoch where the new one places: its history forked.
        if self.log.range(start, self.next).any(|e| e.epoch != epoch) {
            self.metrics.diverged += 1;
            self.forked = true;
        }
        // Held entries at or past `start` from an older epoch can never be delivered.
        self.ahead.retain(|&i, e| i < start || e.epoch == epoch);
        if self.next != 0 && start > self.next {
            self.known_last = self.known_last.max(start - 1);
            self.gap.get_or_insert((now, None));
        }
    }
}
