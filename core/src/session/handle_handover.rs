//! Taking over the stream: a node the election names coordinator first learns how far the
//! members delivered, fetches what any of them delivered that it lacks, and only then places
//! new entries, from the index after them (Viewstamped Replication's view change, with the
//! members' delivered positions as the logs to compare).
//!
//! 1. **Ask.** `StateRequest { epoch }` to the partition; the players it knows are waited for,
//!    for at most [`super::SessionConfig::recovery_timeout`].
//! 2. **Compare.** Each member answers `StateReply { delivered }`; the furthest one is kept.
//! 3. **Fetch.** Entries up to that index that the new sequencer lacks are asked of that
//!    member (negative acknowledgement, served from its log) and delivered in order here.
//! 4. **Begin.** `Begin { epoch, start }`: the new epoch places from `start`. Members accept
//!    older epochs' entries below `start` only, so a delayed copy of an entry the old
//!    sequencer placed but no member delivered cannot take an index the new one reuses.
//!
//! An event that any member answering in step 2 had delivered is kept at its index, in
//! order. A member that did not answer and had delivered further (it was cut off) learns at
//! `Begin` that it diverged (counted); the merge rule resolves that.

use alloc::collections::BTreeSet;

use super::state::{Phase, Sequencer};
use super::{EntryBody, Epoch, Session, SessionAction, SessionMessage};
use crate::{Instant, NodeId};

impl Session {
    /// The election named this node: ask the members before placing anything.
    pub(super) fn start_handover(&mut self, now: Instant, epoch: Epoch) {
        let waiting: BTreeSet<NodeId> = self.players.keys().copied().filter(|&p| p != self.me).collect();
        let best = (self.delivered(), self.me);
        let until = now + self.config.recovery_timeout;
        let phase = Phase::Recovering { until, waiting, best };
        self.sequencer = Some(Sequencer { epoch, phase, next_index: 0, placed: Default::default(), tip_at: until });
        self.actions.push_back(SessionAction::Broadcast(SessionMessage::StateRequest { epoch }));
    }

    /// Member: a new sequencer asks how far this node delivered. Answered for the epoch the
    /// election named here, or a newer one it has not named yet (the request may come
    /// first).
    pub(super) fn on_state_request(&mut self, from: NodeId, epoch: Epoch) {
        if from == self.me || epoch.sequencer != from || self.epoch.is_some_and(|e| e > epoch) {
            return;
        }
        let message = SessionMessage::StateReply { epoch, delivered: self.delivered() };
        self.actions.push_back(SessionAction::Send { to: from, message });
    }

    /// New sequencer: `from` delivered up to `delivered`.
    pub(super) fn on_state_reply(&mut self, now: Instant, from: NodeId, epoch: Epoch, delivered: u64) {
        let Some(seq) = self.sequencer.as_mut().filter(|s| s.epoch == epoch) else { return };
        let Phase::Recovering { waiting, best, .. } = &mut seq.phase else { return };
        waiting.remove(&from);
        if delivered > best.0 {
            *best = (delivered, from);
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
            Phase::Fetching { until, target, .. } if until <= now => {
                self.metrics.handovers_incomplete += 1;
                self.begin(now, target + 1);
            }
            _ => {}
        }
    }

    /// The replies are in (or the time is up): fetch what the furthest member has, or begin.
    fn end_recovery(&mut self, now: Instant) {
        let Some(Phase::Recovering { best: (target, from), .. }) = self.sequencer.as_ref().map(|s| s.phase.clone()) else { return };
        if target <= self.delivered() || from == self.me {
            let start = self.next.max(1);
            return self.begin(now, start);
        }
        let until = now + self.config.recovery_timeout;
        if self.next == 0 {
            // No history here: fetch what a log as long as this one's can still hold.
            self.next = target.saturating_sub(self.config.log_entries as u64 - 1).max(1);
        }
        let asked_to = self.ask_fetch(from, target);
        if let Some(seq) = self.sequencer.as_mut() {
            seq.phase = Phase::Fetching { from, target, asked_to, until };
        }
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
        let Phase::Fetching { from, target, asked_to, until } = seq.phase else { return };
        if self.delivered() >= target {
            self.begin(now, target + 1);
        } else if self.next >= asked_to {
            let asked_to = self.ask_fetch(from, target);
            if let Some(seq) = self.sequencer.as_mut() {
                seq.phase = Phase::Fetching { from, target, asked_to, until };
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
        self.actions.push_back(SessionAction::Broadcast(SessionMessage::Begin { epoch, start }));
    }

    /// Member: the followed epoch places from `start`.
    pub(super) fn on_begin(&mut self, now: Instant, epoch: Epoch, start: u64) {
        if self.epoch != Some(epoch) || self.sequencer.is_some() {
            return;
        }
        self.epoch_start = Some(start);
        if self.next > start {
            self.metrics.diverged += 1;
        }
        // Held entries at or past `start` from an older epoch can never be delivered.
        self.ahead.retain(|&i, e| i < start || e.epoch == epoch);
        if self.next != 0 && start > self.next {
            self.known_last = self.known_last.max(start - 1);
            self.gap.get_or_insert((now, None));
        }
    }
}
