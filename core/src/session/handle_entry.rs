//! A message arrived: dispatch by kind, and the member's side of the stream (entries in
//! index order, tips, refusals).

use super::state::{Membership, Phase};
use alloc::vec::Vec;

use super::{Entry, Epoch, FailReason, RefuseReason, Session, SessionAction, SessionEvent, SessionMessage, SubmitId};
use crate::{Instant, NodeId};

impl Session {
    /// `from` sent `message` (the node checked the frame's origin and authenticity).
    pub fn on_message(&mut self, now: Instant, from: NodeId, message: SessionMessage) {
        match message {
            SessionMessage::Submit { submit, payload } => self.on_submit(now, from, submit, payload),
            SessionMessage::Join { info } => self.on_join(now, from, info),
            SessionMessage::Leave => self.on_leave(now, from),
            SessionMessage::Entry(entry) => self.on_entry(now, from, entry),
            SessionMessage::Tip { epoch, last, tail } => self.on_tip(now, epoch, last, tail),
            SessionMessage::Roster { epoch, index, last, players, placed } => {
                if self.sequencer.is_some() {
                    self.adopt_roster(now, from, epoch, (index, last), players, &placed);
                } else {
                    self.on_roster(now, epoch, index, last, players);
                }
            }
            SessionMessage::RosterRequest { epoch } => self.on_roster_request(from, epoch),
            SessionMessage::StateRequest { epoch } => self.on_state_request(from, epoch),
            SessionMessage::StateReply { epoch, delivered, players, runs } => {
                self.on_state_reply(now, from, epoch, delivered, players, runs)
            }
            SessionMessage::Rebase { epoch, fork, last } => self.on_rebase(now, from, epoch, fork, last),
            SessionMessage::Begin { epoch, start } => self.on_begin(now, epoch, start),
            SessionMessage::Nack { from: first, to } => self.on_nack(now, from, first, to),
            SessionMessage::JoinRefused { reason } => {
                if matches!(self.membership, Membership::Joining { .. }) && self.next == 0 {
                    self.membership = Membership::Out;
                    self.actions.push_back(SessionAction::Event(SessionEvent::JoinFailed { reason }));
                }
            }
            SessionMessage::Refused { submit, reason } => self.on_refused(now, submit, reason),
            SessionMessage::SnapshotRequest { after, index, missing } => self.on_snapshot_request(now, from, after, index, missing),
            SessionMessage::SnapshotChunk { index, tail, total, size, number, data } => {
                self.on_snapshot_chunk(now, from, (index, tail), total, size, number, &data)
            }
            SessionMessage::NoSnapshot { after } => self.on_no_snapshot(now, from, after),
        }
        self.report_fork(now);
    }

    /// Whether tips and rosters of `epoch` are followed: the one the election named.
    pub(super) fn follows(&self, epoch: Epoch) -> bool {
        self.epoch == Some(epoch)
    }

    /// Whether `entry` may take its index here: the followed epoch's from its start on,
    /// from anyone (one sequencer placed them all); an older epoch's below that start
    /// (known from `Begin`) from the followed sequencer only, which serves the history it
    /// adopted (a player may hold another, forked one); or, while this node fetches as the
    /// new sequencer, up to what it fetches, from the member it fetches from.
    fn accepts(&self, from: NodeId, entry: &Entry) -> bool {
        let Some(current) = self.epoch else { return false };
        if let Some(seq) = &self.sequencer {
            return matches!(seq.phase, Phase::Fetching { target, from: source, .. }
                if entry.epoch < current && entry.index <= target && from == source);
        }
        if entry.epoch == current {
            return self.epoch_start.is_none_or(|s| entry.index >= s);
        }
        entry.epoch < current && from == current.sequencer && self.epoch_start.is_some_and(|s| entry.index < s)
    }

