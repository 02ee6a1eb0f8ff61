//! Game sessions: the coordinator of a partition sequences its players' game events into one
//! ordered stream that every player delivers in the same order.
//!
//! A [`Session`] is one node's part in one session ([`SessionId`], named by the
//! application): as a **member** it submits events ([`Session::submit`]) and delivers the
//! stream's [`Entry`]s in index order ([`SessionAction::Deliver`]); while the election names
//! it its partition's coordinator it is also the **sequencer**: it gives each submit, join
//! and leave the next index under its [`Epoch`] (the election term and itself) and streams
//! the entry to the partition.
//!
//! * **Order.** Indices are contiguous; a member delivers index `n` only after `n − 1`. An
//!   entry beyond a gap is held ([`SessionConfig::max_ahead`]) while the gap is asked for.
//! * **Repair.** A gap older than [`SessionConfig::repair_delay`] is asked for with a
//!   negative acknowledgement ([`SessionMessage::Nack`]); the sequencer answers from its
//!   bounded [`Log`]. Lost newest entries are revealed by the sequencer's [`SessionMessage::Tip`],
//!   sent after a quiet [`SessionConfig::tip_delay`] and then every
//!   [`SessionConfig::tip_interval`].
//! * **Submits end.** Every submit ends in exactly one of [`SessionEvent::Sequenced`] (the
//!   submitter delivered its own event) or [`SessionEvent::SubmitFailed`] (timeout, refused,
//!   left), never silence. A submit not yet seen is sent again every
//!   [`SessionConfig::submit_retry`]; the sequencer places each `(submitter, submit id)` once.
//! * **Membership is in the stream.** Joins and leaves are entries too, so every member has
//!   the same player list at the same index ([`Session::players`]). A joining node's
//!   history starts at its own `Joined` entry.
//! * **Epochs and hand-over.** Entries and tips are accepted from the epoch the election
//!   named ([`Session::on_coordinator`]), and from earlier epochs only below the index the
//!   new one began at, and only from the new sequencer. A new sequencer first asks the
//!   members how far they delivered, adopts one history (the longest, unless they forked),
//!   fetches what it lacks of it, and begins after it (`handle_handover.rs`), so within one
//!   history an entry any answering member delivered keeps its index.
//! * **One history per epoch, and merges.** Each entry names the epoch of the entry before
//!   it ([`Entry::prev`]); a member delivers only an entry that follows its own last, so two
//!   members that hold an entry of the same index and epoch agree up to it. When partitions
//!   that sequenced apart merge, the history of the side with more players wins (the rule is
//!   in `handle_merge.rs`); a member of the other side finds out from the stream, is told
//!   the fork ([`SessionMessage::Rebase`]), undoes what it delivered after it
//!   ([`SessionEvent::Rebased`], for a game to roll back), submits its own undone events
//!   again and takes the winner's entries.
//! * **Losses.** A player the sequencer's partition no longer holds for
//!   [`SessionConfig::lost_grace`] is placed as lost ([`Session::on_partition`]); a player
//!   that sees itself lost asks to join again ([`SessionEvent::Lost`]).
//! * **Repair sources.** A gap is asked of the sequencer, then in turn of the other players
//!   and of earlier sequencers, alternating with the sequencer.
//! * **Catch-up.** A node that joins (or joins again after a restart) gets its game's state
//!   as a snapshot another player's application provides ([`SessionEvent::SnapshotWanted`],
//!   [`Session::provide_snapshot`]), sent in chunks, then the entries after it
//!   ([`SessionAction::Snapshot`]); `handle_snapshot.rs`.
//!
//! The node drives its sessions (`Node::join_session`, `Node::submit`, frames of kind
//! `Session`, `docs/PROTOCOL.md` §6.10). Not yet guaranteed, and next (`docs/PERFORMANCE.md`
//! has the simulator's count): a restarted node elected again in the same term reuses its
//! old epoch (the epoch needs the node's incarnation). Then entries signed by their
//! sequencer on secured meshes
//! (today a session frame is authenticated by the network key only, `docs/SECURITY.md`).
//!
//! Layout, one concept per file: `types` (ids and entries), `config`, `log`, `message`,
//! `output` (actions, events, counters), `state` (the machine and the transitions the
//! handlers share), and one `handle_*` file per input: `handle_submit` (the application's
//! calls, the election's, and the sequencer's placing), `handle_entry` (messages in, the
//! member's stream), `handle_handover`, `handle_merge` (forks and rebases), `handle_loss`,
//! `handle_repair`, `handle_snapshot` (with its nouns in `snapshot`), `handle_timeout`.

mod config;
mod handle_entry;
mod handle_handover;
mod handle_loss;
mod handle_merge;
mod handle_repair;
mod handle_snapshot;
mod handle_submit;
mod handle_timeout;
mod log;
mod message;
mod output;
mod snapshot;
mod state;
mod types;

pub use config::{SessionConfig, SessionConfigError};
pub use handle_submit::SubmitError;
pub use log::Log;
pub use message::{MAX_CHUNKS, MAX_RUNS, RefuseReason, SessionMessage};
pub use output::{FailReason, SessionAction, SessionEvent, SessionMetrics};
pub use snapshot::SnapshotError;
pub use state::Session;
pub use types::{Entry, EntryBody, Epoch, LeaveReason, SessionId, SubmitId};

#[cfg(test)]
mod sequence_tests;
#[cfg(test)]
mod repair_tests;
#[cfg(test)]
mod handover_tests;
#[cfg(test)]
mod merge_tests;
#[cfg(test)]
#[cfg(test)]
mod snapshot_tests;
