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
//!    after the fork. A member that stops answering is replaced by another that reported
//!    the same history as far; with none left, the new sequencer begins after what it holds
//!    (never past entries it lacks, whose submits it could not know to be placed), and a
//!    member that delivered further rebases.
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

use super::state::{Best, Membership, Phase, Sequencer};
use super::{EntryBody, Epoch, Log, Session, SessionAction, SessionMessage, SubmitId};
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
            Phase::Fetching { until, target, last, asked_to: 0, .. } if until <= now => {
                // No roster came: this node holds no history, so it begins after the adopted
                // one's last entry (its players learn the rest from the stream).
                self.metrics.handovers_incomplete += 1;
                if self.delivered() < target {
                    self.tail = last;
                }
                self.begin(now, target + 1);
            }
            Phase::Fetching { until, target, last, from, .. } if until <= now => self.fetch_elsewhere(now, from, target, last),
            _ => {}
        }
    }

    /// The member fetched from stopped answering: fetch the rest from another that reported
    /// the same history at least as far (the same last epoch at `target`); failing that,
    /// begin after what this node holds. It never begins past entries it lacks: a member
    /// that delivered them finds its history forked at `Begin` and rebases (its own events
    /// among them submitted again), so no submit is placed twice in one history.
    fn fetch_elsewhere(&mut self, now: Instant, from: NodeId, target: u64, last: Option<Epoch>) {
        let Some(seq) = self.sequencer.as_mut() else { return };
        seq.replies.retain(|r| r.from != from);
        let next = seq.replies.iter().find(|r| r.delivered >= target && Log::epoch_in(&r.runs, r.delivered, target) == last).map(|r| r.from);
        match next {
            Some(source) => {
                let asked_to = self.ask_fetch(source, target);
                let until = now + self.config.recovery_timeout;
                if let Some(seq) = self.sequencer.as_mut() {
                    seq.phase = Phase::Fetching { from: source, target, last, asked_to, until };
                }
            }
            None => {
                self.metrics.handovers_incomplete += 1;
                self.begin(now, self.next.max(1));
            }
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
        if self.next == 0 && target > 0 {
            // No history here to extend: take the winner's player list at its last entry,
            // and begin after it (`asked_to` 0: the roster is asked for, not entries).
            let message = SessionMessage::RosterRequest { epoch: self.sequencer.as_ref().map(|s| s.epoch).expect("sequencing") };
            self.actions.push_back(SessionAction::Send { to: from, message });
            if let Some(seq) = self.sequencer.as_mut() {
                seq.phase = Phase::Fetching { from, target, last, asked_to: 0, until };
            }
            return;
        }
        if target < self.next.max(1) {
            return self.begin(now, self.next.max(1));
        }
        let asked_to = self.ask_fetch(from, target);
        if let Some(seq) = self.sequencer.as_mut() {
            seq.phase = Phase::Fetching { from, target, last, asked_to, until };
        }
    }

    /// Member: a new sequencer without a history asks for this node's player list as of its
    /// last entry.
    pub(super) fn on_roster_request(&mut self, from: NodeId, epoch: Epoch) {
        if from != epoch.sequencer || self.epoch.is_some_and(|e| e > epoch) || self.next == 0 || self.sequencer.is_some() {
            return;
        }
        let players = self.roster_players();
        let mut tops: alloc::collections::BTreeMap<NodeId, SubmitId> = alloc::collections::BTreeMap::new();
        for e in self.log.range(0, u64::MAX) {
            if let EntryBody::Event { submitter, submit, .. } = &e.body {
                tops.insert(*submitter, *submit); // the log is in order: the newest stays
            }
        }
        let placed = tops.into_iter().collect();
        let message = SessionMessage::Roster { epoch, index: self.delivered(), last: self.tail, players, placed };
        self.actions.push_back(SessionAction::Send { to: from, message });
    }

    /// New sequencer without a history: the roster it asked for arrived; it takes the list
    /// (and its own membership from it) and begins after its index.
    pub(super) fn adopt_roster(
        &mut self,
        now: Instant,
        from: NodeId,
        epoch: Epoch,
        (index, last): (u64, Option<Epoch>),
        players: Vec<(NodeId, Vec<u8>)>,
        placed: &[(NodeId, SubmitId)],
    ) {
        let Some(seq) = &self.sequencer else { return };
        let Phase::Fetching { from: source, asked_to: 0, .. } = seq.phase else { return };
        if seq.epoch != epoch || from != source {
            return;
        }
        let mine = self.players.get(&self.me).cloned();
        self.players = players.into_iter().collect();
        if self.membership == Membership::In && !self.players.contains_key(&self.me) {
            // The adopted history does not count this node a player: it joins again.
            self.membership = Membership::Joining { info: mine.unwrap_or_default(), retry_at: now };
            self.cancel_catchup();
        }
        self.next = index + 1;
        self.tail = last;
        self.known_last = self.known_last.max(index);
        self.begin(now, index + 1);
        if let Some(seq) = self.sequencer.as_mut() {
            for &(player, top) in placed {
                seq.placed.insert(player, super::state::SubmitWindow::through(top));
            }
        }
    }

    /// A new sequencer forgets a history it cannot undo to the winner's fork; its game, if
    /// it was handed any of it, is told (a rebase to 0) and catches up at `Begin`.
    fn forget_history(&mut self) {
        let undone = self.log.range(0, self.shown + 1).count() as u64;
        self.metrics.undone += self.log.len() as u64;
        self.log.clear();
        self.next = 0;
        self.tail = None;
        self.floor = 0;
        self.stateless = false;
        if self.shown > 0 {
            self.shown = 0;
            self.metrics.rebases += 1;
            self.actions.push_back(SessionAction::Event(super::SessionEvent::Rebased { fork: 0, undone, resubmitted: 0 }));
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
        let Phase::Fetching { from, target, last, asked_to, until } = seq.phase else { return };
        if asked_to == 0 {
            return; // waiting for the roster, not for entries
        }
        if self.delivered() >= target {
            self.begin(now, target + 1);
        } else if self.next >= asked_to {
            let asked_to = self.ask_fetch(from, target);
            if let Some(seq) = self.sequencer.as_mut() {
                seq.phase = Phase::Fetching { from, target, last, asked_to, until };
            }
        }
    }

    /// Places from `start` on: after everything a member reported delivered (or, when no one
    /// served the fetch, after what this node holds). Only a new sequencer without a history
    /// whose roster never came begins past entries it lacks; its game, if it plays, then
    /// catches up from a snapshot.
    fn begin(&mut self, now: Instant, start: u64) {
        let start = start.max(self.next).max(1);
        // Entries below `start` it could not fetch: its game, if it plays, cannot follow the
        // stream from where it is, and catches up from a snapshot (`handle_snapshot.rs`).
        let skipped = start > self.next.max(1) && self.plays();
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
        if skipped {
            self.catch_up(now, start - 1);
        }
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
