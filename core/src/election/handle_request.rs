//! Input: a pre-vote or vote request. Decides grant or deny.
//!
//! Checks, in order (the first that applies decides):
//!
//! 1. This node is not a voter: no answer.
//! 2. The candidate is not a voter: deny [`DenyReason::NotMember`].
//! 3. (A follower asked by its own coordinator, for a later term, forgets it: the
//!    coordinator stepped down, and its lease must not block the next election.)
//!    Stale term (pre-vote: asked term ≤ ours; vote: asked term < ours): deny
//!    [`DenyReason::StaleTerm`], the answer carrying our term so the candidate catches up.
//!    View: the candidate's [`super::ViewDigest`] is not this node's: no answer now; the
//!    request is kept (the latest per candidate, for `election_timeout_max`) and answered
//!    from step 4 on when this node's view changes to the candidate's (see `view.rs`).
//! 4. Leader stickiness: a coordinator is alive (this node, or one heard within one and a
//!    half heartbeat intervals, at least `election_timeout_min`) and the candidate does not outrank it by more than
//!    `takeover_margin_milli`: deny [`DenyReason::CoordinatorAlive`]. The term is not adopted.
//!    Otherwise the request is remembered as a running campaign if it is the best-ranked
//!    one heard (`Rival` in `state.rs`).
//! 5. A vote request for a newer term: adopt it (a coordinator steps down, `HigherTerm`).
//!    The request is the candidate's ballot and goes into the double-vote book.
//! 6. Already voted for another candidate in this term: deny [`DenyReason::AlreadyVoted`]
//!    (a repeated request from the same candidate is granted again, identically).
//! 7. Priority preference, while this node has not failed `priority_denials` campaigns in a
//!    row: this node, or a running campaign it heard, outranks the candidate (priority,
//!    then id): deny [`DenyReason::LowerPriority`]. If this node is the best-ranked of them,
//!    it campaigns soon itself (within a quarter of `election_timeout_min`). In a component
//!    the top-ranked live node is never denied for priority, so it wins in the common case;
//!    because failed campaigns switch the objection off, and a campaign stops being deferred
//!    to after `priority_denials + 1` full rounds, a top node that cannot win (for example with
//!    one-way links) cannot block the others for ever.
//! 8. Grant. Pre-vote grants are sent to the candidate and change nothing, except that a
//!    pre-candidate granting a better-ranked candidate abandons its own round (its timeout
//!    restarts): in a multi-hop mesh, dozens of simultaneous rounds would saturate the
//!    radio. Vote grants are broadcast (every node sees every ballot: double votes are
//!    detectable), record the vote and restart the election timeout.

use core::time::Duration;

use rand_core::RngCore;

use alloc::vec::Vec;

use super::state::{DeferredRequest, MAX_DEFERRED};
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
        if self.role == Role::Follower && m.term > self.term && self.coordinator.is_some_and(|c| c.node == from) {
            // Our coordinator campaigns for a later term: it no longer coordinates ours.
            self.lose_coordinator();
        }
        let stale = if pre_vote { m.term <= self.term } else { m.term < self.term };
        if stale {
            return self.deny(from, pre_vote, self.term, DenyReason::StaleTerm);
        }
        if m.view != self.view {
            return self.defer(now, from, m, signature);
        }
        let candidate = Rank::new(m.priority_milli, from);
        if self.lease_blocks(now, &candidate) {
            return self.deny(from, pre_vote, m.term, DenyReason::CoordinatorAlive);
        }
        self.note_campaign(now, candidate);
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
        if self.objects_on_priority(now, &candidate) {
            if !self.rival_outranks(now, &self.my_rank()) {
                self.hurry(now, rng);
            }
            return self.deny(from, pre_vote, m.term, DenyReason::LowerPriority);
        }
        if pre_vote {
            if self.role == Role::PreCandidate && candidate > self.my_rank() {
                self.role = Role::Follower;
                self.grants.clear();
                self.reset_election_deadline(now, rng);
            }
            let v = self.message(ElectionKind::Vote { pre_vote: true, denied: None }, m.term, from);
            self.send(from, v);
        } else {
            self.grant_vote(now, from, rng);
        }
    }

    /// Keeps a request for another view (the latest per candidate, at most
    /// [`MAX_DEFERRED`], the oldest forgotten first) until this node's view matches it.
    fn defer(&mut self, now: Instant, from: NodeId, m: &ElectionMessage, signature: &Signature) {
        self.metrics.requests_deferred += 1;
        self.deferred.retain(|d| d.from != from && now < d.until);
        if self.deferred.len() >= MAX_DEFERRED {
            self.deferred.remove(0);
        }
        let until = now + self.cfg.election_timeout_max;
        self.deferred.push(DeferredRequest { from, message: *m, signature: *signature, until });
    }

    /// Answers the kept requests that are still current and whose view is now this node's.
    pub(super) fn answer_deferred(&mut self, now: Instant, rng: &mut impl RngCore) {
        if self.deferred.is_empty() {
            return;
        }
        let view = self.view;
        let kept = core::mem::take(&mut self.deferred);
        let (ready, waiting): (Vec<_>, Vec<_>) = kept.into_iter().filter(|d| now < d.until).partition(|d| d.message.view == view);
        self.deferred = waiting;
        for d in ready {
            let pre_vote = d.message.kind == ElectionKind::PreVoteRequest;
            self.handle_request(now, d.from, &d.message, &d.signature, pre_vote, rng);
        }
    }

    /// Whether a live coordinator protects the term against `candidate`.
    fn lease_blocks(&self, now: Instant, candidate: &Rank) -> bool {
        let Some(coordinator) = self.coordinator else { return false };
        if coordinator.node == candidate.node {
            return false;
        }
        self.coordinator_protects(now) && !candidate.outranks_by(&coordinator, self.cfg.takeover_margin_milli)
    }

    fn objects_on_priority(&self, now: Instant, candidate: &Rank) -> bool {
        self.failed_campaigns < self.cfg.priority_denials
            && (self.my_rank() > *candidate || self.rival_outranks(now, candidate))
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
        self.metrics.deny(reason);
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
