//! The nouns of a game session: its id, the epoch that names a sequencer, submit ids, and
//! the entries of the ordered stream.

use alloc::vec::Vec;

use crate::NodeId;

/// A game session, named by the application. Several sessions may share one mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// Who sequences: the coordinator elected for `term`. Epochs are ordered by term, then by
/// sequencer id, so that two coordinators that briefly coexist in one term (two partitions)
/// still name different, ordered epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch {
    /// The election term.
    pub term: u32,
    /// The coordinator of that term, which sequences.
    pub sequencer: NodeId,
}

/// A submitter's number for one of its submits: 1, 2, 3, … for each session it joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubmitId(pub u32);

/// Why a player left the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaveReason {
    /// It asked to leave.
    Left,
    /// The mesh lost it (its node became unreachable).
    Lost,
}

/// What one entry of the stream says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    /// A game event a player submitted.
    Event {
        /// The player that submitted it.
        submitter: NodeId,
        /// The submitter's number for it.
        submit: SubmitId,
        /// The application's bytes.
        payload: Vec<u8>,
    },
    /// A player joined; from this entry on it is a member.
    Joined {
        /// The player.
        player: NodeId,
        /// The application's description of the player (name, team, …).
        info: Vec<u8>,
    },
    /// A player left; from this entry on it is not a member.
    Left {
        /// The player.
        player: NodeId,
        /// Why.
        reason: LeaveReason,
    },
}

/// One entry of a session's ordered stream: every member delivers the same entries in the
/// same `index` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its place in the stream: 1, 2, 3, … without gaps.
    pub index: u64,
    /// The epoch of the sequencer that placed it.
    pub epoch: Epoch,
    /// The epoch of the entry before it in the sequencer's history (`None` for index 1).
    /// A member delivers an entry only after one of this epoch: two histories that hold an
    /// entry of the same index and epoch are the same up to it (Raft's log matching), so a
    /// member whose history forked from the sequencer's notices at the next entry.
    pub prev: Option<Epoch>,
    /// What it says.
    pub body: EntryBody,
}

impl Entry {
    /// The player the entry is about (submitter, joiner or leaver).
    pub fn player(&self) -> NodeId {
        match &self.body {
            EntryBody::Event { submitter, .. } => *submitter,
            EntryBody::Joined { player, .. } | EntryBody::Left { player, .. } => *player,
        }
    }

    /// Bytes of application data it holds (payload or player info), for the log's budget.
    pub fn data_len(&self) -> usize {
        match &self.body {
            EntryBody::Event { payload, .. } => payload.len(),
            EntryBody::Joined { info, .. } => info.len(),
            EntryBody::Left { .. } => 0,
        }
    }
}
