//! Input: an answer to a (pre-)vote request.
//!
//! * A [`DenyReason::StaleTerm`] denial carrying a newer term makes this node adopt that term
//!   (as a follower): its campaign cannot succeed.
//! * A pre-vote grant counts for this node's pre-vote round if it is a pre-candidate and the
//!   grant is for `term + 1`; with enough grants, the election starts.
//! * A real grant is a signed ballot. It must be for the current term
//!   ([`RejectReason::WrongTerm`] otherwise) from a voter ([`RejectReason::NotMember`]); it
//!   goes into the double-vote book whoever the candidate is, counts for this node's
//!   campaign when it names this node, and counts as contact for check-quorum when this
//!   node is coordinator.
//! * A grant counts only when it carries this node's view ([`RejectReason::ViewMismatch`]
//!   otherwise, see `view.rs`).
//! * Other denials change nothing.

use rand_core::RngCore;

use super::state::insert_sorted;
use super::{
    BallotSigner, BallotVerifier, DenyReason, Election, ElectionEvent, ElectionMessage, RejectReason, Role, SignedBallot,
    Signature,
};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_vote(
        &mut self,
        now: Instant,
        from: NodeId,
        m: &ElectionMessage,
        signature: &Signature,
        pre_vote: bool,
        denied: Option<DenyReason>,
        rng: &mut impl RngCore,
    ) {
        match denied {
            Some(DenyReason::StaleTerm) if m.candidate == self.me && m.term > self.term && self.is_voter(from) => {
                return self.adopt_term(m.term, now, rng);
            }
            Some(_) => return,
            None => {}
        }
        if pre_vote {
            if self.role != Role::PreCandidate || m.candidate != self.me {
                return; // a late answer to an earlier round
            }
            if m.term != self.term.saturating_add(1) {
                return self.metrics.reject(RejectReason::WrongTerm);
            }
            if !self.is_voter(from) {
                return self.metrics.reject(RejectReason::NotMember);
            }
            if m.view != self.view {
                return self.metrics.reject(RejectReason::ViewMismatch);
            }
            insert_sorted(&mut self.grants, from);
            return self.check_campaign(now, rng);
        }
        if m.term != self.term {
            return self.metrics.reject(RejectReason::WrongTerm);
        }
        if !self.is_voter(from) {
            return self.metrics.reject(RejectReason::NotMember);
        }
        self.record_ballot(SignedBallot { voter: from, message: *m, signature: *signature });
        if m.candidate != self.me || self.book.is_convicted(from) {
            return;
        }
        if m.view != self.view {
            // Granted for the view this node asked under before its view changed: this node
            // has asked again under the new one (`handle_membership.rs`).
            return self.metrics.reject(RejectReason::ViewMismatch);
        }
        match self.role {
            Role::Candidate => {
                insert_sorted(&mut self.grants, from);
                self.check_campaign(now, rng);
            }
            Role::Coordinator => insert_sorted(&mut self.heard, from),
            _ => {}
        }
    }

    /// Puts a verified ballot in the book; a double vote is reported with its evidence and a
    /// trust penalty.
    pub(super) fn record_ballot(&mut self, ballot: SignedBallot) {
        if let Some(evidence) = self.book.record(ballot) {
            self.metrics.double_votes += 1;
            let node = evidence.voter;
            self.emit(ElectionEvent::DoubleVote { evidence: alloc::boxed::Box::new(evidence) });
            self.emit(ElectionEvent::TrustPenalty { node, penalty: self.cfg.double_vote_penalty });
        }
    }
}