    /// An entry of the stream, from the sequencer or a repairing member.
    fn on_entry(&mut self, now: Instant, from: NodeId, entry: Entry) {
        if !self.accepts(from, &entry) {
            if self.sequencer.is_some() && entry.epoch == self.epoch.expect("a sequencer follows its epoch") {
                self.metrics.duplicate_entries += 1; // its own entry, coming back
            } else {
                self.metrics.wrong_epoch += 1;
            }
            return;
        }
        if self.sequencer.is_some() {
            // Fetching as the new sequencer: deliver in order, then ask for more or begin.
            if entry.index == self.next {
                self.deliver_in_order(now, entry);
            } else if entry.index > self.next {
                self.ahead.insert(entry.index, entry);
            }
            self.fetched(now);
            return;
        }
        if self.next == 0 {
            self.before_start(entry);
            return;
        }
        if entry.index < self.next || self.ahead.contains_key(&entry.index) {
            self.metrics.duplicate_entries += 1;
            // An entry this node holds under another epoch: the histories forked.
            if self.log.get(entry.index).is_some_and(|mine| mine.epoch != entry.epoch) {
                self.forked = true;
            }
            return;
        }
        if entry.index == self.next {
            self.deliver_in_order(now, entry);
            return;
        }
        self.hold_ahead(now, entry);
    }

    /// An entry while this node's history has not started (no roster yet): held for a
    /// moment while joining (it may follow the roster's index), ignored otherwise.
    fn before_start(&mut self, entry: Entry) {
        if matches!(self.membership, Membership::Joining { .. }) && self.ahead.len() < self.config.max_ahead {
            self.known_last = self.known_last.max(entry.index);
            self.ahead.insert(entry.index, entry);
        }
    }

    /// The player list as of `index`, for this joining node: its history starts after it,
    /// with its own `Joined` entry (or, when the list already holds this node, it is a
    /// player from there on).
    fn on_roster(&mut self, now: Instant, epoch: Epoch, index: u64, last: Option<Epoch>, players: Vec<(NodeId, Vec<u8>)>) {
        let joining = matches!(self.membership, Membership::Joining { .. });
        if !self.follows(epoch) || !joining || self.next != 0 {
            return;
        }
        let member = players.iter().any(|(id, _)| *id == self.me);
        self.players = players.into_iter().collect();
        self.next = index + 1;
        self.tail = last;
        self.known_last = self.known_last.max(index + u64::from(!member));
        self.ahead.retain(|&i, _| i > index);
        if member {
            self.membership = Membership::In;
            self.catch_up(now, index);
            self.emit(index, SessionEvent::Joined { index });
        }
        if let Some(first) = self.ahead.remove(&self.next) {
            self.deliver_in_order(now, first);
        } else if self.known_last >= self.next {
            self.gap.get_or_insert((now, None));
        } else {
            self.gap = None;
        }
    }

    /// An entry beyond a gap: held (bounded), and the gap's clock started.
    fn hold_ahead(&mut self, now: Instant, entry: Entry) {
        self.known_last = self.known_last.max(entry.index);
        if self.ahead.len() < self.config.max_ahead {
            self.ahead.insert(entry.index, entry);
        } else {
            self.metrics.dropped_ahead += 1;
        }
        self.gap.get_or_insert((now, None));
    }

    /// The sequencer's stream reaches `last`, of epoch `tail`: entries after this node's are
    /// missing, or (it holds entry `last` under another epoch) its history forked.
    fn on_tip(&mut self, now: Instant, epoch: Epoch, last: u64, tail: Option<Epoch>) {
        if !self.follows(epoch) || self.sequencer.is_some() || self.next == 0 {
            return;
        }
        if last >= self.next {
            self.known_last = self.known_last.max(last);
            self.gap.get_or_insert((now, None));
        } else if last > 0 {
            let mine = self.log.get(last).map(|e| e.epoch).or_else(|| (last + 1 == self.next).then_some(self.tail).flatten());
            if mine.is_some_and(|m| Some(m) != tail) {
                self.forked = true;
            }
        }
    }

    /// The sequencer refused a submit. "Not a member" while this node is joining (again,
    /// after a loss or a rebase) may predate its join: the submit waits for it, until its
    /// deadline. Any other refusal ends it.
    fn on_refused(&mut self, now: Instant, submit: SubmitId, reason: RefuseReason) {
        let Some(k) = self.pending.iter().position(|p| p.submit == submit) else { return };
        if reason == RefuseReason::NotMember && self.membership != Membership::Out {
            self.pending[k].retry_at = now + self.config.submit_retry;
            self.pending[k].refused = true;
            return;
        }
        self.pending.remove(k);
        self.fail(submit, FailReason::Refused(reason));
    }
}
