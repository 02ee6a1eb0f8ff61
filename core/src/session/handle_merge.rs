//! Forked histories: two partitions sequenced apart, merged, and one history won. A member
//! whose history forked from the followed sequencer's finds out from an entry (its `prev`
//! names another epoch than its own last entry's, or it holds that index under another
//! epoch, or the new epoch begins below what it delivered), reports the shape of its history
//! to the sequencer, and is told where the two agree ([`SessionMessage::Rebase`]); it undoes
//! what it delivered after that and takes the sequencer's entries from there on.
//!
//! **Which history wins.** The history the followed epoch's sequencer holds. A new
//! sequencer adopts, at its hand-over, one of the members' histories (its own included),
//! rebasing itself first if its own forked from it: of two where one extends the other, the
//! longer (nothing any answering member delivered is lost); of two that forked, the one
//! with more players as of its last entry (the larger side of a partition plays on), then
//! the one whose last entry has the later epoch, then the longer, then the lower node id. A
//! sequencer that stays coordinator across a merge keeps its own. Either way one history per
//! epoch; the losing side's events after the fork are submitted again by their submitters
//! when they rebase, and so are sequenced after the winner's.

use alloc::vec::Vec;

use super::state::{Membership, Pending, Phase};
use super::{EntryBody, Epoch, MAX_RUNS, Session, SessionAction, SessionEvent, SessionMessage};
use crate::{Instant, NodeId};

impl Session {
    /// The shape of this node's history for a [`SessionMessage::StateReply`]: the runs of
    /// its log, or (nothing logged since a roster) the epoch of its last entry alone.
    ///
    /// The entry before the oldest logged one counts too (its epoch is the oldest's `prev`):
    /// a player that joined by a roster holds no entry at the roster's index, but knows its
    /// epoch, and a fork right after it can then still be undone.
    pub(super) fn history_runs(&self) -> Vec<(Epoch, u64)> {
        let Some(oldest) = self.log.range(0, u64::MAX).next() else {
            return match self.tail {
                Some(tail) if self.next > 1 => alloc::vec![(tail, self.next - 1)],
                _ => Vec::new(),
            };
        };
        let mut runs = self.log.runs(self.delivered(), MAX_RUNS);
        let starts_log = runs.first().is_some_and(|r| r.1 == oldest.index);
        if let (Some(prev), true) = (oldest.prev, starts_log) {
            if runs[0].0 == prev {
                runs[0].1 -= 1;
            } else if runs.len() < MAX_RUNS {
                runs.insert(0, (prev, oldest.index - 1));
            }
        }
        runs
    }

    /// Players as of the last delivered entry, for the merge rule.
    pub(super) fn player_count(&self) -> u16 {
        u16::try_from(self.players.len()).unwrap_or(u16::MAX)
    }

    /// This node's [`SessionMessage::StateReply`] for `epoch`.
    pub(super) fn state_reply(&self, epoch: Epoch) -> SessionMessage {
        SessionMessage::StateReply {
            epoch,
            delivered: self.delivered(),
            players: self.player_count(),
            runs: self.history_runs(),
        }
    }

    /// Reports a fork noticed since the last report to the sequencer, at most every
    /// `repair_retry`.
    pub(super) fn report_fork(&mut self, now: Instant) {
        if !self.forked || self.sequencer.is_some() {
            return;
        }
        let Some(epoch) = self.epoch.filter(|e| e.sequencer != self.me) else { return };
        if self.fork_reported.is_some_and(|at| at + self.config.repair_retry > now) {
            return;
        }
        self.fork_reported = Some(now);
        self.forked = false; // reported; the next evidence reports again
        let message = self.state_reply(epoch);
        self.actions.push_back(SessionAction::Send { to: epoch.sequencer, message });
    }

    /// Where a member's history (`runs` up to `delivered`) forked from this node's, if it
    /// did: `Some(Some(fork))`, or `Some(None)` when it forked before this node's log. `None`
    /// when it did not fork, or when this node cannot tell (it lags behind the log: a gap to
    /// repair, not a fork).
    pub(super) fn fork_of(&self, runs: &[(Epoch, u64)], delivered: u64) -> Option<Option<u64>> {
        let fork = self.log.fork_with(runs, delivered);
        if fork.is_some_and(|f| f >= delivered) {
            return None;
        }
        let last = self.log.last().unwrap_or(0);
        // Its entry at an index this log holds, or at this log's end when it is ahead.
        let at = delivered.min(last);
        let mine = self.log.get(at).map(|e| e.epoch);
        let theirs = super::Log::epoch_in(runs, delivered, at);
        match (fork, mine, theirs) {
            (Some(f), ..) => Some(Some(f)),
            (None, Some(m), Some(t)) if m != t => Some(None),
            _ => None,
        }
    }

