//! Input: a coordinator heartbeat, or a follower's acknowledgement (a heartbeat message whose
//! sender is not the coordinator it names).
//!
//! Heartbeat from coordinator `C` with term `t` (only voters are accepted):
//!
//! * `t` older than ours: answered with an acknowledgement carrying our term (at most once
//!   per `ack_interval`). A node left at a higher term by a failed election cannot follow an
//!   older coordinator, and that coordinator's followers deny its pre-votes
//!   ([`super::DenyReason::CoordinatorAlive`]); the answer makes the coordinator adopt the
//!   newer term and step down (`HigherTerm`), after which one election reunites everybody.
//! * `t` newer: adopt it (a coordinator steps down, `HigherTerm`) and follow `C`.
//! * same term, this node is coordinator too (two components merged, each with a coordinator
//!   of the same term): the higher [`super::Rank`] wins. The winner moves to `t + 1` and
//!   heartbeats at once, so everybody reconciles on one coordinator in a term nobody has
//!   seen another coordinator in; the loser steps down (`Outranked`) and follows the winner
//!   once its `t + 1` heartbeat arrives.
//! * same term otherwise: follow `C`, unless another coordinator was already announced for
//!   this term (then wait for the winner's newer term).
//!
//! An acknowledgement naming this node with a newer term (see above) makes it adopt that
//! term. Following restarts the follower lease (`lease_timeout_*`), and acknowledges the
//! coordinator (at most once per `ack_interval`, and at once for a new coordinator), which
//! feeds its check-quorum.

use rand_core::RngCore;

use super::state::insert_sorted;
use super::{BallotSigner, BallotVerifier, Election, ElectionKind, ElectionMessage, Rank, RejectReason, Role, StepDownReason};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    pub(super) fn handle_heartbeat(&mut self, now: Instant, from: NodeId, m: &ElectionMessage, rng: &mut impl RngCore) {
        if !self.is_voter(from) {
            return self.metrics.reject(RejectReason::NotMember);
        }
        if m.term < self.term {
            if self.last_ack.is_none_or(|t| now >= t + self.cfg.ack_interval) {
                self.last_ack = Some(now);
                let ack = self.message(ElectionKind::Heartbeat, self.term, from);
                self.send(from, ack);
            }
            return;
        }
        if m.term > self.term {
            self.adopt_term(m.term, now, rng);
        }
        let rank = Rank::new(m.priority_milli, from);
        if self.role != Role::Coordinator {
            return self.follow(rank, now, rng);
        }
        if self.my_rank() > rank {
            // Same-term merge, and this node wins: take a term nobody else coordinates.
            self.term = self.term.saturating_add(1);
            self.voted_for = Some(self.me);
            self.book.reset(self.term);
            self.coordinator = None;
            self.become_coordinator(now);
        } else {
            self.step_down(StepDownReason::Outranked, now, rng);
        }
    }

    fn follow(&mut self, rank: Rank, now: Instant, rng: &mut impl RngCore) {
        let newly = self.coordinator.map(|c| c.node) != Some(rank.node);
        if !self.announce(rank.node) {
            return;
        }
        if newly {
            self.failed_campaigns = 0;
            self.rival = None;
        }
        let takeover = self.is_voter(self.me)
            && self.my_rank().outranks_by(&rank, self.cfg.takeover_margin_milli)
            && self.failed_campaigns < self.cfg.priority_denials;
        self.coordinator = Some(rank);
        self.last_contact = now;
        let due = self.last_ack.is_none_or(|t| now >= t + self.cfg.ack_interval);
        if newly || due {
            self.last_ack = Some(now);
            let ack = self.message(ElectionKind::Heartbeat, self.term, rank.node);
            self.send(rank.node, ack);
        }
        if takeover && !newly && self.role == Role::PreCandidate {
            return; // a takeover pre-vote is under way: let it finish
        }
        self.role = Role::Follower;
        self.grants.clear();
        if !takeover {
            // A takeover keeps the current deadline, so this node campaigns when it expires.
            self.reset_lease_deadline(now, rng);
        }
    }

    pub(super) fn handle_ack(&mut self, now: Instant, from: NodeId, m: &ElectionMessage, rng: &mut impl RngCore) {
        if m.candidate == self.me && m.term > self.term && self.is_voter(from) {
            return self.adopt_term(m.term, now, rng);
        }
        if self.role == Role::Coordinator && m.candidate == self.me && m.term == self.term && self.is_voter(from) {
            insert_sorted(&mut self.heard, from);
        }
    }
}
