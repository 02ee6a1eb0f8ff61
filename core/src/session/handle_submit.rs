//! The application's calls (join, leave, submit), the election's (a coordinator named),
//! and the sequencer's side of them: placing submits, joins and leaves in the stream.

use alloc::vec::Vec;

use super::state::{Membership, Pending, Phase};
use super::{Entry, EntryBody, Epoch, FailReason, LeaveReason, RefuseReason, Session, SessionAction, SessionEvent, SessionMessage, SubmitId};
use crate::{Instant, NodeId};

/// Why [`Session::submit`] or [`Session::join`] refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// This node is not a player (it has not joined, or left).
    NotJoined,
    /// Larger than [`super::SessionConfig::max_payload`] (a player info than
    /// [`super::SessionConfig::max_info`]).
    TooLarge,
    /// [`super::SessionConfig::max_pending`] submits are already waiting.
    TooManyPending,
    /// This node is a player whose game still waits for the snapshot it starts from
    /// ([`super::Session::is_catching_up`]).
    CatchingUp,
}

impl core::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SubmitError::NotJoined => "not a player of this session",
            SubmitError::TooLarge => "payload larger than the session's max_payload",
            SubmitError::TooManyPending => "too many submits waiting to be sequenced",
            SubmitError::CatchingUp => "still catching up from a snapshot",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SubmitError {}

impl Session {
    /// The election named `epoch`'s sequencer as this node's coordinator, or (`None`) lost it.
    /// Waiting submits and a waiting join go to the new sequencer at once.
    pub fn on_coordinator(&mut self, now: Instant, epoch: Option<Epoch>) {
        if self.epoch == epoch {
            return;
        }
        self.epoch = epoch;
        self.epoch_start = None;
        self.sequencer = None;
        self.forked = false;
        self.fork_reported = None;
        if let Some(e) = epoch.filter(|e| e.sequencer == self.me) {
            self.start_handover(now, e);
        }
        if epoch.is_some() {
            self.pending.iter_mut().for_each(|p| p.retry_at = now);
            if let Membership::Joining { retry_at, .. } = &mut self.membership {
                *retry_at = now;
            }
            self.on_timeout(now);
        }
    }

    /// Asks to play, described to the others by `info` (at most
    /// [`super::SessionConfig::max_info`] bytes). The node is a player once its `Joined`
    /// entry is delivered ([`SessionEvent::Joined`]); entries before it are not its.
    pub fn join(&mut self, now: Instant, info: &[u8]) -> Result<(), SubmitError> {
        if info.len() > self.config.max_info {
            return Err(SubmitError::TooLarge);
        }
        if self.membership != Membership::Out {
            return Ok(());
        }
        self.membership = Membership::Joining { info: info.to_vec(), retry_at: now + self.config.submit_retry };
        self.send_to_sequencer(now, SessionMessage::Join { info: info.to_vec() });
        Ok(())
    }

    /// Stops playing: nothing more is delivered, waiting submits fail with
    /// [`FailReason::Left`], and the sequencer is told (best effort).
    pub fn leave(&mut self, now: Instant) {
        if self.membership == Membership::Out {
            return;
        }
        self.membership = Membership::Out;
        self.cancel_catchup();
        self.wanted = None;
        for p in core::mem::take(&mut self.pending) {
            self.fail(p.submit, FailReason::Left);
        }
        self.send_to_sequencer(now, SessionMessage::Leave);
    }

    /// Submits a game event. It ends in exactly one of [`SessionEvent::Sequenced`] (it was
    /// placed and delivered here) or [`SessionEvent::SubmitFailed`].
    pub fn submit(&mut self, now: Instant, payload: &[u8]) -> Result<SubmitId, SubmitError> {
        if self.membership != Membership::In {
            return Err(SubmitError::NotJoined);
        }
        if self.catchup.is_some() {
            return Err(SubmitError::CatchingUp);
        }
        if payload.len() > self.config.max_payload {
            return Err(SubmitError::TooLarge);
        }
        if self.pending.len() >= self.config.max_pending {
            return Err(SubmitError::TooManyPending);
        }
        self.last_submit = self.last_submit.wrapping_add(1).max(1);
        let submit = SubmitId(self.last_submit);
        let deadline = now + self.config.submit_timeout;
        let retry_at = now + self.config.submit_retry;
        self.pending.push_back(Pending { submit, payload: payload.to_vec(), deadline, retry_at, refused: false });
        self.send_to_sequencer(now, SessionMessage::Submit { submit, payload: payload.to_vec() });
        Ok(submit)
    }

