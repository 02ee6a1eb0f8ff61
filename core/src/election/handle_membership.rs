//! Input: this node's component changed (topology update).
//!
//! Per partition, the component *is* the voter set, and its digest is the view every vote and
//! heartbeat agrees to (`view.rs`); in quorum mode the voters stay the configured membership
//! (the view never changes) and the component only tells who is reachable.
//!
//! When the view changes (a node joined or left, a partition healed or split):
//!
//! * Coordinator: its term was agreed for the old view. If the voters that elected it, those
//!   still in the new view, are enough to win under the new view (a majority, or
//!   [`Election::threshold`] in Byzantine mode), it keeps the term and tells its followers
//!   soon (a quarter of `election_timeout_min`, so a burst of changes costs one heartbeat)
//!   with a heartbeat under the new view: a rival of this term would need a winning
//!   set of the same view, which would share a voter with the electors, and a voter votes
//!   once per term. Otherwise (a merge with a larger component, say) it steps down
//!   (`ViewChanged`) and campaigns at once for a new term under the new view — no pre-vote,
//!   it had a mandate a moment ago — so the change costs one vote round, not a whole
//!   election timeout.
//! * Follower of a coordinator: follows the kept heartbeat of the new view if one arrived
//!   first (the same coordinator: no event); otherwise forgets it (`CoordinatorLost`) with a
//!   fresh election timeout, and follows again on the next heartbeat under the new view.
//! * (Pre-)candidate: grants of the old view stop counting; it asks again, in the same term,
//!   under the new view, a quarter of `election_timeout_min` later (one request per burst of
//!   changes; a voter that already voted for it in this term grants it again).
//! * Requests heard for the new view while this node's view differed are answered now.
//!
//! When only reachability changed (quorum mode), a coordinator that reaches fewer voters than
//! the threshold steps down at once (`LostQuorum`).

use rand_core::RngCore;

use super::state::{PendingHeartbeat, insert_sorted};
use super::{BallotSigner, BallotVerifier, Election, ElectionMode, Rank, Role, StepDownReason, ViewDigest};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    /// This node's component is now `component` (any order; this node is added if missing).
    pub fn on_membership(&mut self, now: Instant, component: &[NodeId], rng: &mut impl RngCore) {
        let now = self.advance(now);
        let mut reachable = component.to_vec();
        reachable.push(self.me);
        reachable.retain(|n| n.is_unicast());
        reachable.sort_unstable();
        reachable.dedup();
        let reach_changed = reachable != self.reachable;
        self.reachable = reachable;
        if self.cfg.mode == ElectionMode::PerPartition && self.voters != self.reachable {
            self.voters = self.reachable.clone();
            self.view = ViewDigest::of(&self.voters);
            // Contact this check-quorum window with voters still in the view still counts.
            let voters = &self.voters;
            self.heard.retain(|n| voters.binary_search(n).is_ok());
            self.view_changed(now, rng);
            return self.answer_deferred(now, rng);
        }
        if self.role == Role::Coordinator && reach_changed {
            let reachable_voters = self.reachable.iter().filter(|n| self.is_voter(**n)).count();
            if reachable_voters < self.threshold() {
                self.step_down(StepDownReason::LostQuorum, now, rng);
            }
        }
    }

    fn view_changed(&mut self, now: Instant, rng: &mut impl RngCore) {
        match self.role {
            Role::Coordinator => {
                let voters = &self.voters;
                let book = &self.book;
                self.electors.retain(|n| voters.binary_search(n).is_ok() && !book.is_convicted(*n));
                if self.electors.len() >= self.threshold() {
                    // Still elected under the new view: any rival of this term would need a
                    // winning set of the same view, sharing a voter with the electors.
                    self.metrics.views_kept += 1;
                    self.heartbeat_deadline = self.heartbeat_deadline.min(now + self.view_change_delay());
                } else {
                    self.step_down(StepDownReason::ViewChanged, now, rng);
                    self.start_election(now, rng);
                }
            }
            Role::Follower => {
                let pending = self.pending_heartbeat.take().filter(|p| now < p.until && p.message.view == self.view);
                let same = |c: Option<Rank>, p: &PendingHeartbeat, term: u32| {
                    c.is_some_and(|c| c.node == p.from) && p.message.term == term
                };
                match pending {
                    // The coordinator's heartbeat under this view arrived first: keep following.
                    Some(p) if same(self.coordinator, &p, self.term) => self.handle_heartbeat(now, p.from, &p.message, rng),
                    Some(p) => {
                        self.lose_coordinator();
                        self.handle_heartbeat(now, p.from, &p.message, rng);
                    }
                    None if self.coordinator.is_some() => {
                        self.lose_coordinator();
                        self.reset_election_deadline(now, rng);
                    }
                    None => {}
                }
            }
            Role::PreCandidate | Role::Candidate => {
                self.grants.clear();
                insert_sorted(&mut self.grants, self.me);
                let at = now + self.view_change_delay();
                self.reask_at = Some(self.reask_at.map_or(at, |t| t.min(at)));
                self.check_campaign(now, rng);
            }
        }
    }
}
