//! Input: a pre-vote or vote request. Decides grant or deny.
//!
//! Checks, in order (the first that applies decides):
//!
//! 1. This node is not a voter: no answer.
//! 2. The candidate is not a voter: deny [`DenyReason::NotMember`].
//! 3. Stale term (pre-vote: asked term ≤ ours; vote: asked term < ours): deny
//!    [`DenyReason::StaleTerm`], the answer carrying our term so the candidate catches up.
//! 4. Leader stickiness: a coordinator is alive (this node, or one heard within
//!    `election_timeout_min`) and the candidate does not outrank it by more than
//!    `takeover_margin_milli`: deny [`DenyReason::CoordinatorAlive`]. The term is not adopted.
//! 5. A vote request for a newer term: adopt it (a coordinator steps down, `HigherTerm`).
//!    The request is the candidate's ballot and goes into the double-vote book.
//! 6. Already voted for another candidate in this term: deny [`DenyReason::AlreadyVoted`]
//!    (a repeated request from the same candidate is granted again, identically).
//! 7. Priority preference: this node outranks the candidate (priority, then id) and has not
//!    failed `priority_denials` campaigns in a row: deny [`DenyReason::LowerPriority`] and
//!    campaign soon itself (within a quarter of `election_timeout_min`). In a component the
//!    top-ranked live node is never denied for priority, so it wins in the common case;
//!    because failed campaigns switch the objection off, a top node that cannot win (for
//!    example with one-way links) cannot block the others for ever.
//! 8. Grant. Pre-vote grants are sent to the candidate and change nothing. Vote grants are
//!    broadcast (every node sees every ballot: double votes are detectable), record the vote
//!    and restart the election timeout.

use core::time::Duration;

use rand_core::RngCore;

use super::{BallotSigner, BallotVerifier, DenyReason, Election, ElectionKind, ElectionMessage, Rank, Role, SignedBallot, Signature};
use crate::time::duration_micros;
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        from: NodeId,
        m: &ElectionMessage,
        signature: &Signature,
        pre_vote: bool,
        rng: &mut impl RngCore,
    ) {
        if !self.is_voter(self.me) {
            return;
        }
        if !self.is_voter(from) {
            return self.deny(from, pre_vote, m.term, DenyReason::NotMember);
        }
        let stale = if pre_vote { m.term <= self.term } else { m.term < self.term };
        if stale {
            return self.deny(from, pre_vote, self.term, DenyReason::StaleTerm);
        }
        let candidate = Rank::new(m.priority_milli, from);
        if self.lease_blocks(now, &candidate) {
            return self.deny(from, pre_vote, m.term, DenyReason::CoordinatorAlive);
        }
        if !pre_vote {
            if m.term > self.term {
                self.adopt_term(m.term, now, rng);
            }
            self.record_ballot(SignedBallot { voter: from, message: *m, signature: *signature });
            match self.voted_for {
                Some(v) if v == from => return self.grant_vote(now, from, rng),
                Some(_) => return self.deny(from, false, m.term, DenyReason::AlreadyVoted),
                None => {}
            }
        }
        if self.objects_on_priority(&candidate) {
            self.hurry(now, rng);
            return self.deny(from, pre_vote, m.term, DenyReason::LowerPriority);
        }
        if pre_vote {
            let v = self.message(ElectionKind::Vote { pre_vote: true, denied: None }, m.term, from);
            self.send(from, v);
        } else {
            self.grant_vote(now, from, rng);
        }
    }

    /// Whether a live coordinator protects the term against `candidate`.
    fn lease_blocks(&self, now: Instant, candidate: &Rank) -> bool {
        let Some(coordinator) = self.coordinator else { return false };
        if coordinator.node == candidate.node {
            return false;
        }
        let live = self.role == Role::Coordinator || now < self.last_contact + self.cfg.election_timeout_min;
        live && !candidate.outranks_by(&coordinator, self.cfg.takeover_margin_milli)
    }

    fn objects_on_priority(&self, candidate: &Rank) -> bool {
        self.failed_campaigns < self.cfg.priority_denials && self.my_rank() > *candidate
    }

    /// Campaigns soon: within a quarter of the minimum election timeout.
    fn hurry(&mut self, now: Instant, rng: &mut impl RngCore) {
        if self.role != Role::Follower {
            return;
        }
        let quarter = duration_micros(self.cfg.election_timeout_min) / 4;
        let soon = now + Duration::from_micros(rng.next_u64() % (quarter + 1));
        self.election_deadline = self.election_deadline.min(soon);
    }

    fn deny(&mut self, to: NodeId, pre_vote: bool, term: u32, reason: DenyReason) {
        self.metrics.votes_denied += 1;
        let v = self.message(ElectionKind::Vote { pre_vote, denied: Some(reason) }, term, to);
        self.send(to, v);
    }

    fn grant_vote(&mut self, now: Instant, candidate: NodeId, rng: &mut impl RngCore) {
        self.voted_for = Some(candidate);
        self.metrics.votes_granted += 1;
        self.reset_election_deadline(now, rng);
        let v = self.message(ElectionKind::Vote { pre_vote: false, denied: None }, self.term, candidate);
        let s = self.broadcast(v);
        self.record_own_ballot(s);
    }
}
