//! Input: time passed. Coordinator heartbeats and check-quorum; election timeouts, which start
//! a pre-vote round (or, with pre-vote off, an election). An election timeout while the
//! coordinator is still live is a takeover attempt (see `handle_heartbeat.rs`): the
//! coordinator is kept until the term actually changes. Without a live coordinator, a node
//! stands aside while a better-ranked campaign it heard is running (see `state.rs`, `Rival`),
//! unless it has just stepped down as coordinator for a newer term: its followers still hold
//! its lease and would deny the rival until it runs out, so it campaigns itself.

use rand_core::RngCore;

use super::state::insert_sorted;
use super::{BallotSigner, BallotVerifier, Election, ElectionKind, Role, StepDownReason};
use crate::Instant;

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    /// Handles every deadline that is due at `now` (calling it early does nothing).
    pub fn on_timeout(&mut self, now: Instant, rng: &mut impl RngCore) {
        let now = self.advance(now);
        if self.role == Role::Coordinator {
            if self.cfg.check_quorum && now >= self.quorum_deadline {
                if self.heard_count() < self.threshold() {
                    self.step_down(StepDownReason::LostQuorum, now, rng);
                    return;
                }
                self.heard.clear();
                self.quorum_deadline = now + self.cfg.check_quorum_interval;
            }
            if now >= self.heartbeat_deadline {
                self.broadcast_heartbeat(now);
            }
        } else {
            if self.reask_at.is_some_and(|t| now >= t) {
                self.reask();
            }
            if now >= self.election_deadline {
                self.election_timeout(now, rng);
            }
        }
    }

    /// Asks again, under this node's current view, for the round it is in (after a view
    /// change, `handle_membership.rs`).
    fn reask(&mut self) {
        self.reask_at = None;
        match self.role {
            Role::PreCandidate => {
                let m = self.message(ElectionKind::PreVoteRequest, self.term.saturating_add(1), self.me);
                self.broadcast(m);
            }
            Role::Candidate => {
                let m = self.message(ElectionKind::VoteRequest, self.term, self.me);
                let s = self.broadcast(m);
                self.record_own_ballot(s);
            }
            _ => {}
        }
    }

    fn election_timeout(&mut self, now: Instant, rng: &mut impl RngCore) {
        if matches!(self.role, Role::PreCandidate | Role::Candidate) {
            self.failed_campaigns = self.failed_campaigns.saturating_add(1);
        }
        let resume = core::mem::take(&mut self.resume_campaign);
        if !self.coordinator_live(now) {
            self.lose_coordinator();
            if !resume && self.rival_outranks(now, &self.my_rank()) {
                // A better-ranked campaign is running: stand aside for one more timeout.
                self.role = Role::Follower;
                self.grants.clear();
                self.reset_election_deadline(now, rng);
                return;
            }
        } else if self.failed_campaigns >= self.cfg.priority_denials {
            // Takeover attempts exhausted: keep following.
            self.role = Role::Follower;
            self.reset_lease_deadline(now, rng);
            return;
        }
        if !self.is_voter(self.me) {
            // Not a voter (quorum mode, outside the membership): never campaigns.
            self.role = Role::Follower;
            self.reset_election_deadline(now, rng);
            return;
        }
        if self.cfg.pre_vote {
            self.start_pre_vote(now, rng);
        } else {
            self.start_election(now, rng);
        }
    }

    /// Asks for pre-votes for `term + 1` without changing the term.
    fn start_pre_vote(&mut self, now: Instant, rng: &mut impl RngCore) {
        self.role = Role::PreCandidate;
        self.reask_at = None;
        self.grants.clear();
        insert_sorted(&mut self.grants, self.me);
        self.metrics.pre_votes_started += 1;
        self.reset_election_deadline(now, rng);
        let m = self.message(ElectionKind::PreVoteRequest, self.term.saturating_add(1), self.me);
        self.broadcast(m);
        self.check_campaign(now, rng);
    }

    /// Increments the term, votes for itself (the signed request is its ballot) and asks for
    /// votes.
    pub(super) fn start_election(&mut self, now: Instant, rng: &mut impl RngCore) {
        self.lose_coordinator();
        self.reask_at = None;
        self.term = self.term.saturating_add(1);
        self.role = Role::Candidate;
        self.voted_for = Some(self.me);
        self.grants.clear();
        insert_sorted(&mut self.grants, self.me);
        self.book.reset(self.term);
        self.metrics.elections_started += 1;
        self.reset_election_deadline(now, rng);
        self.election_deadline += self.vote_round();
        let m = self.message(ElectionKind::VoteRequest, self.term, self.me);
        let s = self.broadcast(m);
        self.record_own_ballot(s);
        self.check_campaign(now, rng);
    }
}
