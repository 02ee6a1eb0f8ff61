//! Input: a coordinator heartbeat, or a follower's acknowledgement (a heartbeat message whose
//! sender is not the coordinator it names).
//!
//! Heartbeat from coordinator `C` with term `t` (only voters with this node's view are
//! accepted, [`RejectReason::ViewMismatch`] otherwise; see `view.rs`; the latest such
//! heartbeat of a current term is kept for one heartbeat interval, and followed if this
//! node's view changes to its view, see `handle_membership.rs`):
//!
//! * `t` older than ours: answered with an acknowledgement carrying our term (at most once
//!   per `ack_interval`). A node left at a higher term by a failed election cannot follow an
//!   older coordinator, and that coordinator's followers deny its pre-votes
//!   ([`super::DenyReason::CoordinatorAlive`]); the answer makes the coordinator adopt the
//!   newer term and step down (`HigherTerm`), after which one election reunites everybody.
//! * `t` newer: adopt it (a coordinator steps down, `HigherTerm`) and follow `C`.
//! * same term, this node is coordinator too: with one view, only possible if a voter voted
//!   twice. Both step down (`Conflict`); the higher [`super::Rank`] campaigns at once for
//!   `t + 1` (a real election: a coordinator never takes a term without its votes).
//! * same term otherwise: follow `C`, unless another coordinator was already announced for
//!   this term (then wait for the winner's newer term).
//!
//! An acknowledgement naming this node with a newer term (see above) makes it adopt that
//! term. Following restarts the follower lease (`lease_timeout_*`), and acknowledges the
//! coordinator (at most once per `ack_interval`, and at once for a new coordinator), which
//! feeds its check-quorum.

use rand_core::RngCore;

use super::state::{PendingHeartbeat, insert_sorted};
use super::{BallotSigner, BallotVerifier, Election, ElectionKind, ElectionMessage, Rank, RejectReason, Role, StepDownReason};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    pub(super) fn handle_heartbeat(&mut self, now: Instant, from: NodeId, m: &ElectionMessage, rng: &mut impl RngCore) {
        if !self.is_voter(from) {
            return self.metrics.reject(RejectReason::NotMember);
        }
        if m.view != self.view {
            if m.term >= self.term {
                let until = now + self.cfg.heartbeat_interval;
                self.pending_heartbeat = Some(PendingHeartbeat { from, message: *m, until });
            }
            return self.metrics.reject(RejectReason::ViewMismatch);
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
        // Two coordinators of one term and one view: some voter voted twice (a Byzantine voter
        // on an unsigned mesh). Both step down; the better-ranked one asks for a new term at
        // once, the other waits for it.
        self.step_down(StepDownReason::Conflict, now, rng);
        if self.my_rank() > rank {
            self.start_election(now, rng);
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
            if m.view != self.view {
                return self.metrics.reject(RejectReason::ViewMismatch);
            }
            insert_sorted(&mut self.heard, from);
        }
    }
}