    /// A submit of this node will never be placed.
    pub(super) fn fail(&mut self, submit: SubmitId, reason: FailReason) {
        self.metrics.submits_failed += 1;
        self.actions.push_back(SessionAction::Event(SessionEvent::SubmitFailed { submit, reason }));
    }

    /// Sequencer: `from` submitted `payload` as `submit`.
    pub(super) fn on_submit(&mut self, now: Instant, from: NodeId, submit: SubmitId, payload: Vec<u8>) {
        let Some(seq) = self.sequencer.as_mut().filter(|s| s.phase == Phase::Active) else {
            self.metrics.not_sequencer += 1;
            return;
        };
        let refuse = if !self.players.contains_key(&from) {
            Some(RefuseReason::NotMember)
        } else if payload.len() > self.config.max_payload {
            Some(RefuseReason::TooLarge)
        } else {
            None
        };
        if let Some(reason) = refuse {
            self.send_or_handle(now, from, SessionMessage::Refused { submit, reason });
            return;
        }
        if !seq.placed.entry(from).or_default().insert(submit) {
            self.metrics.duplicate_submits += 1;
            return;
        }
        self.place(now, EntryBody::Event { submitter: from, submit, payload });
    }

    /// Sequencer: `from` asks to join. It is placed, and the joiner is sent the player list
    /// as of the entry before its `Joined` entry ([`SessionMessage::Roster`]): its history
    /// starts at its own `Joined` entry, which it then delivers and keeps for others' repairs.
    /// Asked again (the roster was lost), it gets the list as of the stream's last entry,
    /// itself included, and its history starts after that.
    pub(super) fn on_join(&mut self, now: Instant, from: NodeId, info: Vec<u8>) {
        let Some(seq) = self.sequencer.as_ref().filter(|s| s.phase == Phase::Active) else {
            self.metrics.not_sequencer += 1;
            return;
        };
        let epoch = seq.epoch;
        let before = seq.next_index - 1;
        let roster = if self.players.contains_key(&from) {
            SessionMessage::Roster { epoch, index: before, last: self.tail, players: self.roster_players(), placed: Vec::new() }
        } else {
            let refuse = if info.len() > self.config.max_info {
                Some(RefuseReason::TooLarge)
            } else if self.players.len() >= self.config.max_players {
                Some(RefuseReason::Full)
            } else {
                None
            };
            if let Some(reason) = refuse {
                self.send_or_handle(now, from, SessionMessage::JoinRefused { reason });
                return;
            }
            let roster = SessionMessage::Roster { epoch, index: before, last: self.tail, players: self.roster_players(), placed: Vec::new() };
            self.place(now, EntryBody::Joined { player: from, info });
            roster
        };
        if from != self.me {
            self.actions.push_back(SessionAction::Send { to: from, message: roster });
        }
    }

    /// Sequencer: `from` leaves.
    pub(super) fn on_leave(&mut self, now: Instant, from: NodeId) {
        if !self.is_sequencer() {
            self.metrics.not_sequencer += 1;
            return;
        }
        if self.players.contains_key(&from) {
            self.place(now, EntryBody::Left { player: from, reason: LeaveReason::Left });
        }
    }

    /// Sequencer: places `body` at the next index, streams it and delivers it here.
    pub(super) fn place(&mut self, now: Instant, body: EntryBody) {
        let seq = self.sequencer.as_mut().expect("only a sequencer places");
        let entry = Entry { index: seq.next_index, epoch: seq.epoch, prev: self.tail, body };
        seq.next_index += 1;
        seq.tip_at = now + self.config.tip_delay;
        self.metrics.sequenced += 1;
        self.actions.push_back(SessionAction::Broadcast(SessionMessage::Entry(entry.clone())));
        if self.next == 0 {
            self.next = entry.index;
        }
        self.deliver_in_order(now, entry);
    }

    /// Sends `message` to `to`, or handles it here when `to` is this node.
    pub(super) fn send_or_handle(&mut self, now: Instant, to: NodeId, message: SessionMessage) {
        if to == self.me {
            self.on_message(now, to, message);
        } else {
            self.actions.push_back(SessionAction::Send { to, message });
        }
    }
}
