//! What the election hands back: [`Action`]s (messages to send, events) and its counters.

use alloc::boxed::Box;

use super::{DenyReason, DoubleVoteEvidence, ElectionMessage, Signature};
use crate::NodeId;

/// A message signed by this node, ready to be framed (body: [`ElectionMessage::to_bytes`],
/// authentication trailer: the signature).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedMessage {
    /// The message.
    pub message: ElectionMessage,
    /// This node's signature over [`ElectionMessage::signing_bytes`] with itself as sender.
    pub signature: Signature,
}

/// One output of the election, drained with [`crate::election::Election::poll_action`].
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Flood this message to the whole component.
    Broadcast(SignedMessage),
    /// Send this message to one node.
    Send {
        /// The destination.
        to: NodeId,
        /// The message.
        message: SignedMessage,
    },
    /// Something happened.
    Event(ElectionEvent),
}

/// Why this node stopped being coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepDownReason {
    /// A message with a higher term arrived (a newer election, or a merge with a component
    /// whose coordinator has a higher term).
    HigherTerm,
    /// Check-quorum: not enough voters were heard from during one window, or (on a membership
    /// update) not enough voters are reachable.
    LostQuorum,
    /// A coordinator of the same term and view was heard (possible only when a voter voted
    /// twice): both step down and the better-ranked one campaigns for a new term.
    Conflict,
    /// This node's view changed (a node joined, left, or a partition healed): the term it was
    /// elected in was agreed for the old view, so it campaigns at once for a new term under
    /// the new one (see `view.rs`).
    ViewChanged,
}

/// Events, in the order they happened.
#[derive(Clone, Debug, PartialEq)]
pub enum ElectionEvent {
    /// `node` is the coordinator of `term` (this node itself, or one it now follows). Never
    /// emitted for two different nodes with the same term.
    CoordinatorElected {
        /// The term.
        term: u32,
        /// The coordinator.
        node: NodeId,
    },
    /// The coordinator this node knew for `term` is no longer (silent, unreachable, replaced
    /// by a newer term, or this node stepped down).
    CoordinatorLost {
        /// The term it coordinated.
        term: u32,
        /// The coordinator.
        node: NodeId,
    },
    /// This node stopped being coordinator of `term`.
    SteppedDown {
        /// The term it coordinated.
        term: u32,
        /// Why.
        reason: StepDownReason,
    },
    /// A voter signed two different ballots in one term. Its ballots of that term no longer
    /// count.
    DoubleVote {
        /// Both signed ballots (boxed: it is large and rare).
        evidence: Box<DoubleVoteEvidence>,
    },
    /// Lower the trust in `node` by `penalty` (trust is in 0.0..=1.0).
    TrustPenalty {
        /// The node.
        node: NodeId,
        /// How much.
        penalty: f32,
    },
}

/// Why a received message was rejected (not answered). Every rejection is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// It claims to come from this node.
    FromSelf,
    /// The sender runs the other election mode.
    ModeMismatch,
    /// No key is known for the sender.
    UnknownSigner,
    /// The signature does not match.
    BadSignature,
    /// A request whose candidate is not its sender.
    SenderMismatch,
    /// A ballot (granted vote) or pre-vote answer for a term other than the one being decided
    /// (forged, replayed, or merely late).
    WrongTerm,
    /// The sender is not a voter (not in the component / membership).
    NotMember,
    /// The candidate is 0 or the broadcast id.
    InvalidCandidate,
    /// A heartbeat, acknowledgement or grant for a view other than this node's
    /// ([`super::ViewDigest`]): its sender counts other voters, so it is not followed or counted.
    ViewMismatch,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 9] = [
        RejectReason::FromSelf,
        RejectReason::ModeMismatch,
        RejectReason::UnknownSigner,
        RejectReason::BadSignature,
        RejectReason::SenderMismatch,
        RejectReason::WrongTerm,
        RejectReason::NotMember,
        RejectReason::InvalidCandidate,
        RejectReason::ViewMismatch,
    ];
}

/// Counters of one election instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElectionMetrics {
    /// Pre-vote rounds started.
    pub pre_votes_started: u64,
    /// Elections started (term incremented by this node).
    pub elections_started: u64,
    /// Elections won.
    pub elections_won: u64,
    /// Real votes granted.
    pub votes_granted: u64,
    /// (Pre-)votes denied.
    pub votes_denied: u64,
    /// Times this node stepped down.
    pub step_downs: u64,
    /// Double votes detected.
    pub double_votes: u64,
    /// (Pre-)vote requests for another view, kept to be answered once the views match.
    pub requests_deferred: u64,
    /// View changes through which this node stayed coordinator (its electors still won the
    /// term under the new view).
    pub views_kept: u64,
    rejected: [u64; RejectReason::ALL.len()],
    denied: [u64; 5],
}

impl ElectionMetrics {
    /// Rejections for one reason.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason as usize]
    }

    /// Rejections over all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    pub(super) fn reject(&mut self, reason: RejectReason) {
        self.rejected[reason as usize] += 1;
    }

    /// (Pre-)votes this node denied for one reason.
    pub fn denied(&self, reason: DenyReason) -> u64 {
        self.denied[reason as usize - 1]
    }

    pub(super) fn deny(&mut self, reason: DenyReason) {
        self.votes_denied += 1;
        self.denied[reason as usize - 1] += 1;
    }
}

/// Sums counters, for totals over several nodes or incarnations.
impl core::ops::AddAssign<&ElectionMetrics> for ElectionMetrics {
    fn add_assign(&mut self, m: &ElectionMetrics) {
        self.pre_votes_started += m.pre_votes_started;
        self.elections_started += m.elections_started;
        self.elections_won += m.elections_won;
        self.votes_granted += m.votes_granted;
        self.votes_denied += m.votes_denied;
        self.step_downs += m.step_downs;
        self.double_votes += m.double_votes;
        self.requests_deferred += m.requests_deferred;
        self.views_kept += m.views_kept;
        for (t, n) in self.rejected.iter_mut().zip(m.rejected) {
            *t += n;
        }
        for (t, n) in self.denied.iter_mut().zip(m.denied) {
            *t += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_reason_has_its_counter() {
        let mut m = ElectionMetrics::default();
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            m.reject(*r);
        }
        assert_eq!(m.rejected_total(), RejectReason::ALL.len() as u64);
        assert_eq!(m.rejected(RejectReason::WrongTerm), 1);
    }

    #[test]
    fn sums_add_every_counter() {
        let mut a = ElectionMetrics { pre_votes_started: 1, double_votes: 2, ..Default::default() };
        a.reject(RejectReason::WrongTerm);
        let mut b = ElectionMetrics {
            pre_votes_started: 3,
            elections_won: 1,
            step_downs: 4,
            requests_deferred: 5,
            views_kept: 6,
            ..Default::default()
        };
        b.reject(RejectReason::WrongTerm);
        b.reject(RejectReason::NotMember);
        b.deny(DenyReason::StaleTerm);
        a += &b;
        assert_eq!((a.pre_votes_started, a.elections_won, a.step_downs, a.double_votes, a.votes_denied), (4, 1, 4, 2, 1));
        assert_eq!((a.rejected(RejectReason::WrongTerm), a.rejected(RejectReason::NotMember)), (2, 1));
        assert_eq!(a.denied(DenyReason::StaleTerm), 1);
        assert_eq!((a.requests_deferred, a.views_kept), (5, 6));
    }
}
