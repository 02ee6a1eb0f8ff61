//! What session state machines say to each other. The node frames them (one session id per
//! frame); here they are typed.

use alloc::vec::Vec;

use super::{Entry, Epoch, SubmitId};
use crate::NodeId;

/// Most epoch runs a [`SessionMessage::StateReply`] describes.
pub const MAX_RUNS: usize = 8;

/// Why a sequencer refused a submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefuseReason {
    /// The submitter is not a member of the session (it has not joined, or it left).
    NotMember,
    /// The payload is larger than the sequencer's [`super::SessionConfig::max_payload`] (a
    /// player info than its [`super::SessionConfig::max_info`]).
    TooLarge,
    /// The session has [`super::SessionConfig::max_players`] players already (joins only).
    Full,
}

/// One message between the members of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionMessage {
    /// Member → sequencer: place this event in the stream.
    Submit {
        /// The submitter's number for it.
        submit: SubmitId,
        /// The application's bytes.
        payload: Vec<u8>,
    },
    /// Member → sequencer: add me to the session.
    Join {
        /// The application's description of the player.
        info: Vec<u8>,
    },
    /// Member → sequencer: remove me.
    Leave,
    /// Sequencer → members (or a member → one member, repairing): one entry of the stream.
    Entry(Entry),
    /// Sequencer → a joining player: the player list as of entry `index` (its `Joined`
    /// entry or a later one). The joiner's history starts after it.
    Roster {
        /// The sequencer's epoch.
        epoch: Epoch,
        /// The entry the list is as of.
        index: u64,
        /// That entry's epoch (`None` when `index` is 0): the joiner's first entry must
        /// follow it.
        last: Option<Epoch>,
        /// Every player and its info, the joiner included.
        players: Vec<(NodeId, Vec<u8>)>,
        /// For a new sequencer that asked ([`SessionMessage::RosterRequest`]): each player's
        /// highest submit id in the sender's log, so that a retry of an event already
        /// placed is not placed again (empty for a joiner).
        placed: Vec<(NodeId, SubmitId)>,
    },
    /// A new sequencer that holds no history to extend → the member whose history it
    /// adopts: send the player list as of your last entry ([`SessionMessage::Roster`]); the
    /// new sequencer begins after it.
    RosterRequest {
        /// The new epoch.
        epoch: Epoch,
    },
    /// Sequencer → members: the stream's last entry so far, so that a member that lost the
    /// newest entries notices the gap.
    Tip {
        /// The sequencer's epoch.
        epoch: Epoch,
        /// Index of the last entry placed (0: none yet).
        last: u64,
        /// That entry's epoch (`None` when `last` is 0): a member that holds entry `last`
        /// under another epoch learns that its history forked.
        tail: Option<Epoch>,
    },
    /// A new sequencer → the partition: before placing anything, it asks how far each
    /// member has delivered.
    StateRequest {
        /// The new epoch.
        epoch: Epoch,
    },
    /// Member → new sequencer: the last index it delivered, and the shape of its history.
    /// Also sent unasked to the sequencer when the member finds that its history forked
    /// from the sequencer's (the sequencer answers with [`SessionMessage::Rebase`]).
    StateReply {
        /// The epoch asked for (the one the member follows).
        epoch: Epoch,
        /// Index of the last entry it delivered (0: none).
        delivered: u64,
        /// Players as of that entry (the merge rule prefers the history with more).
        players: u16,
        /// The epochs of its newest delivered entries, oldest first: each epoch and the
        /// first index of its run, up to `delivered` (at most [`MAX_RUNS`] runs).
        runs: Vec<(Epoch, u64)>,
    },
    /// New sequencer → the partition: it places from `start` on; entries of earlier epochs
    /// are accepted below `start` only.
    Begin {
        /// The new epoch.
        epoch: Epoch,
        /// The first index it places.
        start: u64,
    },
    /// Sequencer → a member whose history forked from its own: the two agree up to entry
    /// `fork`; the member undoes what it delivered after it and takes the sequencer's
    /// entries from `fork + 1` on (a [`super::SessionEvent::Rebased`]).
    Rebase {
        /// The sequencer's epoch.
        epoch: Epoch,
        /// The last index both histories hold alike; `None`: the sequencer's log cannot
        /// tell (the fork is older than it holds), and the member starts over as a joiner.
        fork: Option<u64>,
        /// The sequencer's last index, so the member knows what to repair.
        last: u64,
    },
    /// Member → sequencer: negative acknowledgement, send entries `from..to` again.
    Nack {
        /// First index missing.
        from: u64,
        /// One past the last index missing.
        to: u64,
    },
    /// Sequencer → joiner: this node will not be placed as a player.
    JoinRefused {
        /// Why.
        reason: RefuseReason,
    },
    /// Sequencer → submitter: this submit will not be placed.
    Refused {
        /// The submit.
        submit: SubmitId,
        /// Why.
        reason: RefuseReason,
    },
}
