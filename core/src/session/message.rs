//! What session state machines say to each other. The node frames them (one session id per
//! frame); here they are typed.

use alloc::vec::Vec;

use super::{Entry, Epoch, SubmitId};
use crate::NodeId;

/// Most epoch runs a [`SessionMessage::StateReply`] describes.
pub const MAX_RUNS: usize = 8;

/// Most chunks one snapshot travels in ([`SessionMessage::SnapshotChunk`]): a catching-up
/// player asks for the missing ones with one 64-bit mask.
pub const MAX_CHUNKS: usize = 64;

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
    /// A player catching up → a player that holds the game's state: send a snapshot of your
    /// application's state as of entry `after` or a later one (`index` 0), or (`index` not
    /// 0) the chunks of snapshot `index` that `missing` lists.
    SnapshotRequest {
        /// The oldest index the snapshot may be as of (the catching-up player's history
        /// starts after it).
        after: u64,
        /// The snapshot whose chunks are asked for again; 0 for a new one.
        index: u64,
        /// The chunks asked for again, one bit each (bit `n`: chunk `n`); 0 for a new one.
        missing: u64,
    },
    /// A player → a player catching up: one chunk of a snapshot of the application's state
    /// as of entry `index` (chunks of `size` bytes, the last one shorter, at most
    /// [`MAX_CHUNKS`]).
    SnapshotChunk {
        /// The entry the state is as of.
        index: u64,
        /// That entry's epoch: the receiver takes the snapshot only if it holds entry
        /// `index` under the same epoch (the same history).
        tail: Epoch,
        /// Bytes of the whole snapshot.
        total: u32,
        /// Bytes of every chunk but the last.
        size: u16,
        /// This chunk's number, from 0.
        number: u8,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A player → a player catching up: no snapshot as of `after` or later here (not a
    /// player, behind, catching up itself, or its application did not provide one): ask
    /// another.
    NoSnapshot {
        /// The `after` asked for.
        after: u64,
    },
    /// Sequencer → submitter: this submit will not be placed.
    Refused {
        /// The submit.
        submit: SubmitId,
        /// Why.
        reason: RefuseReason,
    },
}
