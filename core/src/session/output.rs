//! What a session hands back: [`SessionAction`]s (messages to send, entries to deliver,
//! events) and its counters.

use crate::NodeId;

use super::{Entry, RefuseReason, SessionMessage, SubmitId};

/// One output of a session, drained with [`super::Session::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionAction {
    /// Flood this message to the partition (every member hears it; others relay it).
    Broadcast(SessionMessage),
    /// Send this message to one node.
    Send {
        /// The destination.
        to: NodeId,
        /// The message.
        message: SessionMessage,
    },
    /// Hand this entry to the game: the next one of the stream, in index order.
    Deliver(Entry),
    /// Hand this snapshot to the game: its state as of entry `index`, which another player's
    /// application provided ([`super::Session::provide_snapshot`]). It comes before any
    /// entry this node's game is handed after it joined; the entries after `index` follow.
    Snapshot {
        /// The entry the state is as of.
        index: u64,
        /// The application's bytes.
        data: alloc::vec::Vec<u8>,
    },
    /// Something happened.
    Event(SessionEvent),
}

/// Why a submit failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// Not seen in the stream within [`super::SessionConfig::submit_timeout`] (no sequencer
    /// answered: none elected, unreachable, or the submits and entries were lost).
    Timeout,
    /// The sequencer refused it.
    Refused(RefuseReason),
    /// This node left the session before it was placed.
    Left,
}

/// Events of a session, in the order they happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// This node's submit was placed in the stream at `index` (and delivered here).
    Sequenced {
        /// The submit.
        submit: SubmitId,
        /// Its place.
        index: u64,
    },
    /// This node's submit will never be placed.
    SubmitFailed {
        /// The submit.
        submit: SubmitId,
        /// Why.
        reason: FailReason,
    },
    /// The sequencer refused this node's join; it is not a player (join again to retry).
    JoinFailed {
        /// Why.
        reason: RefuseReason,
    },
    /// The sequencer placed this node's `Left` entry at `index` with
    /// [`super::LeaveReason::Lost`] (its partition lost this node for a while): nothing
    /// after it is delivered until this node is a player again, which it asks for at once
    /// with its old player info ([`SessionEvent::Joined`] follows).
    Lost {
        /// The `Left` entry's place.
        index: u64,
    },
    /// This node's history forked from the sequencer's after entry `fork` (two partitions
    /// sequenced apart and merged, and the other history won): the `undone` entries it
    /// delivered after `fork` are undone, newest first, and the sequencer's entries from
    /// `fork + 1` on follow — a game rolls back to `fork` and applies them, as rollback
    /// netcode does. This node's own events among the undone are submitted again (their
    /// [`SessionEvent::Sequenced`] or [`SessionEvent::SubmitFailed`] comes anew). `fork` 0
    /// with this node no longer a player: the fork was older than the sequencer's log; it
    /// joins afresh, its history starting where its join places it, and its own undone
    /// events are void (`resubmitted` 0: whether the other history holds them cannot be
    /// told, and submitting them again could place them twice).
    Rebased {
        /// The last index both histories hold alike.
        fork: u64,
        /// Entries undone.
        undone: u64,
        /// This node's own events among them, submitted again.
        resubmitted: u64,
    },
    /// This node's own `Joined` entry was delivered at `index`: it is a member from there on.
    /// With snapshots on ([`super::SessionConfig::max_snapshot`]) and other players before
    /// it, it comes after the [`SessionAction::Snapshot`] the node caught up from.
    Joined {
        /// Its place.
        index: u64,
    },
    /// A player catching up asks for a snapshot of this game's state as of entry `after` or
    /// later: call [`super::Session::provide_snapshot`] (`Node::provide_snapshot`) with the
    /// index of the last entry the game applied and its state. Not providing one is allowed;
    /// the player then asks another.
    SnapshotWanted {
        /// The oldest index the snapshot may be as of.
        after: u64,
    },
    /// No player provided a snapshot within [`super::SessionConfig::snapshot_timeout`]: this
    /// node plays on without the state before entry `from` (the first entry handed to the
    /// game after this event).
    NoSnapshot {
        /// The first entry that follows.
        from: u64,
    },
}

/// Counters of one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionMetrics {
    /// Entries delivered.
    pub delivered: u64,
    /// Entries placed while this node sequenced.
    pub sequenced: u64,
    /// Entries received twice (already delivered, or already held ahead of a gap).
    pub duplicate_entries: u64,
    /// Entries of an epoch other than the one this node follows, dropped.
    pub wrong_epoch: u64,
    /// Entries too far ahead of a gap to hold, dropped (repaired later).
    pub dropped_ahead: u64,
    /// Negative acknowledgements sent.
    pub nacks_sent: u64,
    /// Entries sent again for others' negative acknowledgements.
    pub repaired: u64,
    /// Entries asked for that the log no longer held.
    pub repair_unavailable: u64,
    /// Submits sent again (no entry seen yet).
    pub submit_retries: u64,
    /// Submits received a second time and not placed again.
    pub duplicate_submits: u64,
    /// Messages for the sequencer received while this node did not sequence.
    pub not_sequencer: u64,
    /// This node's submits that failed.
    pub submits_failed: u64,
    /// Hand-overs this node began as the new sequencer.
    pub handovers: u64,
    /// Hand-overs that began without every entry a member reported delivered (the member
    /// holding them stopped answering).
    pub handovers_incomplete: u64,
    /// Players placed as lost: the partition no longer held them.
    pub players_lost: u64,
    /// Entries dropped because they did not follow this node's history (a fork, reported
    /// to the sequencer).
    pub forked_entries: u64,
    /// Rebases: this node undid entries after a fork and took the sequencer's history.
    pub rebases: u64,
    /// Entries undone by rebases.
    pub undone: u64,
    /// A new epoch began below what this node had delivered (it delivered entries the new
    /// sequencer never heard of: a partition; resolved by the merge rule).
    pub diverged: u64,
    /// Snapshots this node's application provided.
    pub snapshots_provided: u64,
    /// Snapshot chunks sent to players catching up.
    pub snapshot_chunks_sent: u64,
    /// Snapshot requests answered "none here".
    pub snapshots_refused: u64,
    /// Snapshots this node caught up from.
    pub snapshots_installed: u64,
    /// Snapshots received whole but not taken: of another history than this node's, or so
    /// old that the entries after them were no longer held (a fresher one is asked for).
    pub snapshots_discarded: u64,
    /// Catch-ups that ended without a snapshot ([`SessionEvent::NoSnapshot`]).
    pub snapshots_missed: u64,
}