    /// Sequencer, placing: a member reports its history; if it forked from this one, it is
    /// told where the two agree. (A history that is a prefix of this one is not answered:
    /// it is a late reply to the hand-over, or a fork report overtaken by a rebase.) A member
    /// whose history ends before this log begins cannot be told where it forked, nor be
    /// repaired from here: it starts over (`fork` none), catching up from a snapshot.
    pub(super) fn answer_fork(&mut self, from: NodeId, delivered: u64, runs: &[(Epoch, u64)]) {
        let Some(seq) = self.sequencer.as_ref().filter(|s| s.phase == Phase::Active) else { return };
        let (epoch, last) = (seq.epoch, seq.next_index - 1);
        let behind = self.log.first().is_some_and(|first| delivered + 1 < first);
        let Some(fork) = self.fork_of(runs, delivered).or(behind.then_some(None)) else { return };
        self.actions.push_back(SessionAction::Send { to: from, message: SessionMessage::Rebase { epoch, fork, last } });
    }

    /// Member: the sequencer says where this node's history and its own agree.
    pub(super) fn on_rebase(&mut self, now: Instant, from: NodeId, epoch: Epoch, fork: Option<u64>, last: u64) {
        if !self.follows(epoch) || from != epoch.sequencer || self.sequencer.is_some() {
            return;
        }
        // A start-over that this node's history, begun since, already answers.
        if fork.is_none() && self.log.first().unwrap_or(self.next) > last {
            return;
        }
        self.forked = false;
        match fork {
            Some(f) if f >= self.delivered() => {}
            Some(f) if self.can_undo_to(f) => self.rebase_to(now, f),
            _ => self.start_over(),
        }
        if self.next != 0 && last >= self.next {
            self.known_last = self.known_last.max(last);
            self.gap.get_or_insert((now, None));
        }
    }

    /// Whether the log reaches back to just after entry `fork`: everything after it can be
    /// undone, and the oldest entry's `prev` names the epoch of the one before it.
    /// A game that started from a snapshot cannot roll back below it.
    pub(super) fn can_undo_to(&self, fork: u64) -> bool {
        self.log.first().is_some_and(|first| fork + 1 >= first) && fork >= self.floor
    }

    /// Undoes the entries delivered after `fork`, newest first: players they added or
    /// removed, this node's membership, and its own events, which are submitted again.
    pub(super) fn rebase_to(&mut self, now: Instant, fork: u64) {
        let (mut undone, mut resubmitted) = (0, 0);
        let mut tail = self.tail;
        while self.log.last().is_some_and(|l| l > fork) {
            let Some((entry, removed)) = self.log.pop() else { break };
            undone += u64::from(entry.index <= self.shown);
            tail = entry.prev;
            match entry.body {
                EntryBody::Joined { player, info } => {
                    self.players.remove(&player);
                    if player == self.me && self.membership == Membership::In {
                        self.membership = Membership::Joining { info, retry_at: now };
                    }
                }
                EntryBody::Left { player, .. } => {
                    self.players.insert(player, removed.unwrap_or_default());
                    if player == self.me && matches!(self.membership, Membership::Joining { .. }) {
                        self.membership = Membership::In;
                    }
                }
                EntryBody::Event { submitter, submit, payload } if submitter == self.me => {
                    let deadline = now + self.config.submit_timeout;
                    self.pending.push_front(Pending { submit, payload, deadline, retry_at: now, refused: false });
                    resubmitted += 1;
                }
                EntryBody::Event { .. } => {}
            }
        }
        self.next = fork + 1;
        self.tail = tail;
        self.known_last = fork; // what lay beyond was the other history's
        if let Some(c) = self.catchup.as_mut() {
            c.deferred.retain(|(i, _)| *i <= fork);
        }
        if self.membership != Membership::In {
            self.cancel_catchup();
        }
        self.finish_rebase(fork, undone, resubmitted);
    }

    /// The fork is older than the log: forget the history and join afresh (this node's
    /// undone events are void, [`SessionEvent::Rebased`]).
    fn start_over(&mut self) {
        let shown = self.shown;
        // What the game was handed: the entries after the state it started from.
        let undone = self.log.range(self.floor + 1, shown + 1).count() as u64;
        let info = self.players.get(&self.me).cloned();
        self.log.clear();
        self.players.clear();
        self.next = 0;
        self.tail = None;
        self.known_last = 0;
        self.floor = 0;
        self.stateless = false;
        self.cancel_catchup();
        if let Some(info) = info.or_else(|| match &self.membership {
            Membership::Joining { info, .. } => Some(info.clone()),
            _ => None,
        }) {
            self.membership = Membership::Joining { info, retry_at: Instant::from_micros(0) };
        }
        self.finish_rebase(0, undone, 0);
    }

    /// Ends a rebase to `fork` that undid `undone` entries the game had been handed: the
    /// game is told if it had been handed anything after the fork.
    fn finish_rebase(&mut self, fork: u64, undone: u64, resubmitted: u64) {
        self.ahead.clear();
        self.gap = None;
        self.gap_asks = 0;
        self.metrics.rebases += 1;
        self.metrics.undone += undone;
        if self.shown > fork {
            self.shown = fork;
            self.actions.push_back(SessionAction::Event(SessionEvent::Rebased { fork, undone, resubmitted }));
        }
    }
}
