//! Coordinator election.
//!
//! Raft-style roles ([`Role`]: follower, pre-candidate, candidate, coordinator) and terms,
//! with seeded randomised election timeouts, **pre-vote** (a node that cannot win does not
//! disturb the term), coordinator heartbeats and **check-quorum**. On top of Raft:
//!
//! * **Priority** ([`PriorityInputs`], weighed as the seed does): voters prefer higher-ranked
//!   candidates (see `handle_request.rs`), and a live coordinator can be replaced only by a
//!   candidate outranking it by a margin — so the top node of a component wins in the common
//!   case, without livelock.
//! * **Two modes** ([`ElectionMode`]): per-partition (a majority of the component) or quorum
//!   (a majority of the configured membership).
//! * **Views** ([`ViewDigest`]): a vote agrees to the voter set as well as the term, so nodes
//!   with the same view never follow two coordinators of one term, and in quorum mode (one
//!   view everywhere) no two nodes do (see `view.rs` and `docs/PROTOCOL.md` §6.7).
//! * **Signed ballots** ([`BallotSigner`], [`BallotVerifier`]); forged messages are rejected
//!   and counted by [`RejectReason`]; double votes produce [`DoubleVoteEvidence`] and a trust
//!   penalty; Byzantine mode needs `2f+1` votes (`f = n/3`), and enough that two winning
//!   sets share an honest voter ([`Election::threshold`]).
//! * **Merge after heal**: a coordinator whose view changes steps down and campaigns at once
//!   for the next term under the merged view (see `handle_membership.rs`); the higher term
//!   wins (see `handle_heartbeat.rs`).
//! * **Multi-hop pacing**: a follower of a live coordinator waits a lease several
//!   heartbeats long ([`ElectionConfig::lease_timeout_min`]) while a node without one
//!   campaigns after the short election timeout; nodes stand aside while a better-ranked
//!   campaign they heard is running (for a bounded time), and a large component's vote round
//!   gets more time ([`ElectionConfig::vote_round_per_member`]). Without these, in a
//!   50-node BLE mesh every node's timeout started a campaign of its own and the flooded
//!   requests and answers saturated the radio: no coordinator was ever elected.
//!
//! # Driving it from the node
//!
//! * Create one [`Election`] with the node's id, its priority
//!   ([`PriorityInputs::priority_milli`]), a [`BallotSigner`] / [`BallotVerifier`] and the
//!   node's PRNG; call [`Election::on_membership`] with this node's component (for example
//!   from [`crate::partition::Components::component_of`]) whenever the topology changes.
//! * [`Action::Broadcast`]: flood a `Kind::Election` frame to the component (vote grants are
//!   broadcast on purpose, so double votes are visible). [`Action::Send`]: unicast to `to`.
//!   Body: [`ElectionMessage::to_bytes`]; authentication trailer: the 64-byte signature.
//! * On receipt: [`ElectionMessage::from_body`] on the parsed body, then
//!   [`Election::on_message`] with the frame's origin and the trailer's signature.
//! * Call [`Election::on_timeout`] at [`Election::next_deadline`].
//!
//! Layout, one concept per file: `config`, `priority`, `message` (wire conversion),
//! `signing`, `ballots` (double-vote book), `view` (what a vote agrees to), `output` (actions,
//! events, metrics), `state`
//! (the state machine and shared transitions), and one `handle_*` file per input.

mod ballots;
mod config;
mod handle_heartbeat;
mod handle_membership;
mod handle_message;
mod handle_request;
mod handle_timeout;
mod handle_vote;
mod message;
mod output;
mod priority;
mod signing;
mod state;
mod view;

pub use ballots::{DoubleVoteEvidence, SignedBallot};
pub use config::{ElectionConfig, ElectionMode};
pub use message::{DecodeError, DenyReason, ElectionKind, ElectionMessage, PRE_VOTE_FLAG, SIGNING_LEN};
pub use output::{Action, ElectionEvent, ElectionMetrics, RejectReason, SignedMessage, StepDownReason};
pub use priority::{PriorityInputs, Rank};
pub use signing::{
    BallotSigner, BallotVerifier, Signature, TestKeys, TestSigner, TestVerifier, Verification, sign_message,
    verify_message,
};
pub use state::{Election, Role};
pub use view::ViewDigest;

#[cfg(test)]
mod vote_tests;
#[cfg(test)]
mod campaign_tests;
#[cfg(test)]
mod coordinator_tests;
#[cfg(test)]
mod view_tests;
#[cfg(test)]
mod test_support;
#[cfg(all(test, feature = "std"))]
mod sim_tests;
#[cfg(all(test, feature = "std"))]
mod prop_tests;
